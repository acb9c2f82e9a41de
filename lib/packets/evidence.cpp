#include "packets/evidence.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace kuzet::packets {
namespace {

bool belongs(const Packet& p, const TargetTraffic& t) {
  if (p.dns) return p.dns->qname == t.dns_name;
  if (p.protocol != 6) return false;
  return (t.addresses.count(p.src) && t.ports.count(p.sport)) || (t.addresses.count(p.dst) && t.ports.count(p.dport));
}

// Offset of the IP header inside a frame of this link type, and zeroes the link-layer addresses.
std::optional<size_t> scrub_link(uint32_t linktype, std::string& b) {
  switch (linktype) {
    case kLinkEthernet:
      if (b.size() < 14) return std::nullopt;
      std::memset(b.data(), 0, 12);
      return b.size() >= 18 && static_cast<uint8_t>(b[12]) == 0x81 && b[13] == 0 ? 18 : 14;
    case kLinkLinuxSll:
      if (b.size() < 16) return std::nullopt;
      std::memset(b.data() + 6, 0, 8);
      return 16;
    case kLinkLinuxSll2:
      if (b.size() < 20) return std::nullopt;
      std::memset(b.data() + 12, 0, 8);
      return 20;
    case kLinkRaw: return 0;
    default: return std::nullopt;
  }
}

}  // namespace

std::vector<size_t> packets_of(const std::vector<std::optional<Packet>>& decoded, const TargetTraffic& target,
                               size_t max_packets) {
  std::vector<size_t> out;
  for (size_t i = 0; i < decoded.size() && out.size() < max_packets; ++i)
    if (decoded[i] && belongs(*decoded[i], target)) out.push_back(i);
  return out;
}

std::string evidence_pcap(const PcapFile& capture, const std::vector<size_t>& frames,
                          const std::vector<std::string>& own_addresses, size_t max_bytes) {
  std::vector<std::string> own4, own6;
  for (const auto& a : own_addresses) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, a.c_str(), buf) == 1) own4.emplace_back(reinterpret_cast<char*>(buf), 4);
    else if (inet_pton(AF_INET6, a.c_str(), buf) == 1) own6.emplace_back(reinterpret_cast<char*>(buf), 16);
  }
  const std::string doc4("\xc0\x00\x02\x01", 4);
  const std::string doc6("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
  PcapFile out{capture.linktype, capture.snaplen, {}};
  size_t size = 24;
  for (size_t i : frames) {
    if (i >= capture.frames.size()) continue;
    Frame f = capture.frames[i];
    if (size + 16 + f.bytes.size() > max_bytes) break;
    auto ip = scrub_link(capture.linktype, f.bytes);
    if (!ip || *ip >= f.bytes.size()) continue;
    char* h = f.bytes.data() + *ip;
    const size_t left = f.bytes.size() - *ip;
    const int version = static_cast<uint8_t>(h[0]) >> 4;
    auto replace = [&](size_t off, size_t len, const std::vector<std::string>& own, const std::string& doc) {
      if (left < off + len) return;
      for (const auto& a : own)
        if (std::memcmp(h + off, a.data(), len) == 0) std::memcpy(h + off, doc.data(), len);
    };
    if (version == 4) {
      replace(12, 4, own4, doc4);
      replace(16, 4, own4, doc4);
    } else if (version == 6) {
      replace(8, 16, own6, doc6);
      replace(24, 16, own6, doc6);
    }
    size += 16 + f.bytes.size();
    out.frames.push_back(std::move(f));
  }
  if (out.frames.empty()) return "";
  return write_pcap(out);
}

}  // namespace kuzet::packets
