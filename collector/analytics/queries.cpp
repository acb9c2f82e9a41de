#include "collector/analytics/queries.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>

#include "collector/analytics/schema.hpp"

namespace kuzet::collector::analytics {

namespace {

using timeline::SeriesKey;

// A cell of a reply row (parse_reply made every row an array); a missing one is a broken reply.
const nlohmann::json& cell(const nlohmann::json& row, size_t i) {
  if (i >= row.size()) throw std::runtime_error("ClickHouse reply: a row without cell " + std::to_string(i));
  return row[i];
}

const std::string& text(const nlohmann::json& row, size_t i) {
  if (!cell(row, i).is_string()) throw std::runtime_error("ClickHouse reply: cell " + std::to_string(i) + " is not text");
  return row[i].get_ref<const std::string&>();
}

int64_t integer(const nlohmann::json& row, size_t i) {
  if (!cell(row, i).is_number_integer())
    throw std::runtime_error("ClickHouse reply: cell " + std::to_string(i) + " is not an integer");
  // An unsigned above INT64_MAX is not an integer we asked for.
  if (row[i].is_number_unsigned() && row[i].get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
    throw std::runtime_error("ClickHouse reply: cell " + std::to_string(i) + " out of range");
  return row[i].get<int64_t>();
}

uint32_t asn_of(const nlohmann::json& row, size_t i) {
  const int64_t v = integer(row, i);
  if (v < 0 || v > UINT32_MAX) throw std::runtime_error("ClickHouse reply: ASN out of range");
  return static_cast<uint32_t>(v);
}

std::string series_where(const SeriesKey& key, int64_t from, int64_t until, const std::string& source) {
  std::string w = " WHERE cc = " + clickhouse::sql_string(key.cc) + " AND asn = " + std::to_string(key.asn) +
                  " AND target = " + clickhouse::sql_string(key.target) + " AND bin >= " + std::to_string(from) +
                  " AND bin < " + std::to_string(until);
  if (!source.empty()) w += " AND source = " + clickhouse::sql_string(source);
  return w;
}

}  // namespace

std::string series_list_sql(const timeline::TimelineQuery& q) {
  std::string sql = std::string("SELECT cc, asn, target, source, maxMerge(category), minMerge(first_bin),"
                                " maxMerge(last_bin) FROM ") + kSeries + " WHERE 1";
  if (!q.cc.empty()) sql += " AND cc = " + clickhouse::sql_string(q.cc);
  if (q.asn) sql += " AND asn = " + std::to_string(*q.asn);
  if (!q.target.empty()) sql += " AND target = " + clickhouse::sql_string(q.target);
  return sql + " GROUP BY cc, asn, target, source";
}

std::vector<timeline::SeriesInfo> series_list_from_rows(const clickhouse::Rows& rows,
                                                        const timeline::TimelineQuery& q) {
  struct Found {
    timeline::SeriesInfo info;
    bool of_source = false;
    bool any = false;
  };
  std::map<SeriesKey, Found> by_key;  // ordered by (cc, asn, target) as SQLite orders them (bytes)
  for (const auto& row : rows) {
    SeriesKey key{text(row, 0), asn_of(row, 1), text(row, 2)};
    const std::string& source = text(row, 3);
    const std::string& category = text(row, 4);
    const int64_t first = integer(row, 5), last = integer(row, 6);
    Found& f = by_key[key];
    f.info.key = key;
    f.info.category = std::max(f.info.category, category);  // the series' category, over every source
    if (!q.source.empty() && source != q.source) continue;
    f.info.first_bin_ms = f.of_source ? std::min(f.info.first_bin_ms, first) : first;
    f.info.last_bin_ms = f.of_source ? std::max(f.info.last_bin_ms, last) : last;
    f.of_source = true;
  }
  std::vector<timeline::SeriesInfo> out;
  for (auto& [key, f] : by_key) {
    if (!f.of_source) continue;
    if (!q.category.empty() && f.info.category != q.category && key.target != timeline::kNetworkTarget) continue;
    out.push_back(std::move(f.info));
  }
  return out;
}

namespace {

timeline::Series empty_series(const SeriesKey& key, int64_t first, int64_t end, int64_t bin_ms) {
  timeline::Series s{key, "", bin_ms, {}, ""};
  if (end <= first) return s;
  s.bins.resize(static_cast<size_t>((end - first) / bin_ms));
  for (size_t i = 0; i < s.bins.size(); ++i) s.bins[i].start_ms = first + static_cast<int64_t>(i) * bin_ms;
  return s;
}

// The index of the bin of s starting at `start`; s.bins.size() when outside s's range. Throws on a start
// off s's grid (a broken reply).
size_t bin_index(const timeline::Series& s, int64_t start) {
  if (s.bins.empty()) return 0;
  const int64_t first = s.bins.front().start_ms, end = s.bins.back().start_ms + s.bin_ms;
  if (start < first || start >= end) return s.bins.size();
  if ((start - first) % s.bin_ms != 0) throw std::runtime_error("ClickHouse reply: a bin off the series' grid");
  return static_cast<size_t>((start - first) / s.bin_ms);
}

// Adds `probes` of (verdict, method) to the bin of s starting at `start`; false when the bin is outside s's
// range (the caller decides whether that is an error).
bool add_count(timeline::Series& s, int64_t start, const std::string& verdict, const std::string& method,
               int64_t probes) {
  if (probes <= 0 || probes > INT32_MAX) throw std::runtime_error("ClickHouse reply: a probe count out of range");
  const size_t i = bin_index(s, start);
  if (i == s.bins.size()) return false;
  timeline::Bin& bin = s.bins[i];
  if (bin.probes > INT32_MAX - probes) throw std::runtime_error("ClickHouse reply: too many probes in a bin");
  bin.counts.push_back({verdict, method, static_cast<int>(probes)});
  bin.probes += static_cast<int>(probes);
  return true;
}

void sort_counts(timeline::Series& s) {
  for (auto& bin : s.bins)
    std::sort(bin.counts.begin(), bin.counts.end(), [](const timeline::VerdictCount& a, const timeline::VerdictCount& b) {
      return std::tie(a.verdict, a.method) < std::tie(b.verdict, b.method);
    });
}

std::string in_list(const std::vector<std::string>& values) {
  std::string in;
  for (const auto& v : values) in += (in.empty() ? "" : ", ") + clickhouse::sql_string(v);
  return in.empty() ? std::string("''") : in;
}

// The keys' rows, per network "cc = .. AND asn = .. AND target IN (..)": ClickHouse 18.16 narrows its key
// ranges on equalities better than on a (cc, asn, target) IN tuple set (read rows measured: a third fewer).
std::string keys_in(const std::vector<SeriesKey>& keys) {
  std::map<std::pair<std::string, uint32_t>, std::vector<std::string>> by_network;
  for (const auto& k : keys) by_network[{k.cc, k.asn}].push_back(k.target);
  std::string any;
  for (const auto& [network, targets] : by_network)
    any += (any.empty() ? "((" : " OR (") + std::string("cc = ") + clickhouse::sql_string(network.first) +
           " AND asn = " + std::to_string(network.second) + " AND target IN (" + in_list(targets) + "))";
  return any.empty() ? std::string("0") : any + ")";
}

std::string source_filter(const std::string& source) {
  return source.empty() ? std::string() : " AND source = " + clickhouse::sql_string(source);
}

std::string bins_range(int64_t first, int64_t end) {
  return "bin >= " + std::to_string(first) + " AND bin < " + std::to_string(end);
}


}  // namespace

std::string key_ranges(std::vector<KeyRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const KeyRange& a, const KeyRange& b) { return std::tie(a.key, a.first) < std::tie(b.key, b.first); });
  std::vector<KeyRange> merged;
  for (const auto& r : ranges) {
    if (r.end <= r.first) continue;
    if (!merged.empty() && merged.back().key == r.key && r.first <= merged.back().end)
      merged.back().end = std::max(merged.back().end, r.end);
    else
      merged.push_back(r);
  }
  if (merged.empty()) return "0";
  if (merged.size() > kMaxKeyRanges) {
    std::vector<SeriesKey> keys;
    int64_t first = INT64_MAX, end = INT64_MIN;
    for (const auto& r : merged) {
      if (keys.empty() || !(keys.back() == r.key)) keys.push_back(r.key);
      first = std::min(first, r.first);
      end = std::max(end, r.end);
    }
    return keys_in(keys) + " AND " + bins_range(first, end);
  }
  std::string any;
  for (const auto& r : merged)
    any += (any.empty() ? "((" : " OR (") + std::string("cc = ") + clickhouse::sql_string(r.key.cc) + " AND asn = " +
           std::to_string(r.key.asn) + " AND target = " + clickhouse::sql_string(r.key.target) + " AND " +
           bins_range(r.first, r.end) + ")";
  return any + ")";
}

