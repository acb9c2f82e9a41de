#pragma once
// Where a connection comes from, reduced to the network an abuser controls: limits are per network,
// not per address (one host has a whole IPv6 /64; one subscriber line often a /24 or a /48).
#include <optional>
#include <string>

namespace kuzet::collector::http {

// "a.b.c.0/24"-style key of the network holding `ip` (IPv4 /v4_bits, IPv6 /v6_bits; IPv4-mapped
// IPv6 counts as IPv4). nullopt when `ip` is not an address literal.
std::optional<std::string> network_key(const std::string& ip, int v4_bits, int v6_bits);

}  // namespace kuzet::collector::http
