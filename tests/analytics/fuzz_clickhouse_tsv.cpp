// Fuzzes the large reads from ClickHouse, TabSeparated (untrusted: a server the collector does not control, or a
// broken one): the same bytes parsed at the widths of the counts (8), the states of mixed bins (7), and the
// incident windows' presence (9) and states (8) replies and the stored incidents (9), then decoded.
// Checks the promises, not only the absence of crashes: a table's every cell readable and its integers only
// from decimal digits; a decoded series dense, its bins in order, every count positive and adding up to the bin's
// probes; the windows' samples one list per window, decisive never negative, no probe's bin with several states
// outside the windows; stored runs that write back to the same text, and answer a window (when they do) with
// incidents inside it; network bins inside their part, ordered, none with more probes offline than reported; day
// marks (5) answering for days' starts only, stored day counts (8) only in counted days, dense and adding up.
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/analytics/materializer.hpp"
#include "collector/analytics/queries.hpp"
#include "collector/analytics/schema.hpp"

using namespace kuzet;
using namespace kuzet::collector::analytics;

namespace {

constexpr int64_t kFirst = 1641081600000, kBin = 600000, kEnd = kFirst + 12 * kBin;
constexpr int64_t kFirstDay = kFirst;

// Every cell readable; a cell read as an integer is an optional '-' and decimal digits, nothing else.
void check_cells(const clickhouse::Table& t) {
  for (size_t r = 0; r < t.size(); ++r)
    for (size_t c = 0; c < t.width(); ++c) {
      const std::string_view cell = t.text(r, c);
      try {
        t.integer(r, c);
      } catch (const std::runtime_error&) {
        continue;
      }
      const std::string_view digits = cell.substr(!cell.empty() && cell[0] == '-' ? 1 : 0);
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string_view::npos) __builtin_trap();
    }
}

