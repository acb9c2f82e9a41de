#include "collector/timeline/timeline.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace kuzet::timeline {

Observation network_observation(const Observation& o) {
  return Observation{o.key_id, o.started_at_ms, o.uid, o.verdict == "offline" ? "offline" : "online", ""};
}

int Bin::probes_with(const std::string& verdict) const {
  int n = 0;
  for (const auto& c : counts)
    if (c.verdict == verdict) n += c.probes;
  return n;
}

int64_t bin_floor(int64_t t_ms, int64_t bin_ms) {
  int64_t q = t_ms / bin_ms;
  if (t_ms % bin_ms != 0 && t_ms < 0) --q;
  return q * bin_ms;
}

int64_t bin_ceil(int64_t t_ms, int64_t bin_ms) {
  int64_t f = bin_floor(t_ms, bin_ms);
  return f == t_ms ? f : f + bin_ms;
}

Series build_series(const SeriesKey& key, std::vector<Observation> observations, int64_t from_ms, int64_t until_ms,
                    int64_t bin_ms) {
  Series series{key, "", bin_ms, {}};
  const int64_t first = bin_floor(from_ms, bin_ms);
  const int64_t end = bin_ceil(until_ms, bin_ms);
  if (end <= first) return series;
  std::sort(observations.begin(), observations.end(), [](const Observation& a, const Observation& b) {
    return std::tie(a.started_at_ms, a.uid) < std::tie(b.started_at_ms, b.uid);
  });
  // (bin index, probe) -> index of its latest observation in that bin; later ones overwrite.
  std::map<std::pair<int64_t, std::string>, size_t> latest;
  for (size_t i = 0; i < observations.size(); ++i) {
    const auto& o = observations[i];
    if (o.started_at_ms < first || o.started_at_ms >= end) continue;
    latest[{(o.started_at_ms - first) / bin_ms, o.key_id}] = i;
  }
  const size_t n_bins = static_cast<size_t>((end - first) / bin_ms);
  std::vector<std::map<std::pair<std::string, std::string>, int>> per_bin(n_bins);
  for (const auto& [where, index] : latest) {
    const auto& o = observations[index];
    ++per_bin[static_cast<size_t>(where.first)][{o.verdict, o.method}];
  }
  series.bins.resize(n_bins);
  for (size_t b = 0; b < n_bins; ++b) {
    auto& bin = series.bins[b];
    bin.start_ms = first + static_cast<int64_t>(b) * bin_ms;
    for (const auto& [vm, n] : per_bin[b]) {
      bin.counts.push_back({vm.first, vm.second, n});
      bin.probes += n;
    }
  }
  return series;
}

}  // namespace kuzet::timeline