std::string bin_probes_sql(const std::vector<KeyRange>& ranges, int64_t bin_ms, const std::string& source) {
  const std::string b = std::to_string(bin_ms);
  return "SELECT cc, asn, target, intDiv(bin, " + b + ") * " + b +
         " AS b, whole, verdict, method, uniqExactMerge(probes) FROM " + kBinProbes + " WHERE " + key_ranges(ranges) +
         source_filter(source) + " GROUP BY cc, asn, target, b, whole, verdict, method";
}

namespace {

bool mixed_before(const MixedBin& a, const MixedBin& b) { return std::tie(a.key, a.start_ms) < std::tie(b.key, b.start_ms); }

// Row r's series key from its first three cells (cc, asn, target).
SeriesKey key_at(const clickhouse::Table& rows, size_t r) {
  const int64_t asn = rows.integer(r, 1);
  if (asn < 0 || asn > UINT32_MAX) throw std::runtime_error("ClickHouse reply: ASN out of range");
  return {std::string(rows.text(r, 0)), static_cast<uint32_t>(asn), std::string(rows.text(r, 2))};
}

// Compares row r's series key with `key` without building one (most rows of a reply share their key).
bool same_key(const clickhouse::Table& rows, size_t r, const SeriesKey& key) {
  return rows.text(r, 0) == key.cc && rows.text(r, 2) == key.target && rows.integer(r, 1) == static_cast<int64_t>(key.asn);
}

// The index of row r's series among `series` (keyed by `by_key`); `previous` is the previous row's (rows come
// grouped by series more often than not). Throws on a series not asked for.
size_t series_of(const std::vector<timeline::Series>& series, const std::map<SeriesKey, size_t>& by_key,
                 const clickhouse::Table& rows, size_t r, size_t previous) {
  if (previous < series.size() && same_key(rows, r, series[previous].key)) return previous;
  const auto it = by_key.find(key_at(rows, r));
  if (it == by_key.end()) throw std::runtime_error("ClickHouse reply: a series not asked for");
  return it->second;
}

}  // namespace

