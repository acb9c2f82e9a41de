#include "collector/analytics/queries.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>

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

// Adds a reply row's count (cells at `at`: bin, verdict, method, probes) to its bin of s; false when the bin
// is outside s's range (the caller decides whether that is an error).
bool add_count(timeline::Series& s, const nlohmann::json& row, size_t at) {
  const int64_t start = integer(row, at), probes = integer(row, at + 3);
  if (probes <= 0 || probes > INT32_MAX) throw std::runtime_error("ClickHouse reply: a probe count out of range");
  if (s.bins.empty()) return false;
  const int64_t first = s.bins.front().start_ms, end = s.bins.back().start_ms + s.bin_ms;
  if (start < first || start >= end) return false;
  if ((start - first) % s.bin_ms != 0) throw std::runtime_error("ClickHouse reply: a bin off the series' grid");
  timeline::Bin& bin = s.bins[static_cast<size_t>((start - first) / s.bin_ms)];
  if (bin.probes > INT32_MAX - probes) throw std::runtime_error("ClickHouse reply: too many probes in a bin");
  bin.counts.push_back({text(row, at + 1), text(row, at + 2), static_cast<int>(probes)});
  bin.probes += static_cast<int>(probes);
  return true;
}

void sort_counts(timeline::Series& s) {
  for (auto& bin : s.bins)
    std::sort(bin.counts.begin(), bin.counts.end(), [](const timeline::VerdictCount& a, const timeline::VerdictCount& b) {
      return std::tie(a.verdict, a.method) < std::tie(b.verdict, b.method);
    });
}

std::string bins_of_probes_sql(const std::string& columns, const std::string& where, int64_t bin_ms) {
  const std::string b = std::to_string(bin_ms);
  // Each probe's latest per base bin (argMaxMerge of the aggregate), merged into its latest per query bin,
  // then counted per state.
  return "SELECT " + columns + "b, s.1 AS verdict, s.2 AS method, count() FROM (SELECT " + columns + "intDiv(bin, " +
         b + ") * " + b + " AS b, key_id, argMaxMerge(latest) AS s FROM " + kProbeBins + where + " GROUP BY " +
         columns + "b, key_id) GROUP BY " + columns + "b, verdict, method";
}

}  // namespace

std::string series_sql(const SeriesKey& key, int64_t first, int64_t end, int64_t bin_ms, const std::string& source) {
  return bins_of_probes_sql("", series_where(key, first, end, source), bin_ms);
}

timeline::Series series_from_rows(const SeriesKey& key, int64_t first, int64_t end, int64_t bin_ms, const Rows& rows) {
  timeline::Series s = empty_series(key, first, end, bin_ms);
  for (const auto& row : rows)
    if (!add_count(s, row, 0)) throw std::runtime_error("ClickHouse reply: a bin outside the series asked for");
  sort_counts(s);
  return s;
}

std::string series_group_sql(const std::string& cc, uint32_t asn, const std::vector<std::string>& targets,
                             int64_t first, int64_t end, int64_t bin_ms, const std::string& source) {
  std::string in;
  for (const auto& t : targets) in += (in.empty() ? "" : ", ") + sql_string(t);
  std::string where = " WHERE cc = " + sql_string(cc) + " AND asn = " + std::to_string(asn) + " AND target IN (" +
                      in + ") AND bin >= " + std::to_string(first) + " AND bin < " + std::to_string(end);
  if (!source.empty()) where += " AND source = " + sql_string(source);
  return bins_of_probes_sql("target, ", where, bin_ms);
}

std::vector<timeline::Series> series_group_from_rows(const std::vector<timeline::TimelineSource::SeriesRequest>& requests,
                                                     int64_t bin_ms, const Rows& rows) {
  std::vector<timeline::Series> out;
  std::map<std::string, size_t> by_target;
  for (const auto& r : requests) {
    by_target.emplace(r.key.target, out.size());
    out.push_back(empty_series(r.key, timeline::bin_floor(r.from_ms, bin_ms), timeline::bin_ceil(r.until_ms, bin_ms), bin_ms));
  }
  for (const auto& row : rows) {
    auto it = by_target.find(text(row, 0));
    if (it == by_target.end()) throw std::runtime_error("ClickHouse reply: a series not asked for");
    add_count(out[it->second], row, 1);  // the union's bins outside this series' own range are not its
  }
  for (auto& s : out) sort_counts(s);
  return out;
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

std::string vantage_group_sql(const std::string& cc, uint32_t asn, const std::vector<std::string>& targets,
                              int64_t first, int64_t end, const std::vector<std::string>& verdicts,
                              const std::string& source) {
  auto list = [](const std::vector<std::string>& values) {
    std::string in;
    for (const auto& v : values) in += (in.empty() ? "" : ", ") + sql_string(v);
    return in.empty() ? std::string("''") : in;
  };
  std::string where = " WHERE cc = " + sql_string(cc) + " AND asn = " + std::to_string(asn) + " AND target IN (" +
                      list(targets) + ") AND bin >= " + std::to_string(first) + " AND bin < " + std::to_string(end);
  if (!source.empty()) where += " AND source = " + sql_string(source);
  return "SELECT target, bin, key_id, s.1 AS verdict, s.3, s.4 FROM (SELECT target, bin, key_id, argMaxMerge(latest) AS s"
         " FROM " + std::string(kProbeBins) + where + " GROUP BY target, bin, key_id) WHERE target = " +
         sql_string(timeline::kNetworkTarget) + " OR verdict IN (" + list(verdicts) + ")";
}

std::vector<std::vector<timeline::VantageSample>> vantage_group_from_rows(
    const std::vector<timeline::TimelineSource::VantageRequest>& requests, const Rows& rows) {
  std::vector<std::map<std::pair<std::string, std::string>, int64_t>> sums(requests.size());
  for (const auto& row : rows) {
    const std::string& target = text(row, 0);
    const int64_t bin = integer(row, 1), decisive = integer(row, 5);
    const std::string& verdict = text(row, 3);
    if (decisive < 0 || decisive > 1) throw std::runtime_error("ClickHouse reply: decisive is not 0 or 1");
    for (size_t k = 0; k < requests.size(); ++k) {
      const auto& r = requests[k];
      if (r.key.target != target || bin < r.from_ms || bin >= r.until_ms || (r.verdict && *r.verdict != verdict))
        continue;
      sums[k][{text(row, 2), text(row, 4)}] += decisive;
    }
  }
  std::vector<std::vector<timeline::VantageSample>> out(requests.size());
  for (size_t k = 0; k < requests.size(); ++k)
    for (const auto& [probe_tag, decisive] : sums[k])
      out[k].push_back({probe_tag.first, probe_tag.second, static_cast<int>(std::min<int64_t>(decisive, INT32_MAX))});
  return out;
}

std::string last_bin_sql(const std::string& source) {
  return std::string("SELECT maxMerge(last_bin) FROM ") + kSeries +
         (source.empty() ? std::string() : " WHERE source = " + sql_string(source));
}

}  // namespace kuzet::collector::analytics
