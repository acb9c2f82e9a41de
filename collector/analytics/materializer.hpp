#pragma once
// Incidents found when data arrives (timeline/stored_incidents.hpp), kept in ClickHouse on the query server:
//   series_incidents    per (source, cc, asn, target) the runs the search found over the whole series (JSON
//                       text), the first bin and data end it searched, the options it used, the export watermark
//                       it was made at; ReplacingMergeTree by made_at, a pass's version (each pass's later than
//                       the last: the latest search of a series is the one that read the most data).
//   network_bins        per network series and day (kBinsPerChunk base bins) its bins' probes and offline
//                       probes, as the pass read them: a search over any later part of the series runs on these.
//   stored_watermark    the export watermarks the stored incidents and bins were brought to: they answer only while
//                       the latest equals export_progress's (after an upgrade, before the first pass, they do not).
//   day_counts, day_marks  the series' 1-day bins, counted per day when its data changed (below).
// The materializer reads series as the incident search does (ClickHouseTimelines) and runs the same search;
// the exporter calls it after each pass with the series the pass touched. The SQL and the decoding are pure
// (tests/analytics checks them on recorded replies).
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/analytics/queries.hpp"
#include "collector/timeline/stored_incidents.hpp"

namespace kuzet::collector::analytics {

// The runs of a series as stored (JSON text: doubles as their bits, so they come back exact) and back.
// runs_from_text throws std::runtime_error on anything but what runs_text writes (bounded: the text is a cell
// of a bounded reply).
std::string runs_text(const std::vector<timeline::StoredRun>& runs);
std::vector<timeline::StoredRun> runs_from_text(std::string_view text);

// Rows for INSERT INTO series_incidents FORMAT JSONEachRow: one per series of `source`.
std::string stored_series_rows(const std::vector<timeline::StoredSeries>& series, const std::string& source,
                               uint64_t watermark, uint64_t made_at_ms);

// A network series' bins (timeline::StoredSeries::bins) kept in network_bins, kBinsPerChunk base bins a row: the
// row's text is "probes offline" for each of its bins in order, space-separated (a silent bin "0 0"), so the
// search over any later part of the series reads its few rows instead of the per-probe tables.
inline constexpr int64_t kBinsPerChunk = 144;
// Rows for INSERT INTO network_bins FORMAT JSONEachRow: every chunk of each network series' stored bins.
std::string network_bins_rows(const std::vector<timeline::StoredSeries>& series, const std::string& source,
                              int64_t base_bin_ms, uint64_t made_at_ms);
// The bins with data of the chunk starting at `chunk_start_ms`, from its text. Throws std::runtime_error on
// anything but what network_bins_rows writes (bounded: kBinsPerChunk pairs of 32-bit counts).
std::vector<timeline::NetworkBin> network_bins_from_text(std::string_view text, int64_t chunk_start_ms,
                                                         int64_t base_bin_ms);
// The latest version of every chunk of `parts` (network series of `source`). Rows (kNetworkBinColumns,
// TabSeparated): cc, asn, chunk, bins.
inline constexpr size_t kNetworkBinColumns = 4;
std::string network_bins_sql(const std::vector<timeline::NetworkPart>& parts, const std::string& source,
                             int64_t base_bin_ms);
// Gives each part's series the bins of its part from network_bins_sql's rows, and marks it covered
// (bins_from/until: the part) when each of its chunks came; else it has none (then it is searched). Rows of
// other chunks are ignored. Throws std::runtime_error on a broken reply.
void add_network_bins(const std::vector<timeline::NetworkPart>& parts, const clickhouse::Table& rows,
                      int64_t base_bin_ms);
// The networks of `source` with bins stored. Rows (JSONCompact): cc, asn.
std::string networks_with_bins_sql(const std::string& source);
std::set<timeline::SeriesKey> networks_from_rows(const clickhouse::Rows& rows);

// The latest stored series of `source` among `query`'s places (cc, asn, target; category not applied), with
// the latest incidents watermark and export watermark on each row. Rows (kStoredColumns, TabSeparated): cc,
// asn, target, options, first_bin, data_end, runs, stored watermark, exported watermark.
inline constexpr size_t kStoredColumns = 9;
std::string stored_incidents_sql(const timeline::TimelineQuery& query, const std::string& source);
struct StoredRead {
  // Whether stored incidents answer at all: the latest incidents watermark is the export's. False with no rows.
  bool current = false;
  std::map<timeline::SeriesKey, timeline::StoredSeries> series;
};
// Throws std::runtime_error on a broken reply.
StoredRead stored_from_rows(const clickhouse::Table& rows);

// The series a pass must search again (pure): of `listed` (the series of a source now), those `touched` by the
// pass (nullopt: all), and every network series whose stored data end is not `data_end_ms` (its tail of
// silence grew), that has none stored, or whose bins are not stored (not in `with_bins`: stored before schema 5).
std::vector<timeline::SeriesInfo> series_to_search(const std::vector<timeline::SeriesInfo>& listed,
                                                   const std::optional<std::set<timeline::SeriesKey>>& touched,
                                                   const StoredRead& stored, const std::set<timeline::SeriesKey>& with_bins,
                                                   int64_t data_end_ms);

// Day bins counted when data arrives (schema 6): per series, source ("" for all sources together) and day, the
// probes in each state with their latest measurement of the day, which is what a 1-day bin of the timeline counts,
// so a long timeline at 1-day bins reads a few rows a day (queries.hpp, counts_from_stored_days). A pass marks a day
// started, writes its counts at its version (day_counts: ReplacingMergeTree by version, so a day counted again
// replaces its rows), and marks it counted with the export watermark it read at (day_marks). The exporter marks
// each day a batch holds as exported before sending the batch: a day whose data changed since its count is read
// from the states until a pass counts it again.
// The statements counting one day (its start ms) at `version` over probe_bins: every source's counts in one read;
// the sources' together ("") copied from the one source's when the day has one, else counted in a second read.
std::vector<std::string> count_day_sql(int64_t day_ms, uint64_t version, const std::vector<std::string>& day_sources);
// INSERT of day marks: `days` (starts, ms) with `mark` at `version` and `watermark`.
std::string day_marks_insert_sql(const std::set<int64_t>& days, DayMark mark, uint64_t version, uint64_t watermark);
// The day of each measurement's start, as a day bin holds it (ms; before 1970 too).
std::set<int64_t> days_of(const std::vector<int64_t>& started_at_ms);
// Of the days with data, those to count: not `counted`, and within what ClickHouse's Date column holds (the
// tables' partitions; days outside are read from the states). Ordered.
std::vector<int64_t> days_to_count(const std::set<int64_t>& with_data, const std::set<int64_t>& counted);

class IncidentMaterializer {
 public:
  IncidentMaterializer(const clickhouse::ClickHouseUrl& url, int64_t base_bin_ms, timeline::IncidentOptions options,
                       const clickhouse::ClientLimits& limits = {});

  struct Stats {
    size_t series = 0;  // series searched (over every source)
    size_t runs = 0;    // runs stored
  };
  // Searches the series `touched` (nullopt: every series) of
  // every source, and network series whose data end moved, stores their runs, then records `watermark` as
  // reached. With `touched`, only when the stored incidents were brought to `previous` (else every series).
  // Throws std::runtime_error (ClickHouse failing: the stored incidents stay behind and do not answer).
  Stats materialize(const std::optional<std::set<timeline::SeriesKey>>& touched, uint64_t previous,
                    uint64_t watermark);
  // The latest watermark the stored incidents were brought to (0: none).
  uint64_t stored_watermark();
  // Counts the day bins of `days` (nullopt: every day with data whose counts do not answer) as of export
  // `watermark`; returns how many days it counted. Throws std::runtime_error (the days left do not answer).
  size_t count_days(const std::optional<std::set<int64_t>>& days, uint64_t watermark);

 private:
  int64_t base_bin_ms_;
  timeline::IncidentOptions options_;
  clickhouse::ClickHouseUrl url_;
  clickhouse::ClientLimits limits_;
  clickhouse::Client client_;
};

}  // namespace kuzet::collector::analytics