GroupCounts series_counts_from_rows(const std::vector<timeline::TimelineSource::SeriesRequest>& requests,
                                    int64_t bin_ms, const clickhouse::Table& rows) {
  GroupCounts g;
  std::map<SeriesKey, size_t> by_key;
  for (const auto& r : requests) {
    by_key.emplace(r.key, g.series.size());
    g.series.push_back(empty_series(r.key, timeline::bin_floor(r.from_ms, bin_ms), timeline::bin_ceil(r.until_ms, bin_ms), bin_ms));
  }
  std::vector<std::vector<int64_t>> whole(g.series.size());
  for (size_t k = 0; k < g.series.size(); ++k) whole[k].assign(g.series[k].bins.size(), 0);
  size_t k = g.series.size();
  for (size_t row = 0; row < rows.size(); ++row) {
    k = series_of(g.series, by_key, rows, row, k);
    timeline::Series& s = g.series[k];
    const int64_t start = rows.integer(row, 3), probes = rows.integer(row, 7);
    const size_t i = bin_index(s, start);
    if (i == s.bins.size()) continue;  // the union's bins outside this series' own range are not its
    if (rows.integer(row, 4) != 0) {
      if (probes <= 0 || probes > INT32_MAX || whole[k][i] != 0)
        throw std::runtime_error("ClickHouse reply: a bin's probes out of range or twice");
      whole[k][i] = probes;
    } else {
      add_count(s, start, std::string(rows.text(row, 5)), std::string(rows.text(row, 6)), probes);
    }
  }
  for (size_t k = 0; k < g.series.size(); ++k) {
    timeline::Series& s = g.series[k];
    for (size_t i = 0; i < s.bins.size(); ++i) {
      if (s.bins[i].probes == whole[k][i]) continue;
      // A probe in two states there (or a reply without the bin's whole): its latest decides, read later.
      s.bins[i].counts.clear();
      s.bins[i].probes = 0;
      g.mixed.push_back({s.key, s.bins[i].start_ms});
    }
    sort_counts(s);
  }
  std::sort(g.mixed.begin(), g.mixed.end(), mixed_before);
  return g;
}

