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
  std::string w = " WHERE cc = " + sql_string(key.cc) + " AND asn = " + std::to_string(key.asn) +
                  " AND target = " + sql_string(key.target) + " AND bin >= " + std::to_string(from) +
                  " AND bin < " + std::to_string(until);
  if (!source.empty()) w += " AND source = " + sql_string(source);
  return w;
}

}  // namespace

std::string series_list_sql(const timeline::TimelineQuery& q) {
  std::string sql = std::string("SELECT cc, asn, target, source, maxMerge(category), minMerge(first_bin),"
                                " maxMerge(last_bin) FROM ") + kSeries + " WHERE 1";
  if (!q.cc.empty()) sql += " AND cc = " + sql_string(q.cc);
  if (q.asn) sql += " AND asn = " + std::to_string(*q.asn);
  if (!q.target.empty()) sql += " AND target = " + sql_string(q.target);
  return sql + " GROUP BY cc, asn, target, source";
}

std::vector<timeline::SeriesInfo> series_list_from_rows(const Rows& rows, const timeline::TimelineQuery& q) {
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
  for (const auto& v : values) in += (in.empty() ? "" : ", ") + sql_string(v);
  return in.empty() ? std::string("''") : in;
}

// The keys' rows, per network "cc = .. AND asn = .. AND target IN (..)": ClickHouse 18.16 narrows its key
// ranges on equalities better than on a (cc, asn, target) IN tuple set (read rows measured: a third fewer).
std::string keys_in(const std::vector<SeriesKey>& keys) {
  std::map<std::pair<std::string, uint32_t>, std::vector<std::string>> by_network;
  for (const auto& k : keys) by_network[{k.cc, k.asn}].push_back(k.target);
  std::string any;
  for (const auto& [network, targets] : by_network)
    any += (any.empty() ? "((" : " OR (") + std::string("cc = ") + sql_string(network.first) +
           " AND asn = " + std::to_string(network.second) + " AND target IN (" + in_list(targets) + "))";
  return any.empty() ? std::string("0") : any + ")";
}

std::string source_filter(const std::string& source) {
  return source.empty() ? std::string() : " AND source = " + sql_string(source);
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
    any += (any.empty() ? "((" : " OR (") + std::string("cc = ") + sql_string(r.key.cc) + " AND asn = " +
           std::to_string(r.key.asn) + " AND target = " + sql_string(r.key.target) + " AND " +
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

SeriesKey key_of(const nlohmann::json& row) { return {text(row, 0), asn_of(row, 1), text(row, 2)}; }

}  // namespace

