// Fuzzes what a visitor controls in the timeline API (collector/timeline/api.cpp): the query string of
// /api/v1/timeline and /api/v1/incidents, split into parameters by cpp-httplib as the server does, then
// checked by timeline::parse_query; and the {id} of /api/v1/incidents/{id} (first line of the input).
// An accepted query must be one the index can answer within its bounds.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collector/timeline/api.hpp"
#include "collector/timeline/incidents.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuzet::timeline;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string id(input.substr(0, newline));
  const std::string query(newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1));

  if (auto ref = parse_incident_id(id)) {
    if (ref->key.cc.empty() || ref->kind.empty() || ref->key.target.empty()) __builtin_trap();
  }

  httplib::Params params;
  httplib::detail::parse_query_text(query, params);
  ApiOptions options;
  const int64_t base_bin_ms = 10 * kMinuteMs;
  const int64_t now_ms = 1641380400000;  // 2022-01-05T11:00:00Z
  const auto parsed = parse_query(params, base_bin_ms, options, now_ms);
  if (!parsed.error.empty()) return 0;
  const auto& q = parsed.query;
  if (q.until_ms <= q.from_ms || q.bin_ms <= 0 || q.bin_ms % base_bin_ms != 0) __builtin_trap();
  if ((q.until_ms - q.from_ms) / q.bin_ms > static_cast<int64_t>(options.max_bins)) __builtin_trap();
  return 0;
}
