#include "collector/timeline/source.hpp"

#include <algorithm>
#include <utility>

namespace kuzet::timeline {

std::vector<Series> TimelineSource::series_many(const std::vector<SeriesRequest>& requests, int64_t bin_ms,
                                                const std::string& source) {
  std::vector<Series> out;
  out.reserve(requests.size());
  for (const auto& r : requests) out.push_back(series(r.key, r.from_ms, r.until_ms, bin_ms, source));
  return out;
}

std::vector<std::vector<VantageSample>> TimelineSource::vantage_samples_many(const std::vector<VantageRequest>& requests,
                                                                          const std::string& source) {
  std::vector<std::vector<VantageSample>> out;
  out.reserve(requests.size());
  for (const auto& r : requests) out.push_back(vantage_samples(r.key, r.from_ms, r.until_ms, r.verdict, source));
  return out;
}

std::optional<std::set<SeriesKey>> TimelineSource::series_with_verdicts(const TimelineQuery&,
                                                                      const std::vector<std::string>&, int64_t,
                                                                      int64_t) {
  return std::nullopt;
}

std::vector<std::optional<std::vector<Incident>>> TimelineSource::stored_incidents(const TimelineQuery&,
                                                                                 const IncidentOptions&,
                                                                                 const std::vector<SeriesInfo>&,
                                                                                 const std::vector<SeriesRequest>&,
                                                                                 int64_t) {
  return {};
}

std::vector<Incident> TimelineSource::incidents(const TimelineQuery& query, const IncidentOptions& options) {
  std::vector<Incident> out;
  consistent_reads([&] {
    const int64_t base = base_bin_ms();
    // Network series end where the collector's data ends: bins nobody could have reported yet are not silence.
    const int64_t data_end = data_end_ms(query.source);
    std::vector<SeriesInfo> infos;
    std::vector<SeriesRequest> requests;
    for (auto& info : series_list(query)) {
      // Only the part of the series that has data (plus the baseline lookback) is read.
      const int64_t from = std::max(query.from_ms, info.first_bin_ms) - options.baseline_window_ms;
      const int64_t until = info.key.target == kNetworkTarget ? std::min(query.until_ms, data_end) : query.until_ms;
      if (query.until_ms <= info.first_bin_ms || until <= from) continue;
      requests.push_back({info.key, std::max(from, info.first_bin_ms), until});
      infos.push_back(std::move(info));
    }
    // Series whose incidents were found when their data arrived are answered from those; the rest searched.
    // Keeps the requests (with their infos) that keep(k) is true of, in order.
    auto keep_only = [&](auto keep) {
      size_t kept = 0;
      for (size_t k = 0; k < requests.size(); ++k) {
        if (!keep(k)) continue;
        if (kept != k) {
          requests[kept] = std::move(requests[k]);
          infos[kept] = std::move(infos[k]);
        }
        ++kept;
      }
      requests.resize(kept);
      infos.resize(kept);
    };
    if (!requests.empty()) {
      auto stored = stored_incidents(query, options, infos, requests, data_end);
      if (!stored.empty())
        keep_only([&](size_t k) {
          if (!stored[k]) return true;
          for (auto& inc : *stored[k]) out.push_back(std::move(inc));
          return false;
        });
    }
    int64_t targets_from = INT64_MAX, targets_until = INT64_MIN;
    for (const auto& r : requests) {
      if (r.key.target == kNetworkTarget) continue;
      targets_from = std::min(targets_from, bin_floor(r.from_ms, base));
      targets_until = std::max(targets_until, bin_ceil(r.until_ms, base));
    }
    // Target series without any measurement of an incident's kind are not read (network series always are).
    if (targets_until > targets_from) {
      const std::vector<std::string> kinds(kTargetIncidentKinds.begin(), kTargetIncidentKinds.end());
      if (const auto with = series_with_verdicts(query, kinds, targets_from, targets_until))
        keep_only([&](size_t k) { return requests[k].key.target == kNetworkTarget || with->count(requests[k].key); });
    }
    // A few dozen series at a time: what a source reads together, without holding every series at once.
    constexpr size_t kSeriesPerRead = 64;
    for (size_t at = 0; at < requests.size(); at += kSeriesPerRead) {
      const std::vector<SeriesRequest> part(requests.begin() + static_cast<std::ptrdiff_t>(at),
                                            requests.begin() + static_cast<std::ptrdiff_t>(std::min(requests.size(), at + kSeriesPerRead)));
      auto many = series_many(part, base, query.source);
      std::vector<Incident> found;
      std::vector<VantageRequest> windows;
      for (size_t k = 0; k < many.size(); ++k) {
        Series& s = many[k];
        const SeriesInfo& info = infos[at + k];
        s.category = info.category;
        const bool network = info.key.target == kNetworkTarget;
        const int64_t series_end = s.bins.empty() ? 0 : s.bins.back().start_ms + s.bin_ms;
        for (auto& inc : network ? shutdown_incidents(s, options) : target_incidents(s, options)) {
          // Those found in the lookback only are not asked about.
          if (inc.end_ms.value_or(INT64_MAX) <= query.from_ms || inc.start_ms >= query.until_ms) continue;
          // A target incident's probes in the state during it; a shutdown's, the network's probes in the day
          // before it began (the ones whose silence or offline reports make the drop).
          windows.push_back({inc.key, network ? inc.start_ms - kShutdownVantageWindowMs : inc.start_ms,
                             network ? inc.start_ms : inc.end_ms.value_or(series_end),
                             network ? std::nullopt : std::optional<std::string>(inc.kind)});
          found.push_back(std::move(inc));
        }
      }
      const auto samples = vantage_samples_many(windows, query.source);
      for (size_t k = 0; k < found.size(); ++k) {
        assess_independence(found[k], samples[k], options);
        out.push_back(std::move(found[k]));
      }
    }
  });
  std::sort(out.begin(), out.end(), [](const Incident& a, const Incident& b) {
    return std::tie(a.start_ms, a.key, a.kind) < std::tie(b.start_ms, b.key, b.kind);
  });
  return out;
}

}  // namespace kuzet::timeline
