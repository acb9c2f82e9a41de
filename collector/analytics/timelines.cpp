#include "collector/analytics/timelines.hpp"

#include <algorithm>
#include <map>
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

timeline::Series ClickHouseTimelines::series(const timeline::SeriesKey& key, int64_t from_ms, int64_t until_ms,
                                             int64_t bin_ms, const std::string& source) {
  check_bin(bin_ms);
  const int64_t first = timeline::bin_floor(from_ms, bin_ms);
  const int64_t end = timeline::bin_ceil(until_ms, bin_ms);
  if (end <= first) return series_from_rows(key, first, end, bin_ms, {});
  return series_from_rows(key, first, end, bin_ms, client_.select(series_sql(key, first, end, bin_ms, source)));
}

std::vector<timeline::Series> ClickHouseTimelines::series_many(const std::vector<SeriesRequest>& requests,
                                                               int64_t bin_ms, const std::string& source) {
  check_bin(bin_ms);
  std::vector<timeline::Series> out(requests.size());
  // Runs of requests of one network, each target once: one query per run.
  for (size_t begin = 0; begin < requests.size();) {
    const auto& first = requests[begin].key;
    std::vector<std::string> targets;
    int64_t from = INT64_MAX, until = INT64_MIN;
    size_t end = begin;
    for (; end < requests.size(); ++end) {
      const auto& r = requests[end];
      if (r.key.cc != first.cc || r.key.asn != first.asn ||
          std::find(targets.begin(), targets.end(), r.key.target) != targets.end())
        break;
      targets.push_back(r.key.target);
      from = std::min(from, timeline::bin_floor(r.from_ms, bin_ms));
      until = std::max(until, timeline::bin_ceil(r.until_ms, bin_ms));
    }
    const std::vector<SeriesRequest> run(requests.begin() + static_cast<std::ptrdiff_t>(begin),
                                         requests.begin() + static_cast<std::ptrdiff_t>(end));
    Rows rows;
    if (until > from) rows = client_.select(series_group_sql(first.cc, first.asn, targets, from, until, bin_ms, source));
    auto series = series_group_from_rows(run, bin_ms, rows);
    for (size_t k = 0; k < series.size(); ++k) out[begin + k] = std::move(series[k]);
    begin = end;
  }
  return out;
}

std::vector<timeline::VantageSample> ClickHouseTimelines::vantage_samples(const timeline::SeriesKey& key,
                                                                          int64_t from_ms, int64_t until_ms,
                                                                          const std::optional<std::string>& verdict,
                                                                          const std::string& source) {
  return vantage_samples_from_rows(client_.select(vantage_samples_sql(key, from_ms, until_ms, verdict, source)));
}

std::vector<std::vector<timeline::VantageSample>> ClickHouseTimelines::vantage_samples_many(
    const std::vector<VantageRequest>& requests, const std::string& source) {
  std::vector<std::vector<timeline::VantageSample>> out(requests.size());
  // Per network: its requests' targets, verdicts and the union of their windows.
  std::map<std::pair<std::string, uint32_t>, std::vector<size_t>> by_network;
  for (size_t k = 0; k < requests.size(); ++k) by_network[{requests[k].key.cc, requests[k].key.asn}].push_back(k);
  for (const auto& [network, indices] : by_network) {
    std::vector<VantageRequest> group;
    std::vector<std::string> targets, verdicts;
    int64_t from = INT64_MAX, until = INT64_MIN;
    for (size_t k : indices) {
      const auto& r = requests[k];
      group.push_back(r);
      if (std::find(targets.begin(), targets.end(), r.key.target) == targets.end()) targets.push_back(r.key.target);
      if (r.verdict && std::find(verdicts.begin(), verdicts.end(), *r.verdict) == verdicts.end())
        verdicts.push_back(*r.verdict);
      from = std::min(from, r.from_ms);
      until = std::max(until, r.until_ms);
    }
    Rows rows;
    if (until > from)
      rows = client_.select(vantage_group_sql(network.first, network.second, targets, from, until, verdicts, source));
    auto samples = vantage_group_from_rows(group, rows);
    for (size_t i = 0; i < indices.size(); ++i) out[indices[i]] = std::move(samples[i]);
  }
  return out;
}

int64_t ClickHouseTimelines::data_end_ms(const std::string& source) {
  const auto rows = client_.select(last_bin_sql(source));
  if (rows.size() != 1 || !rows[0][0].is_number_integer())
    throw std::runtime_error("ClickHouse reply: no last bin");
  return rows[0][0].get<int64_t>() + base_bin_ms_;
}

}  // namespace kuzet::collector::analytics