void check_series(const std::vector<timeline::Series>& series) {
  for (const auto& s : series)
    for (size_t i = 0; i < s.bins.size(); ++i) {
      if (s.bins[i].start_ms != s.bins[0].start_ms + static_cast<int64_t>(i) * kBin) __builtin_trap();
      int64_t sum = 0;
      for (const auto& c : s.bins[i].counts) {
        if (c.probes <= 0) __builtin_trap();
        sum += c.probes;
      }
      if (sum != s.bins[i].probes) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const std::vector<timeline::TimelineSource::SeriesRequest> requests = {{{"KZ", 9198, "t.com"}, kFirst, kEnd},
                                                                        {{"KZ", 9198, "*"}, kFirst + kBin, kEnd - kBin}};
  try {  // a network's counts: each series dense, every count positive and adding up to its bin's probes
    const clickhouse::Table rows = clickhouse::parse_tsv(body, kCountColumns, 1 << 16);
    check_cells(rows);
    auto group = series_counts_from_rows(requests, kBin, rows);
    if (group.series.size() != 2 || group.series[0].bins.size() != 12 || group.series[1].bins.size() != 10)
      __builtin_trap();
    check_series(group.series);
  } catch (const std::runtime_error&) {
  }
  try {  // a mixed bin's states added to the counts
    const clickhouse::Table rows = clickhouse::parse_tsv(body, kMixedColumns, 1 << 16);
    check_cells(rows);
    auto group = all_bins_mixed(requests, kBin);
    add_mixed_counts(group, rows);
    check_series(group.series);
  } catch (const std::runtime_error&) {
  }
  const std::vector<timeline::TimelineSource::VantageRequest> windows = {
      {{"KZ", 9198, "t.com"}, kFirst, kEnd, std::string("blocked")}, {{"KZ", 9198, "*"}, kFirst, kEnd, std::nullopt}};
  VantageGroup group(windows);
  try {  // the windows' presence, then (the same bytes) the states of their mixed bins
    const clickhouse::Table rows = clickhouse::parse_tsv(body, kPresenceColumns, 1 << 16);
    check_cells(rows);
    group.add_presence(rows);
    for (const auto& m : group.mixed())
      if (m.bin < kFirst || m.bin >= kEnd) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  try {
    group.add_states(clickhouse::parse_tsv(body, kStateColumns, 1 << 16));
  } catch (const std::runtime_error&) {
  }
  try {  // stored incidents: each series under its own key, its runs' text stable, their answer within the window
    const StoredRead read = stored_from_rows(clickhouse::parse_tsv(body, kStoredColumns, 1 << 16));
    for (const auto& [key, s] : read.series) {
      if (!(key == s.key)) __builtin_trap();
      const std::string text = runs_text(s.runs);
      if (runs_text(runs_from_text(text)) != text) __builtin_trap();
      const timeline::SeriesInfo info{s.key, "", s.first_bin_ms, s.data_end_ms};
      const int64_t from = s.first_bin_ms + kBin, until = s.data_end_ms + kBin;
      const auto answer = timeline::incidents_from_stored(s, info, {s.key, s.first_bin_ms, until}, from, until,
                                                          s.data_end_ms, kBin, timeline::IncidentOptions{});
      if (answer)
        for (const auto& i : *answer)
          if (i.start_ms >= until || i.end_ms.value_or(INT64_MAX) <= from) __builtin_trap();
    }
  } catch (const std::runtime_error&) {
  }
  try {  // a network's stored bins: each part's bins inside it, in order, offline never more than reported
    timeline::StoredSeries net, other;
    net.key = {"KZ", 9198, "*"};
    other.key = {"UZ", 1, "*"};
    const std::vector<timeline::NetworkPart> parts = {{&net, kFirst, kEnd + kBinsPerChunk * kBin}, {&other, kFirst, kEnd}};
    add_network_bins(parts, clickhouse::parse_tsv(body, kNetworkBinColumns, 1 << 16), kBin);
    for (const auto& p : parts) {
      const auto& bins = p.series->bins;
      if (p.series->bins_until_ms != 0 && (p.series->bins_from_ms != p.from_ms || p.series->bins_until_ms != p.until_ms))
        __builtin_trap();
      if (p.series->bins_until_ms == 0 && !bins.empty()) __builtin_trap();
      for (size_t i = 0; i < bins.size(); ++i)
        if (bins[i].start_ms < p.from_ms || bins[i].start_ms >= p.until_ms || bins[i].probes <= 0 ||
            bins[i].offline < 0 || bins[i].offline > bins[i].probes || (i > 0 && bins[i].start_ms <= bins[i - 1].start_ms))
          __builtin_trap();
    }
  } catch (const std::runtime_error&) {
  }
  try {  // day marks: only days' starts answer
    for (const int64_t day : counted_days_from_rows(clickhouse::parse_tsv(body, kDayMarkColumns, 1 << 16)))
      if (day < 0 || day % kDayMs != 0) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  try {  // stored day counts: each series dense at 1-day bins, a bin from the counts only when its day is counted
    const std::set<int64_t> counted = {kFirstDay, kFirstDay + kDayMs};
    const std::vector<timeline::TimelineSource::SeriesRequest> days = {
        {{"KZ", 9198, "t.com"}, kFirstDay, kFirstDay + 3 * kDayMs}, {{"KZ", 9198, "*"}, kFirstDay + kDayMs, kFirstDay + 2 * kDayMs}};
    const auto group = counts_from_stored_days(days, counted, clickhouse::parse_tsv(body, kDayCountColumns, 1 << 16));
    if (group.series.size() != 2 || group.series[0].bins.size() != 3 || group.series[1].bins.size() != 1) __builtin_trap();
    for (const auto& s : group.series)
      for (size_t i = 0; i < s.bins.size(); ++i) {
        if (s.bins[i].start_ms != s.bins[0].start_ms + static_cast<int64_t>(i) * kDayMs) __builtin_trap();
        if (!counted.count(s.bins[i].start_ms) && s.bins[i].probes != 0) __builtin_trap();
        int64_t sum = 0;
        for (const auto& c : s.bins[i].counts) {
          if (c.probes <= 0) __builtin_trap();
          sum += c.probes;
        }
        if (sum != s.bins[i].probes) __builtin_trap();
      }
    for (const auto& m : group.mixed)
      if (counted.count(m.start_ms)) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  const auto samples = group.samples();
  if (samples.size() != 2) __builtin_trap();
  for (const auto& w : samples)
    for (const auto& v : w)
      if (v.decisive < 0) __builtin_trap();
  return 0;
}
