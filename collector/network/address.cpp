#include "collector/network/address.hpp"

#include <arpa/inet.h>

namespace kuzet::collector::network {

std::optional<Ip128> parse_ip(const std::string& text) {
  Ip128 ip;
  unsigned char bytes[16];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) {
    uint32_t v4 = (uint32_t{bytes[0]} << 24) | (uint32_t{bytes[1]} << 16) | (uint32_t{bytes[2]} << 8) | bytes[3];
    ip.low = (uint64_t{0xffff} << 32) | v4;
    return ip;
  }
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    for (int i = 0; i < 8; ++i) ip.high = (ip.high << 8) | bytes[i];
    for (int i = 8; i < 16; ++i) ip.low = (ip.low << 8) | bytes[i];
    return ip;
  }
  return std::nullopt;
}

namespace {

bool in_v4(uint32_t a, uint32_t net, int bits) {
  uint32_t mask = bits == 0 ? 0 : ~uint32_t{0} << (32 - bits);
  return (a & mask) == net;
}

constexpr uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

bool is_bogon_v4(uint32_t a) {
  struct Net { uint32_t net; int bits; };
  static constexpr Net nets[] = {
      {v4(0, 0, 0, 0), 8},        // "this" network
      {v4(10, 0, 0, 0), 8},       // RFC 1918
      {v4(100, 64, 0, 0), 10},    // CGNAT (RFC 6598)
      {v4(127, 0, 0, 0), 8},      // loopback
      {v4(169, 254, 0, 0), 16},   // link-local
      {v4(172, 16, 0, 0), 12},    // RFC 1918
      {v4(192, 0, 0, 0), 24},     // IETF protocol assignments
      {v4(192, 0, 2, 0), 24},     // TEST-NET-1
      {v4(192, 88, 99, 0), 24},   // deprecated 6to4 relay anycast
      {v4(192, 168, 0, 0), 16},   // RFC 1918
      {v4(198, 18, 0, 0), 15},    // benchmarking
      {v4(198, 51, 100, 0), 24},  // TEST-NET-2
      {v4(203, 0, 113, 0), 24},   // TEST-NET-3
      {v4(224, 0, 0, 0), 4},      // multicast
      {v4(240, 0, 0, 0), 4},      // reserved, includes broadcast
  };
  for (const auto& n : nets)
    if (in_v4(a, n.net, n.bits)) return true;
  return false;
}

}  // namespace

bool is_bogon(const Ip128& ip) {
  if (ip.is_v4_mapped()) return is_bogon_v4(ip.v4());
  const uint64_t h = ip.high;
  if (h == 0 && ip.low <= 1) return true;                          // :: and ::1
  if (h == 0x0064ff9b00000000ULL && (ip.low >> 32) == 0) return is_bogon_v4(ip.v4());  // NAT64 64:ff9b::/96
  if ((h >> 48) == 0x2002) return is_bogon_v4(static_cast<uint32_t>(h >> 16));         // 6to4 embeds IPv4
  if ((h >> 61) != 0x1) return true;  // outside 2000::/3 global unicast: ULA, link-local, multicast, reserved
  if ((h >> 32) == 0x20010db8) return true;                        // documentation 2001:db8::/32
  if ((h >> 36) == 0x2001001) return true;                         // ORCHID 2001:10::/28
  if ((h >> 44) == 0x3fff0) return true;                           // documentation 3fff::/20
  return false;
}

bool is_bogon(const std::string& ip) {
  auto parsed = parse_ip(ip);
  return parsed && is_bogon(*parsed);
}

}  // namespace kuzet::collector::network
