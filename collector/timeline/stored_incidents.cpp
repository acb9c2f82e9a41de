#include "collector/timeline/stored_incidents.hpp"

#include <algorithm>
#include <cstdint>
#include <set>
#include <cstdio>
#include <stdexcept>

#include "core/vocabulary/verdict.hpp"

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
  if (series.key.target == kNetworkTarget && !series.bins.empty()) {
    stored.bins_from_ms = series.bins.front().start_ms;
    stored.bins_until_ms = series.bins.back().start_ms + series.bin_ms;
    const std::string offline(core::verdict::offline);
    for (const auto& b : series.bins)
      if (b.probes > 0) stored.bins.push_back({b.start_ms, b.probes, b.probes_with(offline)});
  }
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

namespace {

// Whether `stored` is the search of `info`'s network series with these options up to this data end: its bins
// then hold the counts any part of it reads now.
bool network_current(const StoredSeries& stored, const SeriesInfo& info, const TimelineSource::SeriesRequest& request,
                     int64_t data_end_ms, const std::string& fingerprint) {
  return stored.key.target == kNetworkTarget && stored.key == info.key && stored.key == request.key &&
         stored.first_bin_ms == info.first_bin_ms && stored.data_end_ms == data_end_ms && stored.options == fingerprint;
}

}  // namespace

Series network_series_from_bins(const StoredSeries& stored, const std::string& category, int64_t from_ms,
                                int64_t until_ms, int64_t base_bin_ms) {
  Series s;
  s.key = stored.key;
  s.category = category;
  s.bin_ms = base_bin_ms;
  for (int64_t t = from_ms; t < until_ms; t += base_bin_ms) s.bins.push_back(Bin{t, 0, {}});
  for (const auto& b : stored.bins) {
    if (b.start_ms < from_ms || b.start_ms >= until_ms) continue;
    Bin& bin = s.bins[static_cast<size_t>((b.start_ms - from_ms) / base_bin_ms)];
    bin.probes = b.probes;
    // As a read orders them: by verdict ("offline" before "online").
    if (b.offline > 0) bin.counts.push_back({std::string(core::verdict::offline), "", b.offline});
    if (b.probes > b.offline) bin.counts.push_back({std::string(kOnline), "", b.probes - b.offline});
  }
  return s;
}

TimelineSource::VantageRequest shutdown_window(const Incident& shutdown) {
  return {shutdown.key, shutdown.start_ms - kShutdownVantageWindowMs, shutdown.start_ms, std::nullopt};
}

std::optional<BinsAnswer> shutdowns_from_stored_bins(const StoredSeries& stored, const SeriesInfo& info,
                                                     const TimelineSource::SeriesRequest& request, int64_t from_ms,
                                                     int64_t until_ms, int64_t data_end_ms, int64_t base_bin_ms,
                                                     const IncidentOptions& options) {
  if (!network_current(stored, info, request, data_end_ms, options_fingerprint(options))) return std::nullopt;
  const int64_t part_from = bin_floor(request.from_ms, base_bin_ms), part_end = bin_ceil(request.until_ms, base_bin_ms);
  if (part_end <= part_from || part_from < stored.bins_from_ms || part_end > stored.bins_until_ms) return std::nullopt;
  BinsAnswer out;
  const Series part = network_series_from_bins(stored, info.category, part_from, part_end, base_bin_ms);
  for (auto& inc : shutdown_incidents(part, options)) {
    if (inc.end_ms.value_or(INT64_MAX) <= from_ms || inc.start_ms >= until_ms) continue;  // as the search drops them
    const auto run = std::find_if(stored.runs.begin(), stored.runs.end(),
                                  [&](const StoredRun& r) { return r.start_ms == inc.start_ms; });
    if (run != stored.runs.end()) apply_independence(inc, run->vantage_points, run->decisive, options);
    else out.unassessed.push_back(out.incidents.size());
    out.incidents.push_back(std::move(inc));
  }
  return out;
}

StoredAnswers answer_from_stored(const std::vector<StoredSeries*>& stored, const std::vector<SeriesInfo>& infos,
                                 const std::vector<TimelineSource::SeriesRequest>& requests, int64_t from_ms,
                                 int64_t until_ms, int64_t data_end_ms, int64_t base_bin_ms,
                                 const IncidentOptions& options, const StoredAnswerReads& reads) {
  StoredAnswers out;
  out.incidents.resize(requests.size());
  const std::string fingerprint = options_fingerprint(options);
  std::vector<NetworkPart> parts;
  std::vector<size_t> part_request;
  for (size_t k = 0; k < requests.size(); ++k) {
    if (!stored[k]) continue;
    out.incidents[k] = incidents_from_stored(*stored[k], infos[k], requests[k], from_ms, until_ms, data_end_ms,
                                             base_bin_ms, options);
    if (out.incidents[k]) {
      ++out.from_runs;
    } else if (network_current(*stored[k], infos[k], requests[k], data_end_ms, fingerprint)) {
      parts.push_back({stored[k], bin_floor(requests[k].from_ms, base_bin_ms), bin_ceil(requests[k].until_ms, base_bin_ms)});
      part_request.push_back(k);
    }
  }
  if (!parts.empty()) {
    reads.read_bins(parts);
    std::vector<std::optional<BinsAnswer>> answers;
    std::vector<TimelineSource::VantageRequest> windows;
    for (size_t i = 0; i < parts.size(); ++i) {
      const size_t k = part_request[i];
      answers.push_back(shutdowns_from_stored_bins(*parts[i].series, infos[k], requests[k], from_ms, until_ms,
                                                   data_end_ms, base_bin_ms, options));
      if (answers.back())
        for (size_t u : answers.back()->unassessed) windows.push_back(shutdown_window(answers.back()->incidents[u]));
    }
    const auto samples = windows.empty() ? std::vector<std::vector<VantageSample>>{} : reads.read_windows(windows);
    if (samples.size() != windows.size()) throw std::logic_error("not one sample list per shutdown window");
    size_t at = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (!answers[i]) continue;
      for (size_t u : answers[i]->unassessed) assess_independence(answers[i]->incidents[u], samples[at++], options);
      out.incidents[part_request[i]] = std::move(answers[i]->incidents);
      ++out.from_bins;
    }
  }
  out.searched = requests.size() - out.from_runs - out.from_bins;
  return out;
}

}  // namespace kuzet::timeline
