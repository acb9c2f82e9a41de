#pragma once
// One captured frame -> the header fields the analysis reasons about (IP TTL and ID, TCP sequence numbers,
// flags and options, DNS messages). Hostile input: never reads outside the frame, returns nullopt for
// anything it does not understand (other protocols, fragments, truncated headers).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "packets/pcap_file.hpp"

namespace kuzet::packets {

inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10;

struct DnsRecord {
  std::string type;   // "A", "AAAA", "CNAME", or "TYPE<n>"
  std::string value;  // address or name; "" for types we do not render
  uint32_t ttl = 0;
};

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;
  int rcode = 0;
  std::string qname;  // lower-case, no trailing dot
  uint16_t qtype = 0;
  std::vector<DnsRecord> answers;
};

struct Packet {
  int64_t ts_us = 0;
  int ip_version = 4;
  std::string src, dst;  // text addresses
  uint8_t ttl = 0;       // IPv4 TTL or IPv6 hop limit
  uint16_t ip_id = 0;    // IPv4 only
  bool dont_fragment = false;
  uint8_t protocol = 0;  // 6 TCP, 17 UDP
  uint16_t sport = 0, dport = 0;
  // TCP
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  std::optional<uint8_t> window_scale;         // SYN option
  std::optional<uint32_t> ts_val, ts_ecr;       // timestamps option
  uint32_t payload_len = 0;  // from the IP length: what was sent, even when the capture holds less
  std::string payload;       // the captured part of the payload
  std::optional<DnsMessage> dns;  // UDP port 53 payloads that parse
};

std::optional<Packet> decode_frame(uint32_t linktype, const Frame& frame);

// Decodes every frame that decodes, in capture order.
std::vector<Packet> decode_all(const PcapFile& file);

// A DNS message (header, first question, answer section). nullopt on malformed input.
std::optional<DnsMessage> parse_dns_message(const uint8_t* data, size_t length);

}  // namespace kuzet::packets
