// Fuzzes what the timeline API reads from a URL: the first line is an incident id (GET
// /api/v1/incidents/{id}), the rest a query string parsed by cpp-httplib, then by the timeline's parameter
// parser for each endpoint. Checks the parser's promises, not only the absence of crashes: an accepted query
// has from < until, a bin that is a positive multiple of the base bin and at most max_bins bins; an accepted
// id survives a round trip through incident_id.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/timeline/incidents.hpp"
#include "collector/timeline/api/query_params.hpp"

using namespace kuzet::timeline;
using namespace kuzet::timeline::api;

namespace {

void check_query(const httplib::Params& params, const std::vector<std::string_view>& allowed, int64_t data_end) {
  const QueryLimits limits{10 * kMinuteMs, 20000, 7 * 24 * 60 * kMinuteMs};
  const int64_t now = 1767225600000;  // 2026-01-01
  const ParsedQuery pq = parse_query(params, [&](const TimelineQuery&) { return data_end; }, limits, now, allowed);
  if (!pq.error.empty()) {
    if (pq.error.size() > 300) __builtin_trap();  // errors echo at most one bounded name
    return;
  }
  const TimelineQuery& q = pq.query;
  if (q.until_ms <= q.from_ms || q.bin_ms <= 0 || q.bin_ms % limits.base_bin_ms != 0) __builtin_trap();
  if ((q.until_ms - q.from_ms) / q.bin_ms > static_cast<int64_t>(limits.max_bins)) __builtin_trap();
  if (!q.cc.empty() && (q.cc.size() != 2 || q.cc[0] < 'A' || q.cc[0] > 'Z' || q.cc[1] < 'A' || q.cc[1] > 'Z'))
    __builtin_trap();
  if (!q.source.empty() && q.source != "kuzet" && q.source != "ooni") __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // the server caps request lines far below this
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t nl = text.find('\n');
  const std::string id = text.substr(0, nl);
  if (auto ref = parse_incident_id(id)) {
    auto again = parse_incident_id(incident_id(ref->key, ref->kind, ref->start_ms));
    if (!again || !(again->key == ref->key) || again->kind != ref->kind || again->start_ms != ref->start_ms)
      __builtin_trap();
  }
  if (nl == std::string::npos) return 0;
  httplib::Params params;
  httplib::detail::parse_query_text(text.substr(nl + 1), params);
  const int64_t data_end = size ? static_cast<int64_t>(data[0]) * 1000LL * 3600 * 24 * 100 : 0;
  for (const auto* allowed : {&kTimelineParams, &kIncidentParams, &kSeriesParams}) check_query(params, *allowed, data_end);
  return 0;
}
