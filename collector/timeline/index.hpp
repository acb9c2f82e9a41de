#pragma once
// TimelineIndex: per-bin aggregates kept next to the collector's measurements, in the same SQLite file.
// SQLite triggers on `measurements` maintain them inside the very transaction that stores a measurement,
// so ingest needs no hook, a duplicate upload (ON CONFLICT DO NOTHING) changes nothing, and a result
// uploaded days late simply lands in its bin. Two levels:
//   timeline_probe_bins: per (cc, asn, target, base bin, probe) the probe's latest measurement there;
//   timeline_bins:       per (cc, asn, target, base bin, verdict, method) how many probes are in that state.
// Queries at the base bin read timeline_bins; coarser bins run the pure engine over timeline_probe_bins,
// which gives exactly what the engine gives over the raw measurements (a probe's latest in a coarse bin is
// the latest of its latest in each base bin). tests/timeline checks both equalities.
#include <sqlite3.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collector/timeline/incidents.hpp"
#include "collector/timeline/timeline.hpp"

namespace kuzet::timeline {

struct SeriesInfo {
  SeriesKey key;
  std::string category;
  int64_t first_bin_ms = 0;
  int64_t last_bin_ms = 0;
};

// Every filter optional. Times in ms since the epoch, from inclusive, until exclusive.
struct TimelineQuery {
  std::string cc;
  std::optional<uint32_t> asn;
  std::string target;  // kNetworkTarget selects network series only
  std::string category;
  int64_t from_ms = 0;
  int64_t until_ms = 0;
  int64_t bin_ms = 0;  // 0 = the index's base bin
};

class TimelineIndex {
 public:
  // Opens its own connection to the collector's database file, creates the aggregate tables and triggers
  // when missing and fills them from the measurements already stored (once; rebuilt if base_bin_ms
  // changed). Throws std::runtime_error on storage errors (startup).
  explicit TimelineIndex(const std::string& db_path, int64_t base_bin_ms = kDefaultBinMs);
  ~TimelineIndex();
  TimelineIndex(const TimelineIndex&) = delete;
  TimelineIndex& operator=(const TimelineIndex&) = delete;

  int64_t base_bin_ms() const { return base_bin_ms_; }

  // Series matching the filters (from/until/bin ignored), ordered by (cc, asn, target).
  std::vector<SeriesInfo> series_list(const TimelineQuery& query);
  // One series over [from, until) at bin_ms (a multiple of the base bin; throws std::invalid_argument else).
  Series series(const SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms);
  // Incidents of every matching series overlapping [from, until), found on base bins with a lookback of
  // the baseline window (so starts before `from` are kept and ids stay the same whatever the window).
  std::vector<Incident> incidents(const TimelineQuery& query, const IncidentOptions& options);

 private:
  std::vector<SeriesInfo> series_list_locked(const TimelineQuery& query);
  Series series_locked(const SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms);
  void coarse_bins_locked(const SeriesKey& key, int64_t first, int64_t end, int64_t bin_ms, Series& s);

  int64_t base_bin_ms_;
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

}  // namespace kuzet::timeline