GroupCounts all_bins_mixed(const std::vector<timeline::TimelineSource::SeriesRequest>& requests, int64_t bin_ms) {
  GroupCounts g = series_counts_from_rows(requests, bin_ms, clickhouse::Table{});
  for (const auto& s : g.series)
    for (const auto& bin : s.bins) g.mixed.push_back({s.key, bin.start_ms});
  std::sort(g.mixed.begin(), g.mixed.end(), mixed_before);
  return g;
}

std::string mixed_bins_sql(const std::vector<MixedBin>& mixed, int64_t bin_ms, const std::string& source) {
  std::vector<KeyRange> ranges;
  for (const auto& m : mixed) ranges.push_back({m.key, m.start_ms, m.start_ms + bin_ms});
  const std::string where = " WHERE " + key_ranges(ranges) + source_filter(source);
  const std::string b = std::to_string(bin_ms);
  // One series (the usual single timeline): its key as constants, grouped by bin and probe only (grouping by
  // three more strings per state cost a whole-period read ~1.7x here).
  const bool one = !mixed.empty() && mixed.front().key == mixed.back().key;
  const std::string key = one ? clickhouse::sql_string(mixed.front().key.cc) + " AS cc, " +
                                    std::to_string(mixed.front().key.asn) + " AS asn, " +
                                    clickhouse::sql_string(mixed.front().key.target) + " AS target, "
                              : std::string("cc, asn, target, ");
  const std::string group = one ? std::string() : std::string("cc, asn, target, ");
  // Each probe's latest per base bin (argMaxMerge of the aggregate), merged into its latest per query bin,
  // then counted per state.
  return "SELECT " + key + "b, s.1 AS verdict, s.2 AS method, count() FROM (SELECT " + group + "intDiv(bin, " + b +
         ") * " + b + " AS b, key_id, argMaxMerge(latest) AS s FROM " + kProbeBins + where + " GROUP BY " + group +
         "b, key_id) GROUP BY " + group + "b, verdict, method";
}

void add_mixed_counts(GroupCounts& g, const clickhouse::Table& rows) {
  std::map<SeriesKey, size_t> by_key;
  for (size_t k = 0; k < g.series.size(); ++k) by_key.emplace(g.series[k].key, k);
  for (size_t row = 0; row < rows.size(); ++row) {
    const MixedBin at{key_at(rows, row), rows.integer(row, 3)};
    auto it = by_key.find(at.key);
    if (it == by_key.end()) throw std::runtime_error("ClickHouse reply: a series not asked for");
    if (!std::binary_search(g.mixed.begin(), g.mixed.end(), at, mixed_before))
      continue;  // a bin whose counts were exact (read again when the ranges were too many)
    add_count(g.series[it->second], at.start_ms, std::string(rows.text(row, 4)), std::string(rows.text(row, 5)),
              rows.integer(row, 6));
  }
  for (auto& s : g.series) sort_counts(s);
}

std::string day_marks_sql(int64_t first_day_ms, int64_t end_day_ms) {
  const auto kind = [](DayMark m) { return "kind = " + std::to_string(static_cast<int>(m)); };
  return "SELECT bin, maxIf(watermark, " + kind(DayMark::exported) + "), maxIf(version, " + kind(DayMark::started) +
         "), maxIf(version, " + kind(DayMark::counted) + "), argMaxIf(watermark, version, " + kind(DayMark::counted) +
         ") FROM " + kDayMarks + " WHERE " + bins_range(first_day_ms, end_day_ms) + " GROUP BY bin";
}

std::set<int64_t> counted_days_from_rows(const clickhouse::Table& rows) {
  if (rows.size() > 0 && rows.width() != kDayMarkColumns) throw std::runtime_error("ClickHouse reply: day marks of another width");
  std::set<int64_t> counted, seen;
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t day = rows.integer(r, 0), exported = rows.integer(r, 1), started = rows.integer(r, 2),
                  version = rows.integer(r, 3), watermark = rows.integer(r, 4);
    if (day < 0 || day % kDayMs != 0 || exported < 0 || started < 0 || version < 0 || watermark < 0)
      throw std::runtime_error("ClickHouse reply: a day mark out of range");
    if (!seen.insert(day).second) throw std::runtime_error("ClickHouse reply: a day marked twice");
    // Whole (no pass began counting it after the last that finished) and current (no export of its data since).
    if (version > 0 && started == version && watermark >= exported) counted.insert(day);
  }
  return counted;
}