GroupCounts series_counts_from_rows(const std::vector<timeline::TimelineSource::SeriesRequest>& requests,
                                    int64_t bin_ms, const Rows& rows) {
  GroupCounts g;
  std::map<SeriesKey, size_t> by_key;
  for (const auto& r : requests) {
    by_key.emplace(r.key, g.series.size());
    g.series.push_back(empty_series(r.key, timeline::bin_floor(r.from_ms, bin_ms), timeline::bin_ceil(r.until_ms, bin_ms), bin_ms));
  }
  std::vector<std::vector<int64_t>> whole(g.series.size());
  for (size_t k = 0; k < g.series.size(); ++k) whole[k].assign(g.series[k].bins.size(), 0);
  for (const auto& row : rows) {
    auto it = by_key.find(key_of(row));
    if (it == by_key.end()) throw std::runtime_error("ClickHouse reply: a series not asked for");
    timeline::Series& s = g.series[it->second];
    const int64_t start = integer(row, 3), probes = integer(row, 7);
    const size_t i = bin_index(s, start);
    if (i == s.bins.size()) continue;  // the union's bins outside this series' own range are not its
    if (integer(row, 4) != 0) {
      if (probes <= 0 || probes > INT32_MAX || whole[it->second][i] != 0)
        throw std::runtime_error("ClickHouse reply: a bin's probes out of range or twice");
      whole[it->second][i] = probes;
    } else {
      add_count(s, start, text(row, 5), text(row, 6), probes);
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
  GroupCounts g = series_counts_from_rows(requests, bin_ms, {});
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
  const std::string key = one ? sql_string(mixed.front().key.cc) + " AS cc, " + std::to_string(mixed.front().key.asn) +
                                    " AS asn, " + sql_string(mixed.front().key.target) + " AS target, "
                              : std::string("cc, asn, target, ");
  const std::string group = one ? std::string() : std::string("cc, asn, target, ");
  // Each probe's latest per base bin (argMaxMerge of the aggregate), merged into its latest per query bin,
  // then counted per state.
  return "SELECT " + key + "b, s.1 AS verdict, s.2 AS method, count() FROM (SELECT " + group + "intDiv(bin, " + b +
         ") * " + b + " AS b, key_id, argMaxMerge(latest) AS s FROM " + kProbeBins + where + " GROUP BY " + group +
         "b, key_id) GROUP BY " + group + "b, verdict, method";
}

void add_mixed_counts(GroupCounts& g, const Rows& rows) {
  std::map<SeriesKey, size_t> by_key;
  for (size_t k = 0; k < g.series.size(); ++k) by_key.emplace(g.series[k].key, k);
  for (const auto& row : rows) {
    const MixedBin at{key_of(row), integer(row, 3)};
    auto it = by_key.find(at.key);
    if (it == by_key.end()) throw std::runtime_error("ClickHouse reply: a series not asked for");
    if (!std::binary_search(g.mixed.begin(), g.mixed.end(), at, mixed_before))
      continue;  // a bin whose counts were exact (read again when the ranges were too many)
    add_count(g.series[it->second], at.start_ms, text(row, 4), text(row, 5), integer(row, 6));
  }
  for (auto& s : g.series) sort_counts(s);
}

std::string series_with_verdicts_sql(const timeline::TimelineQuery& q, const std::vector<std::string>& verdicts,
                                     int64_t from, int64_t until) {
  // Day numbers as the view computes them (intDiv truncates like C++'s /): monotonic, so every base bin in
  // [from, until) falls in [day(from), day(until - 1)].
  std::string sql = std::string("SELECT DISTINCT cc, asn, target FROM ") + kVerdictDays + " WHERE verdict IN (" +
                    in_list(verdicts) + ") AND day_number >= " + std::to_string(from / kDayMs) +
                    " AND day_number <= " + std::to_string((until - 1) / kDayMs);
  if (!q.cc.empty()) sql += " AND cc = " + sql_string(q.cc);
  if (q.asn) sql += " AND asn = " + std::to_string(*q.asn);
  if (!q.target.empty()) sql += " AND target = " + sql_string(q.target);
  if (!q.source.empty()) sql += " AND source = " + sql_string(q.source);
  return sql;
}

std::set<timeline::SeriesKey> series_keys_from_rows(const Rows& rows) {
  std::set<timeline::SeriesKey> keys;
  for (const auto& row : rows) keys.insert({text(row, 0), asn_of(row, 1), text(row, 2)});
  return keys;
}

std::string vantage_samples_sql(const SeriesKey& key, int64_t from, int64_t until,
                                const std::optional<std::string>& verdict, const std::string& source) {
  return "SELECT key_id, s.3 AS vantage, sum(s.4) FROM (SELECT bin, key_id, argMaxMerge(latest) AS s FROM " +
         std::string(kProbeBins) + series_where(key, from, until, source) + " GROUP BY bin, key_id)" +
         (verdict ? " WHERE s.1 = " + sql_string(*verdict) : std::string()) + " GROUP BY key_id, vantage";
}

std::vector<timeline::VantageSample> vantage_samples_from_rows(const Rows& rows) {
  std::vector<timeline::VantageSample> out;
  for (const auto& row : rows) {
    const int64_t decisive = integer(row, 2);
    if (decisive < 0 || decisive > INT32_MAX) throw std::runtime_error("ClickHouse reply: decisive out of range");
    out.push_back({text(row, 0), text(row, 1), static_cast<int>(decisive)});
  }
  return out;
}

std::string vantage_group_sql(const std::vector<timeline::TimelineSource::VantageRequest>& windows,
                              const std::string& source) {
  std::vector<KeyRange> ranges;
  std::vector<std::string> verdicts;
  for (const auto& w : windows) {
    ranges.push_back({w.key, w.from_ms, w.until_ms});
    if (w.verdict && std::find(verdicts.begin(), verdicts.end(), *w.verdict) == verdicts.end())
      verdicts.push_back(*w.verdict);
  }
  return "SELECT cc, asn, target, bin, key_id, s.1 AS verdict, s.3, s.4 FROM (SELECT cc, asn, target, bin, key_id,"
         " argMaxMerge(latest) AS s FROM " + std::string(kProbeBins) + " WHERE " + key_ranges(ranges) +
         source_filter(source) + " GROUP BY cc, asn, target, bin, key_id) WHERE target = " +
         sql_string(timeline::kNetworkTarget) + " OR verdict IN (" + in_list(verdicts) + ")";
}

std::vector<std::vector<timeline::VantageSample>> vantage_group_from_rows(
    const std::vector<timeline::TimelineSource::VantageRequest>& requests, const Rows& rows) {
  // Per window, "<length of key_id>:<key_id><tag>" -> decisive: one string per sample, not a pair of them.
  std::vector<std::unordered_map<std::string, int64_t>> sums(requests.size());
  std::map<SeriesKey, std::vector<size_t>> by_key;  // rows are many, windows few
  for (size_t k = 0; k < requests.size(); ++k) by_key[requests[k].key].push_back(k);
  std::string sample;
  for (const auto& row : rows) {
    const int64_t bin = integer(row, 3), decisive = integer(row, 7);
    const std::string& verdict = text(row, 5);
    const std::string &key_id = text(row, 4), &tag = text(row, 6);
    if (decisive < 0 || decisive > 1) throw std::runtime_error("ClickHouse reply: decisive is not 0 or 1");
    auto of_key = by_key.find(key_of(row));
    if (of_key == by_key.end()) continue;
    for (size_t k : of_key->second) {
      const auto& r = requests[k];
      if (bin < r.from_ms || bin >= r.until_ms || (r.verdict && *r.verdict != verdict)) continue;
      sample.assign(std::to_string(key_id.size())).append(":").append(key_id).append(tag);
      sums[k][sample] += decisive;
    }
  }
  std::vector<std::vector<timeline::VantageSample>> out(requests.size());
  for (size_t k = 0; k < requests.size(); ++k)
    for (const auto& [probe_tag, decisive] : sums[k]) {
      const size_t colon = probe_tag.find(':'), length = std::stoul(probe_tag.substr(0, colon));
      out[k].push_back({probe_tag.substr(colon + 1, length), probe_tag.substr(colon + 1 + length),
                        static_cast<int>(std::min<int64_t>(decisive, INT32_MAX))});
    }
  return out;
}

std::string last_bin_sql(const std::string& source) {
  return std::string("SELECT maxMerge(last_bin) FROM ") + kSeries +
         (source.empty() ? std::string() : " WHERE source = " + sql_string(source));
}

}  // namespace kuzet::collector::analytics
