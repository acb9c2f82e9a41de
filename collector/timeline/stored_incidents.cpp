#include "collector/timeline/stored_incidents.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <cstdio>
#include <stdexcept>

namespace kuzet::timeline {

std::string options_fingerprint(const IncidentOptions& o) {
  char text[512];
  std::snprintf(text, sizeof text, "share=%.17g close=%d evidence=%d stale=%lld drop=%.17g baseline=%lld min=%lld probes=%d vantage=%d",
                o.state_share, o.close_after_bins, o.min_evidence, static_cast<long long>(o.stale_after_ms),
                o.drop_fraction, static_cast<long long>(o.baseline_window_ms), static_cast<long long>(o.min_baseline_ms),
                o.min_baseline_probes, o.min_vantage_points);
  return text;
}

StoredSeries store_series(const Series& series, int64_t data_end_ms, const IncidentOptions& options) {
  StoredSeries stored;
  stored.key = series.key;
  stored.options = options_fingerprint(options);
  stored.first_bin_ms = series.bins.empty() ? 0 : series.bins.front().start_ms;
  stored.data_end_ms = data_end_ms;
  std::vector<RunExtent> extents;
  const auto found = series.key.target == kNetworkTarget ? shutdown_incidents(series, options, &extents)
                                                         : target_incidents(series, options, &extents);
  for (size_t i = 0; i < found.size(); ++i) {
    const Incident& inc = found[i];
    StoredRun run;
    run.kind = inc.kind;
    run.start_ms = inc.start_ms;
    run.extent = extents[i];
    run.confidence = inc.confidence;
    run.probes = inc.probes;
    run.bins = inc.bins;
    run.severity = inc.severity;
    run.methods = inc.methods;
    stored.runs.push_back(std::move(run));
  }
  return stored;
}

std::vector<TimelineSource::VantageRequest> stored_run_windows(const StoredSeries& stored) {
  std::vector<TimelineSource::VantageRequest> out;
  for (const auto& run : stored.runs) {
    if (stored.key.target == kNetworkTarget) {
      out.push_back({stored.key, run.start_ms - kShutdownVantageWindowMs, run.start_ms, std::nullopt});
      continue;
    }
    out.push_back({stored.key, run.start_ms, run.extent.last_end_ms, run.kind});
    if (!run.extent.closed_at_ms) out.push_back({stored.key, run.start_ms, stored.data_end_ms, run.kind});
  }
  return out;
}

void complete_stored_runs(StoredSeries& stored, const std::vector<std::vector<VantageSample>>& samples) {
  size_t at = 0;
  auto next = [&](int& points, int& decisive) {
    if (at >= samples.size()) throw std::logic_error("fewer sample lists than stored run windows");
    const auto& window = samples[at++];
    points = count_vantage_points(window);
    decisive = 0;
    for (const auto& s : window) decisive += s.decisive;
  };
  for (auto& run : stored.runs) {
    next(run.vantage_points, run.decisive);
    if (stored.key.target != kNetworkTarget && !run.extent.closed_at_ms) {
      next(run.open_vantage_points, run.open_decisive);
    } else {
      run.open_vantage_points = run.vantage_points;
      run.open_decisive = run.decisive;
    }
  }
}

size_t store_incidents(TimelineSource& reads, const std::vector<SeriesInfo>& infos, const std::string& source,
                       int64_t data_end_ms, const IncidentOptions& options,
                       const std::function<void(std::vector<StoredSeries>& part)>& store) {
  size_t runs = 0;
  int64_t first = INT64_MAX;
  for (const auto& info : infos) first = std::min(first, info.first_bin_ms);
  std::optional<std::set<SeriesKey>> with;
  if (first < data_end_ms) {
    TimelineQuery all;
    all.source = source;
    with = reads.series_with_verdicts(all, std::vector<std::string>(kTargetIncidentKinds.begin(), kTargetIncidentKinds.end()),
                                      first, data_end_ms);
  }
  // As the search reads them: a few dozen series at a time.
  constexpr size_t kSeriesPerRead = 64;
  std::vector<StoredSeries> part;
  std::vector<TimelineSource::SeriesRequest> requests;
  auto search = [&] {
    if (!requests.empty()) {
      const auto series = reads.series_many(requests, reads.base_bin_ms(), source);
      std::vector<StoredSeries> found;
      std::vector<TimelineSource::VantageRequest> windows;
      for (const auto& s : series) {
        found.push_back(store_series(s, data_end_ms, options));
        for (auto& w : stored_run_windows(found.back())) windows.push_back(std::move(w));
      }
      const auto samples = reads.vantage_samples_many(windows, source);
      size_t at = 0;
      for (auto& f : found) {
        const size_t n = stored_run_windows(f).size();
        complete_stored_runs(f, std::vector<std::vector<VantageSample>>(samples.begin() + static_cast<std::ptrdiff_t>(at),
                                                                        samples.begin() + static_cast<std::ptrdiff_t>(at + n)));
        at += n;
        runs += f.runs.size();
        part.push_back(std::move(f));
      }
      requests.clear();
    }
    if (!part.empty()) store(part);
    part.clear();
  };
  for (const auto& info : infos) {
    if (info.first_bin_ms >= data_end_ms || (info.key.target != kNetworkTarget && with && !with->count(info.key))) {
      StoredSeries none;
      none.key = info.key;
      none.options = options_fingerprint(options);
      none.first_bin_ms = info.first_bin_ms;
      none.data_end_ms = data_end_ms;
      part.push_back(std::move(none));
    } else {
      requests.push_back({info.key, info.first_bin_ms, data_end_ms});
    }
    if (requests.size() == kSeriesPerRead || part.size() >= 16 * kSeriesPerRead) search();
  }
  search();
  return runs;
}

std::optional<std::vector<Incident>> incidents_from_stored(const StoredSeries& stored, const SeriesInfo& info,
                                                           const TimelineSource::SeriesRequest& request,
                                                           int64_t from_ms, int64_t until_ms, int64_t data_end_ms,
                                                           int64_t base_bin_ms, const IncidentOptions& options) {
  if (stored.key != info.key || stored.key != request.key || stored.first_bin_ms != info.first_bin_ms ||
      stored.options != options_fingerprint(options))
    return std::nullopt;
  // The bins the search over the request reads: [part_from, part_end).
  const int64_t part_from = bin_floor(request.from_ms, base_bin_ms), part_end = bin_ceil(request.until_ms, base_bin_ms);
  if (stored.key.target == kNetworkTarget && (part_from != stored.first_bin_ms || stored.data_end_ms != data_end_ms))
    return std::nullopt;
  std::vector<Incident> out;
  for (const auto& run : stored.runs) {
    const RunExtent& x = run.extent;
    const bool closed_in_part = x.closed_at_ms && *x.closed_at_ms < part_end;
    if (run.start_ms < part_from) {
      if (x.closed_at_ms && *x.closed_at_ms < part_from) continue;  // over before the part: both start afresh
      // Open at the part's start: the part's search sees its tail only. Fine when that tail ends before the
      // window does (the part's search drops it as well), otherwise the part is searched.
      if (closed_in_part && x.last_end_ms <= from_ms) continue;
      return std::nullopt;
    }
    if (run.start_ms >= part_end) continue;
    // Still open at the part's end: whole only when the part reaches the stored data's end.
    if (!closed_in_part && (x.closed_at_ms || part_end < stored.data_end_ms)) return std::nullopt;
    Incident inc;
    inc.kind = run.kind;
    inc.key = info.key;
    inc.category = info.category;
    inc.start_ms = run.start_ms;
    inc.bins = run.bins;
    inc.probes = run.probes;
    inc.severity = run.severity;
    inc.methods = run.methods;
    inc.confidence = run.confidence;
    inc.id = incident_id(inc.key, inc.kind, inc.start_ms);
    // As make_incident: a run open at the part's end is ongoing unless its last bin in the state is stale there.
    const bool ongoing = !closed_in_part && part_end - x.last_end_ms <= options.stale_after_ms;
    if (!ongoing) inc.end_ms = x.last_end_ms;
    if (ongoing) apply_independence(inc, run.open_vantage_points, run.open_decisive, options);
    else apply_independence(inc, run.vantage_points, run.decisive, options);
    if (inc.end_ms.value_or(INT64_MAX) <= from_ms || inc.start_ms >= until_ms) continue;
    out.push_back(std::move(inc));
  }
  return out;
}

}  // namespace kuzet::timeline