std::string day_counts_sql(const std::vector<KeyRange>& ranges, const std::string& source) {
  return std::string("SELECT cc, asn, target, bin, version, verdict, method, probes FROM ") + kDayCounts +
         " WHERE source = " + clickhouse::sql_string(source) + " AND " + key_ranges(ranges);
}

GroupCounts counts_from_stored_days(const std::vector<timeline::TimelineSource::SeriesRequest>& requests,
                                    const std::set<int64_t>& counted, const clickhouse::Table& rows) {
  GroupCounts g = series_counts_from_rows(requests, kDayMs, clickhouse::Table{});
  if (rows.size() > 0 && rows.width() != kDayCountColumns) throw std::runtime_error("ClickHouse reply: day counts of another width");
  std::map<SeriesKey, size_t> by_key;
  for (size_t k = 0; k < g.series.size(); ++k) by_key.emplace(g.series[k].key, k);
  // Per series and bin the latest version's rows (row numbers): older versions are counts of less data.
  struct Latest {
    int64_t version = 0;
    std::vector<size_t> rows;
  };
  std::vector<std::vector<Latest>> latest(g.series.size());
  for (size_t k = 0; k < g.series.size(); ++k) latest[k].resize(g.series[k].bins.size());
  size_t k = g.series.size();
  for (size_t r = 0; r < rows.size(); ++r) {
    k = series_of(g.series, by_key, rows, r, k);
    const size_t i = bin_index(g.series[k], rows.integer(r, 3));
    if (i == g.series[k].bins.size()) continue;  // another request's range
    const int64_t version = rows.integer(r, 4);
    if (version <= 0) throw std::runtime_error("ClickHouse reply: a day count's version out of range");
    Latest& l = latest[k][i];
    if (version < l.version) continue;
    if (version > l.version) l = {version, {}};
    l.rows.push_back(r);
  }
  auto state = [&](size_t r) { return std::make_pair(rows.text(r, 5), rows.text(r, 6)); };
  for (size_t k = 0; k < g.series.size(); ++k) {
    timeline::Series& s = g.series[k];
    for (size_t i = 0; i < s.bins.size(); ++i) {
      if (!counted.count(s.bins[i].start_ms)) {
        g.mixed.push_back({s.key, s.bins[i].start_ms});
        continue;
      }
      auto& of_bin = latest[k][i].rows;
      std::sort(of_bin.begin(), of_bin.end(), [&](size_t a, size_t b) { return state(a) < state(b); });
      for (size_t j = 1; j < of_bin.size(); ++j)
        if (state(of_bin[j - 1]) == state(of_bin[j])) throw std::runtime_error("ClickHouse reply: a day's state counted twice");
      for (size_t r : of_bin)
        add_count(s, s.bins[i].start_ms, std::string(rows.text(r, 5)), std::string(rows.text(r, 6)), rows.integer(r, 7));
    }
    sort_counts(s);
  }
  std::sort(g.mixed.begin(), g.mixed.end(), mixed_before);
  return g;
}

std::string series_with_verdicts_sql(const timeline::TimelineQuery& q, const std::vector<std::string>& verdicts,
                                     int64_t from, int64_t until) {
  // Day numbers as the view computes them (intDiv truncates like C++'s /): monotonic, so every base bin in
  // [from, until) falls in [day(from), day(until - 1)].
  std::string sql = std::string("SELECT DISTINCT cc, asn, target FROM ") + kVerdictDays + " WHERE verdict IN (" +
                    in_list(verdicts) + ") AND day_number >= " + std::to_string(from / kDayMs) +
                    " AND day_number <= " + std::to_string((until - 1) / kDayMs);
  if (!q.cc.empty()) sql += " AND cc = " + clickhouse::sql_string(q.cc);
  if (q.asn) sql += " AND asn = " + std::to_string(*q.asn);
  if (!q.target.empty()) sql += " AND target = " + clickhouse::sql_string(q.target);
  if (!q.source.empty()) sql += " AND source = " + clickhouse::sql_string(q.source);
  return sql;
}

