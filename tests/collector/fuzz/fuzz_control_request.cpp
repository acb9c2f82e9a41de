// Fuzzes the body of POST /api/v1/control as the collector parses it (after the signature check, which a
// registered key passes with any body): parse_control_request must refuse or return a request within the
// limits it promises, and never let an IP-literal target through.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collector/network/address.hpp"
#include "collector/control/control.hpp"
#include "measure/http/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  kuzet::collector::control::ControlOptions options;
  options.max_targets = 8;
  options.max_deadline_ms = 30000;
  const auto parsed = kuzet::collector::control::parse_control_request(body, options);
  if (!parsed.error.empty()) return 0;
  const auto& request = parsed.request;
  if (request.targets.size() > options.max_targets) __builtin_trap();
  if (request.deadline_ms <= 0 || request.deadline_ms > options.max_deadline_ms) __builtin_trap();
  for (const auto& target : request.targets) {
    const auto url = kuzet::measure::http::parse_url(target.url);
    if (!url || kuzet::measure::http::is_ip_literal(url->host)) __builtin_trap();
    if (target.probe_addresses.size() > 64) __builtin_trap();
    for (const auto& address : target.probe_addresses)
      if (!kuzet::collector::network::parse_ip(address)) __builtin_trap();
  }
  return 0;
}
