#include "collector/analytics/timelines.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "collector/analytics/materializer.hpp"
#include "collector/analytics/queries.hpp"
#include "collector/analytics/schema.hpp"

namespace kuzet::collector::analytics {

ClickHouseTimelines::ClickHouseTimelines(const clickhouse::ClickHouseUrl& url, int64_t base_bin_ms,
                                         const clickhouse::ClientLimits& limits)
    : base_bin_ms_(base_bin_ms), client_(url.query, url.database, limits) {}

void ClickHouseTimelines::check_bin(int64_t bin_ms) const {
  if (bin_ms <= 0 || bin_ms % base_bin_ms_ != 0)
    throw std::invalid_argument("bin must be a multiple of " + std::to_string(base_bin_ms_ / timeline::kMinuteMs) +
                                " minutes");
}

std::vector<timeline::SeriesInfo> ClickHouseTimelines::series_list(const timeline::TimelineQuery& query) {
  return series_list_from_rows(client_.select(series_list_sql(query)), query);
}

std::optional<GroupCounts> ClickHouseTimelines::stored_days(const std::vector<SeriesRequest>& requests,
                                                             const std::vector<KeyRange>& ranges,
                                                             const std::string& source) {
  int64_t first = INT64_MAX, end = INT64_MIN;
  for (const auto& r : ranges)
    if (r.end > r.first) first = std::min(first, r.first), end = std::max(end, r.end);
  const auto counted = counted_days_from_rows(client_.select_tsv(day_marks_sql(first, end), kDayMarkColumns));
  if (counted.empty()) return std::nullopt;
  return counts_from_stored_days(requests, counted,
                                 client_.select_tsv(day_counts_sql(ranges, source), kDayCountColumns));
}

std::vector<timeline::Series> ClickHouseTimelines::read_series(const std::vector<SeriesRequest>& requests,
                                                                int64_t bin_ms, const std::string& source,
                                                                bool counts, SeriesPaths& paths) {
  std::vector<KeyRange> ranges;
  for (const auto& r : requests)
    ranges.push_back({r.key, timeline::bin_floor(r.from_ms, bin_ms), timeline::bin_ceil(r.until_ms, bin_ms)});
  bool any = false;
  for (const auto& r : ranges) any = any || r.end > r.first;
  if (!any) return series_counts_from_rows(requests, bin_ms, clickhouse::Table{}).series;
  std::optional<GroupCounts> days = bin_ms == kDayMs ? stored_days(requests, ranges, source) : std::nullopt;
  GroupCounts group = days      ? std::move(*days)
                      : counts ? series_counts_from_rows(requests, bin_ms,
                                                         client_.select_tsv(bin_probes_sql(ranges, bin_ms, source),
                                                                            kCountColumns))
                               : all_bins_mixed(requests, bin_ms);
  size_t bins = 0;
  for (const auto& s : group.series) bins += s.bins.size();
  paths.read += group.mixed.size();
  paths.from_days += days ? bins - group.mixed.size() : 0;
  if (!group.mixed.empty())
    add_mixed_counts(group, client_.select_tsv(mixed_bins_sql(group.mixed, bin_ms, source), kMixedColumns));
  return std::move(group.series);
}

timeline::Series ClickHouseTimelines::series(const timeline::SeriesKey& key, int64_t from_ms, int64_t until_ms,
                                             int64_t bin_ms, const std::string& source) {
  check_bin(bin_ms);
  // One series: its few thousand states in one query. The counts would add a second query for any mixed bin.
  SeriesPaths paths;
  auto series = std::move(read_series({{key, from_ms, until_ms}}, bin_ms, source, false, paths).front());
  set_series_paths(paths);
  return series;
}

std::vector<timeline::Series> ClickHouseTimelines::series_many(const std::vector<SeriesRequest>& requests,
                                                               int64_t bin_ms, const std::string& source) {
  check_bin(bin_ms);
  SeriesPaths paths;
  std::vector<timeline::Series> out(requests.size());
  // Runs of requests of distinct series: one read per run.
  for (size_t begin = 0; begin < requests.size();) {
    std::set<timeline::SeriesKey> keys;
    size_t end = begin;
    while (end < requests.size() && keys.insert(requests[end].key).second) ++end;
    const std::vector<SeriesRequest> run(requests.begin() + static_cast<std::ptrdiff_t>(begin),
                                         requests.begin() + static_cast<std::ptrdiff_t>(end));
    // At the base bin (the incident search's) a probe rarely changes state within a bin: counts, then the
    // few mixed bins. Coarser bins straight from the states (mixed there more often than not).
    auto series = read_series(run, bin_ms, source, bin_ms == base_bin_ms_, paths);
    for (size_t k = 0; k < series.size(); ++k) out[begin + k] = std::move(series[k]);
    begin = end;
  }
  set_series_paths(paths);
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
  // One read for the windows of every request (plain columns), a second only for probes with two states at
  // their latest time in a bin.
  VantageGroup group(requests);
  bool any = false;
  for (const auto& r : requests) any = any || r.until_ms > r.from_ms;
  if (!any) return group.samples();
  group.add_presence(client_.select_tsv(vantage_presence_sql(requests, source), kPresenceColumns));
  if (!group.mixed().empty()) group.add_states(client_.select_tsv(group.states_sql(base_bin_ms_, source), kStateColumns));
  return group.samples();
}

std::vector<std::optional<std::vector<timeline::Incident>>> ClickHouseTimelines::stored_incidents(
    const timeline::TimelineQuery& query, const timeline::IncidentOptions& options,
    const std::vector<timeline::SeriesInfo>& infos, const std::vector<SeriesRequest>& requests, int64_t data_end_ms) {
  set_paths({0, 0, requests.size()});
  StoredRead stored =
      stored_from_rows(client_.select_tsv(stored_incidents_sql(query, query.source), kStoredColumns));
  if (!stored.current) return {};
  std::vector<timeline::StoredSeries*> of_request(requests.size(), nullptr);
  for (size_t k = 0; k < requests.size(); ++k) {
    const auto it = stored.series.find(requests[k].key);
    if (it != stored.series.end()) of_request[k] = &it->second;
  }
  // Network series read from later than their first bin: their bins in one query, the windows of shutdowns no
  // stored run shares in one more.
  timeline::StoredAnswerReads reads;
  reads.read_bins = [&](const std::vector<timeline::NetworkPart>& parts) {
    add_network_bins(parts, client_.select_tsv(network_bins_sql(parts, query.source, base_bin_ms_), kNetworkBinColumns),
                     base_bin_ms_);
  };
  reads.read_windows = [&](const std::vector<VantageRequest>& windows) { return vantage_samples_many(windows, query.source); };
  auto answers = timeline::answer_from_stored(of_request, infos, requests, query.from_ms, query.until_ms, data_end_ms,
                                              base_bin_ms_, options, reads);
  set_paths({answers.from_runs, answers.from_bins, answers.searched});
  return std::move(answers.incidents);
}

int64_t ClickHouseTimelines::data_end_ms(const std::string& source) {
  const auto rows = client_.select(last_bin_sql(source));
  if (rows.size() != 1 || !rows[0][0].is_number_integer())
    throw std::runtime_error("ClickHouse reply: no last bin");
  return rows[0][0].get<int64_t>() + base_bin_ms_;
}

}  // namespace kuzet::collector::analytics