std::set<timeline::SeriesKey> series_keys_from_rows(const clickhouse::Rows& rows) {
  std::set<timeline::SeriesKey> keys;
  for (const auto& row : rows) keys.insert({text(row, 0), asn_of(row, 1), text(row, 2)});
  return keys;
}

std::string vantage_samples_sql(const SeriesKey& key, int64_t from, int64_t until,
                                const std::optional<std::string>& verdict, const std::string& source) {
  return "SELECT key_id, s.3 AS vantage, sum(s.4) FROM (SELECT bin, key_id, argMaxMerge(latest) AS s FROM " +
         std::string(kProbeBins) + series_where(key, from, until, source) + " GROUP BY bin, key_id)" +
         (verdict ? " WHERE s.1 = " + clickhouse::sql_string(*verdict) : std::string()) + " GROUP BY key_id, vantage";
}

std::vector<timeline::VantageSample> vantage_samples_from_rows(const clickhouse::Rows& rows) {
  std::vector<timeline::VantageSample> out;
  for (const auto& row : rows) {
    const int64_t decisive = integer(row, 2);
    if (decisive < 0 || decisive > INT32_MAX) throw std::runtime_error("ClickHouse reply: decisive out of range");
    out.push_back({text(row, 0), text(row, 1), static_cast<int>(decisive)});
  }
  return out;
}

namespace {

// The windows' key ranges.
std::string windows_where(const std::vector<timeline::TimelineSource::VantageRequest>& windows) {
  std::vector<KeyRange> ranges;
  for (const auto& w : windows) ranges.push_back({w.key, w.from_ms, w.until_ms});
  return key_ranges(std::move(ranges));
}

bool probe_bin_before(const ProbeBin& a, const ProbeBin& b) {
  return std::tie(a.key, a.bin, a.key_id) < std::tie(b.key, b.bin, b.key_id);
}

}  // namespace

std::string vantage_presence_sql(const std::vector<timeline::TimelineSource::VantageRequest>& windows,
                                 const std::string& source) {
  const std::string where = windows_where(windows);
  // Plain rows, no GROUP BY (grouping per probe and bin on the server cost more than the rows themselves); the
  // verdicts are not filtered here either: a probe's latest state may be another verdict than an earlier one.
  return "SELECT cc, asn, target, bin, key_id, verdict, vantage, decisive, toInt64(last_at - 9223372036854775808)"
         " FROM " + std::string(kProbePresence) + " WHERE " + where + source_filter(source);
}

VantageGroup::VantageGroup(std::vector<timeline::TimelineSource::VantageRequest> windows)
    : windows_(std::move(windows)), sums_(windows_.size()) {
  for (size_t k = 0; k < windows_.size(); ++k) by_key_[windows_[k].key].push_back(k);
}

uint32_t VantageGroup::intern(std::unordered_map<std::string, uint32_t, NameHash, std::equal_to<>>& ids,
                              std::vector<std::string>& names, std::string_view name) {
  auto it = ids.find(name);
  if (it != ids.end()) return it->second;
  const auto id = static_cast<uint32_t>(names.size());
  names.emplace_back(name);
  ids.emplace(names.back(), id);
  return id;
}

const std::vector<size_t>* VantageGroup::windows_of(const clickhouse::Table& rows, size_t r) {
  if (!last_key_ || !same_key(rows, r, last_key_->first)) {
    auto it = by_key_.find(key_at(rows, r));
    if (it == by_key_.end()) return nullptr;  // a wide read's rows of another series
    last_key_ = &*it;
  }
  return &last_key_->second;
}

void VantageGroup::add(const std::vector<size_t>& windows, const clickhouse::Table& rows, size_t r) {
  const int64_t bin = rows.integer(r, 3), decisive = rows.integer(r, 7);
  if (decisive < 0 || decisive > 1) throw std::runtime_error("ClickHouse reply: decisive is not 0 or 1");
  const std::string_view verdict = rows.text(r, 5);
  for (size_t k : windows) {
    const auto& w = windows_[k];
    if (bin < w.from_ms || bin >= w.until_ms || (w.verdict && *w.verdict != verdict)) continue;
    const uint64_t pair = uint64_t{intern(key_ids_, key_names_, rows.text(r, 4))} << 32 |
                          intern(tag_ids_, tag_names_, rows.text(r, 6));
    sums_[k][pair] += decisive;
  }
}

