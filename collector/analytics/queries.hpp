#pragma once
// The timeline reads as ClickHouse SQL, and their replies back into the timeline engine's types. Pure:
// tests/analytics checks the statements and the decoding of recorded replies; the SQLite index
// (collector/timeline/index.cpp) gives the meaning each must match.
#include <cstdint>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/timeline/source.hpp"

namespace kuzet::collector::analytics {

// Per (cc, asn, target, source): category, first and last base bin, for the place filters of `query`.
std::string series_list_sql(const timeline::TimelineQuery& query);
// Rows of series_list_sql into the series list: one entry per series (category over every source,
// extent over `query.source`'s rows, or all), category filter applied, ordered by (cc, asn, target).
std::vector<timeline::SeriesInfo> series_list_from_rows(const clickhouse::Rows& rows,
                                                        const timeline::TimelineQuery& query);

// Rows of series in ranges of base bins, as a WHERE condition: per series its ranges merged where they touch
// or overlap, each one range of the tables' key (cc, asn, target, bin, ...); past kMaxKeyRanges ranges, the
// series' whole span (a superset: the decoders keep what was asked for).
struct KeyRange {
  timeline::SeriesKey key;
  int64_t first = 0, end = 0;
};
inline constexpr size_t kMaxKeyRanges = 256;
std::string key_ranges(std::vector<KeyRange> ranges);

// Several series (distinct keys, of any networks, each over its own range of query bins) are read in two
// steps. First the counts (bin_probes): per query bin and (verdict, method), the distinct probes that
// reported it, and per bin (whole = 1) the distinct probes at all. Where the first add up to the second, each
// probe had one (verdict, method) there, which is its latest: the bin's counts are exact.
// Rows (kCountColumns, TabSeparated): cc, asn, target, b, whole, verdict, method, probes.
inline constexpr size_t kCountColumns = 8;
std::string bin_probes_sql(const std::vector<KeyRange>& ranges, int64_t bin_ms, const std::string& source);

// A query bin of a series where some probe reported more than one (verdict, method): read from the states.
struct MixedBin {
  timeline::SeriesKey key;
  int64_t start_ms = 0;
  bool operator==(const MixedBin&) const = default;
};
struct GroupCounts {
  std::vector<timeline::Series> series;  // one per request, dense; mixed bins still empty
  std::vector<MixedBin> mixed;           // ordered by (key, start)
};
// The series of `requests` (distinct keys) from bin_probes_sql's rows; rows of a bin outside
// a series' own range are another request's. Throws std::runtime_error on a broken reply.
GroupCounts series_counts_from_rows(const std::vector<timeline::TimelineSource::SeriesRequest>& requests,
                                    int64_t bin_ms, const clickhouse::Table& rows);

// Every bin of `requests` to be read from the states, none from the counts: query bins coarser than the base
// bin, where probes often change state within a bin (most day bins of the January replay), so the counts
// would mostly be a wasted read.
GroupCounts all_bins_mixed(const std::vector<timeline::TimelineSource::SeriesRequest>& requests, int64_t bin_ms);

// Second, the mixed bins from each probe's latest state per base bin, merged into its latest per query bin
// (probe_bins): rows (kMixedColumns) cc, asn, target, b, verdict, method, probes. Adjacent bins of a series
// are one range of the primary key (key_ranges).
inline constexpr size_t kMixedColumns = 7;
std::string mixed_bins_sql(const std::vector<MixedBin>& mixed, int64_t bin_ms, const std::string& source);
// Adds mixed_bins_sql's rows of the mixed bins to their series (rows of other bins are ignored) and orders
// every bin's counts by (verdict, method) as the SQLite index does.
void add_mixed_counts(GroupCounts& group, const clickhouse::Table& rows);

// Day bins counted when the data arrived (day_counts, materializer.hpp): a day's counts answer only when they are
// whole and current, which day_marks says per day (its start ms, `bin`): the latest pass that started counting it
// also finished (a pass cut short leaves a started mark only), at an export watermark no later export of a
// measurement of that day passed. Rows (kDayMarkColumns): bin, latest exported watermark, latest started version,
// latest counted version, that count's watermark.
enum class DayMark : uint8_t { exported = 0, started = 1, counted = 2 };
inline constexpr size_t kDayMarkColumns = 5;
std::string day_marks_sql(int64_t first_day_ms, int64_t end_day_ms);
// The days whose counts answer, from day_marks_sql's rows. Throws std::runtime_error on a broken reply.
std::set<int64_t> counted_days_from_rows(const clickhouse::Table& rows);
// The stored counts of the series of `ranges` (day bins) for `source` ("" : all sources, stored as such). Rows
// (kDayCountColumns): cc, asn, target, bin, version, verdict, method, probes; per (series, day) only the rows of its
// latest version are its counts (an older version's state may have vanished since).
inline constexpr size_t kDayCountColumns = 8;
std::string day_counts_sql(const std::vector<KeyRange>& ranges, const std::string& source);
// The series of `requests` (distinct keys) at 1-day bins: bins of `counted` days from day_counts_sql's rows (no row:
// no data that day), every other bin left mixed (read from the states). Throws std::runtime_error on a broken reply.
GroupCounts counts_from_stored_days(const std::vector<timeline::TimelineSource::SeriesRequest>& requests,
                                    const std::set<int64_t>& counted, const clickhouse::Table& rows);

// The target series of `query`'s places with a measurement of one of `verdicts` in the days of base bins
// [from, until) (verdict_days; whole days: a superset). Rows: cc, asn, target.
std::string series_with_verdicts_sql(const timeline::TimelineQuery& query, const std::vector<std::string>& verdicts,
                                     int64_t from, int64_t until);
std::set<timeline::SeriesKey> series_keys_from_rows(const clickhouse::Rows& rows);

// Per (probe, vantage tag) the sum of decisive flags of the probe's latest measurement per base bin in
// [from, until), with that verdict when given.
std::string vantage_samples_sql(const timeline::SeriesKey& key, int64_t from, int64_t until,
                                const std::optional<std::string>& verdict, const std::string& source);
std::vector<timeline::VantageSample> vantage_samples_from_rows(const clickhouse::Rows& rows);

// The samples of several incident windows at once (series of any networks), equal to vantage_samples_sql and
// vantage_samples_from_rows per window, read in two steps:
//  1. vantage_presence_sql: the windows' rows of probe_presence, each (verdict, vantage, decisive) a probe
//     reported in a base bin and the latest time it did. Rows (kPresenceColumns): cc, asn, target, bin, key_id,
//     verdict, vantage, decisive, at. Here, per (series, bin, probe), the state of its latest time is its latest
//     measurement's, a sample, unless another state has that time too (only the uid orders them).
//  2. for those probes' bins (mixed()), states_sql: their latest states from probe_bins. Rows (kStateColumns):
//     cc, asn, target, bin, key_id, verdict, vantage, decisive.
// Each window's samples are then cut from the rows here (pure): per (probe, tag), decisive summed.
inline constexpr size_t kPresenceColumns = 9;
inline constexpr size_t kStateColumns = 8;
// Past this many probes with tied states, states_sql reads their bins whole instead of naming them.
inline constexpr size_t kMaxNamedProbes = 2000;
std::string vantage_presence_sql(const std::vector<timeline::TimelineSource::VantageRequest>& windows,
                                 const std::string& source);

struct ProbeBin {
  timeline::SeriesKey key;
  int64_t bin = 0;
  std::string key_id;
  bool operator==(const ProbeBin&) const = default;
};

class VantageGroup {
 public:
  explicit VantageGroup(std::vector<timeline::TimelineSource::VantageRequest> windows);
  // Step 1's rows. Throws std::runtime_error on a broken reply (rows of series not asked for are ignored).
  void add_presence(const clickhouse::Table& rows);
  // The probes' bins with two states at their latest time, ordered, and the statement reading their latest states.
  const std::vector<ProbeBin>& mixed() const { return mixed_; }
  std::string states_sql(int64_t base_bin_ms, const std::string& source) const;
  // Step 2's rows; rows of other probes' bins are ignored.
  void add_states(const clickhouse::Table& rows);
  // Per window (in the order given) its samples, in no particular order.
  std::vector<std::vector<timeline::VantageSample>> samples() const;

 private:
  struct NameHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Ids = std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>>;
  static uint32_t intern(Ids& ids, std::vector<std::string>& names, std::string_view name);
  const std::vector<size_t>* windows_of(const clickhouse::Table& rows, size_t r);
  void add(const std::vector<size_t>& windows, const clickhouse::Table& rows, size_t r);

  std::vector<timeline::TimelineSource::VantageRequest> windows_;
  std::map<timeline::SeriesKey, std::vector<size_t>> by_key_;  // rows are many, windows few
  const std::pair<const timeline::SeriesKey, std::vector<size_t>>* last_key_ = nullptr;
  // Probe keys and tags as numbers; per window (key << 32 | tag) -> decisive.
  Ids key_ids_, tag_ids_;
  std::vector<std::string> key_names_, tag_names_;
  std::vector<std::unordered_map<uint64_t, int64_t>> sums_;
  std::vector<ProbeBin> mixed_;
};

// The last base bin holding data (0 when none).
std::string last_bin_sql(const std::string& source);

}  // namespace kuzet::collector::analytics
