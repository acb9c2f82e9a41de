#pragma once
// From one run's capture to one target's evidence: which packets are the target's, and those packets as a
// small pcap an expert can open, without the volunteer's own addresses or hardware address in it.
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "packets/decode.hpp"
#include "packets/pcap_file.hpp"

namespace kuzet::packets {

struct TargetTraffic {
  std::string dns_name;             // queries for this name (lower-case, no trailing dot)
  std::set<std::string> addresses;  // the target's server addresses
  std::set<uint16_t> ports;         // and ports
};

// Indices (into `decoded`, parallel to the capture's frames) of the target's packets, at most max_packets.
std::vector<size_t> packets_of(const std::vector<std::optional<Packet>>& decoded, const TargetTraffic& target,
                               size_t max_packets);

// The chosen frames as a pcap file of at most max_bytes (frames that do not fit are left out, the last
// first): the own addresses (IPv4/IPv6, text form) are replaced by 192.0.2.1 / 2001:db8::1 (documentation
// addresses) and link-layer addresses are zeroed. "" when not even one frame fits.
std::string evidence_pcap(const PcapFile& capture, const std::vector<size_t>& frames,
                          const std::vector<std::string>& own_addresses, size_t max_bytes);

}  // namespace kuzet::packets