void VantageGroup::add_presence(const clickhouse::Table& rows) {
  // Per (series, bin, probe) the row of its latest time, and whether a row of another state has that time too.
  struct Latest {
    int64_t at;
    size_t row;
    bool tie;
  };
  std::unordered_map<std::string, Latest> latest;
  latest.reserve(rows.size());
  std::string id;
  auto same_state = [&](size_t a, size_t b) {
    return rows.text(a, 5) == rows.text(b, 5) && rows.text(a, 6) == rows.text(b, 6) && rows.text(a, 7) == rows.text(b, 7);
  };
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto* windows = windows_of(rows, r);
    if (!windows) continue;
    const int64_t at = rows.integer(r, 8);
    // The probe-bin's id: its window list (one per series), bin and key.
    id.assign(reinterpret_cast<const char*>(&windows), sizeof windows);
    id.append(rows.text(r, 3)).append(1, '\0').append(rows.text(r, 4));
    auto [it, added] = latest.try_emplace(id, Latest{at, r, false});
    if (added) continue;
    Latest& l = it->second;
    if (at > l.at) {
      l = {at, r, false};
    } else if (at == l.at && !same_state(r, l.row)) {
      l.tie = true;
    }
  }
  for (const auto& [unused, l] : latest) {
    const auto* windows = windows_of(rows, l.row);
    if (!l.tie) {
      add(*windows, rows, l.row);
      continue;
    }
    // Two states at its latest time: the uid decides, read from probe_bins, if a window holds that bin at all.
    const int64_t bin = rows.integer(l.row, 3);
    for (size_t k : *windows)
      if (bin >= windows_[k].from_ms && bin < windows_[k].until_ms) {
        mixed_.push_back({windows_[k].key, bin, std::string(rows.text(l.row, 4))});
        break;
      }
  }
  std::sort(mixed_.begin(), mixed_.end(), probe_bin_before);
  mixed_.erase(std::unique(mixed_.begin(), mixed_.end()), mixed_.end());
}

std::string VantageGroup::states_sql(int64_t base_bin_ms, const std::string& source) const {
  std::vector<KeyRange> ranges;
  std::vector<std::string> probes;
  for (const auto& m : mixed_) {
    ranges.push_back({m.key, m.bin, m.bin + base_bin_ms});
    probes.push_back(m.key_id);
  }
  std::sort(probes.begin(), probes.end());
  probes.erase(std::unique(probes.begin(), probes.end()), probes.end());
  // A few probes narrow the read; many would only lengthen the statement (the rows are filtered here anyway).
  const std::string of_probes =
      probes.size() <= kMaxNamedProbes ? " AND key_id IN (" + in_list(probes) + ")" : std::string();
  return "SELECT cc, asn, target, bin, key_id, s.1, s.3, s.4 FROM (SELECT cc, asn, target, bin, key_id,"
         " argMaxMerge(latest) AS s FROM " + std::string(kProbeBins) + " WHERE " + key_ranges(std::move(ranges)) +
         of_probes + source_filter(source) + " GROUP BY cc, asn, target, bin, key_id)";
}

void VantageGroup::add_states(const clickhouse::Table& rows) {
  for (size_t r = 0; r < rows.size(); ++r) {
    const ProbeBin at{key_at(rows, r), rows.integer(r, 3), std::string(rows.text(r, 4))};
    if (!std::binary_search(mixed_.begin(), mixed_.end(), at, probe_bin_before)) continue;  // read from presence
    if (const auto* windows = windows_of(rows, r)) add(*windows, rows, r);
  }
}

std::vector<std::vector<timeline::VantageSample>> VantageGroup::samples() const {
  std::vector<std::vector<timeline::VantageSample>> out(windows_.size());
  for (size_t k = 0; k < windows_.size(); ++k) {
    out[k].reserve(sums_[k].size());
    for (const auto& [pair, decisive] : sums_[k])
      out[k].push_back({key_names_[pair >> 32], tag_names_[pair & 0xffffffffu],
                        static_cast<int>(std::min<int64_t>(decisive, INT32_MAX))});
  }
  return out;
}

std::string last_bin_sql(const std::string& source) {
  return std::string("SELECT maxMerge(last_bin) FROM ") + kSeries +
         (source.empty() ? std::string() : " WHERE source = " + clickhouse::sql_string(source));
}

}  // namespace kuzet::collector::analytics
