#pragma once
// IP address helpers shared by the collector and analysis: parsing to 128 bits and the bogon check.
#include <cstdint>
#include <optional>
#include <string>

namespace kuzet::collector::network {

// An address as 128 bits; IPv4 is held as the IPv4-mapped IPv6 address ::ffff:a.b.c.d so both families
// sort in one space (the iptoasn file mixes them).
struct Ip128 {
  uint64_t high = 0;
  uint64_t low = 0;
  auto operator<=>(const Ip128&) const = default;
  bool is_v4_mapped() const { return high == 0 && (low >> 32) == 0xffffu; }
  uint32_t v4() const { return static_cast<uint32_t>(low); }
};

// Parses a bare IPv4 or IPv6 literal (no brackets, no port, no zone). nullopt otherwise.
std::optional<Ip128> parse_ip(const std::string& text);

// True when the address can never be a genuine public answer or destination: unspecified, loopback,
// private (RFC 1918, ULA fc00::/7), CGNAT 100.64/10, link-local, documentation, benchmarking, multicast,
// reserved 240/4, broadcast, and IPv6 outside 2000::/3. IPv4-mapped/NAT64/6to4 forms are judged by the
// IPv4 address they embed. A string that is not an IP literal is not a bogon (false).
bool is_bogon(const std::string& ip);
bool is_bogon(const Ip128& ip);

}  // namespace kuzet::collector::network
