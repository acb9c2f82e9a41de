#pragma once
// Pure analysis of recorded packets: which interference left which marks (docs/packet-evidence.md).
// Built from how each technique works, never from a particular network's addresses or sizes:
// - an injected RST comes from a box that is not the server: its IP TTL / IP ID do not fit the server's own
//   packets of the connection, the server goes on sending after it, or its sequence number misses the window;
// - an injected DNS reply races the resolver's: one query gets two replies that disagree;
// - a silent drop: the handshake completed, the request (ClientHello, HTTP request) was sent and resent, and
//   nothing at all came back;
// - a policer: the rate is flat once losses start, losses come at regular intervals and without the delay
//   growth a full queue (a slow link) adds before it drops.
#include <vector>

#include "packets/decode.hpp"
#include "packets/findings.hpp"

namespace kuzet::packets {

// Findings in the order of the packets that showed them. Packets need not be sorted.
std::vector<PacketFinding> analyze_packets(std::vector<Packet> packets);

// The parts, for tests and for callers that hold one kind of traffic.
std::vector<PacketFinding> find_tcp_findings(const std::vector<Packet>& sorted);
std::vector<PacketFinding> find_dns_injection(const std::vector<Packet>& sorted);

// Whether an IP ID fits the IDs a sender used before: true/false, or -1 when the sender's IDs show no
// pattern (random per packet) and the question cannot be answered.
int ip_id_fits(const std::vector<int>& sender_ids, int id);

}  // namespace kuzet::packets
