#pragma once
#include <string>

#include "measure/observations.hpp"

namespace kuzet::measure {

struct DnsOptions {
  std::string resolver;  // "" = the system's resolv.conf; else "IP", "IP:PORT" or "[IPv6]:PORT"
  int timeout_ms = 4000;
  bool query_aaaa = true;
};

// Resolves A (and AAAA) for hostname with c-ares. Never throws for network failures: they are data.
// An IP literal resolves to itself without a query.
DnsObservation resolve(const std::string& hostname, const DnsOptions& options);

// Validates "IP", "IP:PORT", "[IPv6]:PORT"; used by the CLI to reject bad --resolver values early.
bool is_valid_resolver(const std::string& resolver);

}  // namespace kuzet::measure
