// Fuzzes what the collector reads from ClickHouse (untrusted: a server it does not control, or a broken one):
// a reply parsed as JSONCompact rows, then decoded as a network's counts (and its mixed bins), a series list,
// series keys and vantage samples.
// Checks the decoders' promises, not only the absence of crashes: a decoded series is dense, its bins in
// order, every count positive and the counts adding up to the bin's probes; a group gives one answer per request.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "collector/analytics/clickhouse.hpp"
#include "collector/analytics/queries.hpp"

using namespace kuzet;
using namespace kuzet::collector::analytics;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  Rows rows;
  try {
    rows = parse_reply(body, 1 << 16);
  } catch (const std::runtime_error&) {
    return 0;
  }
  const int64_t first = 1641081600000, bin = 600000, end = first + 12 * bin;
  try {  // a network's counts: each series dense, every count positive and adding up to its bin's probes
    const std::vector<timeline::TimelineSource::SeriesRequest> requests = {{{"KZ", 9198, "t.com"}, first, end},
                                                                          {{"KZ", 9198, "*"}, first + bin, end - bin}};
    auto group = series_counts_from_rows(requests, bin, rows);
    if (group.series.size() != 2 || group.series[0].bins.size() != 12 || group.series[1].bins.size() != 10)
      __builtin_trap();
    try {
      add_mixed_counts(group, rows);  // the same reply as the states' answer
    } catch (const std::runtime_error&) {
    }
    for (const auto& s : group.series)
      for (size_t i = 0; i < s.bins.size(); ++i) {
        if (s.bins[i].start_ms != s.bins[0].start_ms + static_cast<int64_t>(i) * bin) __builtin_trap();
        int64_t sum = 0;
        for (const auto& c : s.bins[i].counts) {
          if (c.probes <= 0) __builtin_trap();
          sum += c.probes;
        }
        if (sum != s.bins[i].probes) __builtin_trap();
      }
  } catch (const std::runtime_error&) {
  }
  try {
    timeline::TimelineQuery q;
    q.source = "kuzet";
    const auto list = series_list_from_rows(rows, q);
    for (size_t i = 1; i < list.size(); ++i)
      if (!(list[i - 1].key < list[i].key)) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  try {
    const std::vector<timeline::TimelineSource::VantageRequest> windows = {
        {{"KZ", 9198, "t.com"}, first, end, std::string("blocked")}, {{"KZ", 9198, "*"}, first, end, std::nullopt}};
    const auto samples = vantage_group_from_rows(windows, rows);
    if (samples.size() != 2) __builtin_trap();
    for (const auto& w : samples)
      for (const auto& v : w)
        if (v.decisive < 0) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  try {
    series_keys_from_rows(rows);
  } catch (const std::runtime_error&) {
  }
  try {
    for (const auto& v : vantage_samples_from_rows(rows))
      if (v.decisive < 0) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
