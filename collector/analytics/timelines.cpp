#include "collector/analytics/timelines.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "collector/analytics/queries.hpp"

namespace kuzet::collector::analytics {

ClickHouseTimelines::ClickHouseTimelines(const ClickHouseUrl& url, int64_t base_bin_ms, const ClientLimits& limits)
    : base_bin_ms_(base_bin_ms), client_(url.query, url.database, limits) {}

void ClickHouseTimelines::check_bin(int64_t bin_ms) const {
  if (bin_ms <= 0 || bin_ms % base_bin_ms_ != 0)
    throw std::invalid_argument("bin must be a multiple of " + std::to_string(base_bin_ms_ / timeline::kMinuteMs) +
                                " minutes");
}

std::vector<timeline::SeriesInfo> ClickHouseTimelines::series_list(const timeline::TimelineQuery& query) {
  return series_list_from_rows(client_.select(series_list_sql(query)), query);
}

std::vector<timeline::Series> ClickHouseTimelines::read_series(const std::vector<SeriesRequest>& requests,
                                                                int64_t bin_ms, const std::string& source) {
  std::vector<timeline::SeriesKey> keys;
  int64_t first = INT64_MAX, end = INT64_MIN;
  for (const auto& r : requests) {
    keys.push_back(r.key);
    first = std::min(first, timeline::bin_floor(r.from_ms, bin_ms));
    end = std::max(end, timeline::bin_ceil(r.until_ms, bin_ms));
  }
  if (requests.empty() || end <= first) return series_counts_from_rows(requests, bin_ms, {}).series;
  GroupCounts group =
      series_counts_from_rows(requests, bin_ms, client_.select(bin_probes_sql(keys, first, end, bin_ms, source)));
  if (!group.mixed.empty())
    add_mixed_counts(group, client_.select(mixed_bins_sql(group.mixed, first, end, bin_ms, source)));
  return std::move(group.series);
}

timeline::Series ClickHouseTimelines::series(const timeline::SeriesKey& key, int64_t from_ms, int64_t until_ms,
                                             int64_t bin_ms, const std::string& source) {
  check_bin(bin_ms);
  return std::move(read_series({{key, from_ms, until_ms}}, bin_ms, source).front());
}

std::vector<timeline::Series> ClickHouseTimelines::series_many(const std::vector<SeriesRequest>& requests,
                                                               int64_t bin_ms, const std::string& source) {
  check_bin(bin_ms);
  std::vector<timeline::Series> out(requests.size());
  // Runs of requests of distinct series: one read per run.
  for (size_t begin = 0; begin < requests.size();) {
    std::set<timeline::SeriesKey> keys;
    size_t end = begin;
    while (end < requests.size() && keys.insert(requests[end].key).second) ++end;
    const std::vector<SeriesRequest> run(requests.begin() + static_cast<std::ptrdiff_t>(begin),
                                         requests.begin() + static_cast<std::ptrdiff_t>(end));
    auto series = read_series(run, bin_ms, source);
    for (size_t k = 0; k < series.size(); ++k) out[begin + k] = std::move(series[k]);
    begin = end;
  }
  return out;
}

std::optional<std::set<timeline::SeriesKey>> ClickHouseTimelines::series_with_verdicts(
    const timeline::TimelineQuery& query, const std::vector<std::string>& verdicts, int64_t from_ms, int64_t until_ms) {
  if (until_ms <= from_ms) return std::set<timeline::SeriesKey>{};
  return series_keys_from_rows(client_.select(series_with_verdicts_sql(query, verdicts, from_ms, until_ms)));
}

std::vector<timeline::VantageSample> ClickHouseTimelines::vantage_samples(const timeline::SeriesKey& key,
                                                                          int64_t from_ms, int64_t until_ms,
                                                                          const std::optional<std::string>& verdict,
                                                                          const std::string& source) {
  return vantage_samples_from_rows(client_.select(vantage_samples_sql(key, from_ms, until_ms, verdict, source)));
}

std::vector<std::vector<timeline::VantageSample>> ClickHouseTimelines::vantage_samples_many(
    const std::vector<VantageRequest>& requests, const std::string& source) {
  // One read: the requests' series, verdicts and the union of their windows.
  std::vector<timeline::SeriesKey> keys;
  std::vector<std::string> verdicts;
  std::set<timeline::SeriesKey> seen;
  int64_t from = INT64_MAX, until = INT64_MIN;
  for (const auto& r : requests) {
    if (seen.insert(r.key).second) keys.push_back(r.key);
    if (r.verdict && std::find(verdicts.begin(), verdicts.end(), *r.verdict) == verdicts.end())
      verdicts.push_back(*r.verdict);
    from = std::min(from, r.from_ms);
    until = std::max(until, r.until_ms);
  }
  Rows rows;
  if (until > from) rows = client_.select(vantage_group_sql(keys, from, until, verdicts, source));
  return vantage_group_from_rows(requests, rows);
}

int64_t ClickHouseTimelines::data_end_ms(const std::string& source) {
  const auto rows = client_.select(last_bin_sql(source));
  if (rows.size() != 1 || !rows[0][0].is_number_integer())
    throw std::runtime_error("ClickHouse reply: no last bin");
  return rows[0][0].get<int64_t>() + base_bin_ms_;
}

}  // namespace kuzet::collector::analytics
