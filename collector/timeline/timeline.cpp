#include "collector/timeline/timeline.hpp"

#include <algorithm>
#include <tuple>

#include "core/vocabulary/verdict.hpp"

namespace kuzet::timeline {

Observation network_observation(const Observation& o) {
  const bool offline = o.verdict == core::verdict::offline;
  return Observation{o.key_id, o.started_at_ms, o.uid, std::string(offline ? core::verdict::offline : kOnline), ""};
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
  Series series;
  series.key = key;
  series.bin_ms = bin_ms;
  const int64_t first = bin_floor(from_ms, bin_ms);
  const int64_t end = bin_ceil(until_ms, bin_ms);
  if (end <= first) return series;
  // Order by (bin, probe, started_at, uid): the last of each (bin, probe) group is the probe's latest
  // measurement in that bin. A total order on the inputs, so arrival order cannot matter.
  std::vector<const Observation*> in;
  in.reserve(observations.size());
  for (const auto& o : observations)
    if (o.started_at_ms >= first && o.started_at_ms < end) in.push_back(&o);
  auto bin_of = [&](const Observation* o) { return (o->started_at_ms - first) / bin_ms; };
  std::sort(in.begin(), in.end(), [&](const Observation* a, const Observation* b) {
    const int64_t ba = bin_of(a), bb = bin_of(b);
    if (ba != bb) return ba < bb;
    if (int c = a->key_id.compare(b->key_id); c != 0) return c < 0;
    return std::tie(a->started_at_ms, a->uid) < std::tie(b->started_at_ms, b->uid);
  });
  const size_t n_bins = static_cast<size_t>((end - first) / bin_ms);
  series.bins.resize(n_bins);
  for (size_t b = 0; b < n_bins; ++b) series.bins[b].start_ms = first + static_cast<int64_t>(b) * bin_ms;
  for (size_t i = 0; i < in.size(); ++i) {
    if (i + 1 < in.size() && bin_of(in[i + 1]) == bin_of(in[i]) && in[i + 1]->key_id == in[i]->key_id) continue;
    const Observation& o = *in[i];
    Bin& bin = series.bins[static_cast<size_t>(bin_of(in[i]))];
    ++bin.probes;
    auto it = std::find_if(bin.counts.begin(), bin.counts.end(),
                           [&](const VerdictCount& c) { return c.verdict == o.verdict && c.method == o.method; });
    if (it != bin.counts.end()) ++it->probes;
    else bin.counts.push_back({o.verdict, o.method, 1});
  }
  for (auto& bin : series.bins)
    std::sort(bin.counts.begin(), bin.counts.end(), [](const VerdictCount& a, const VerdictCount& b) {
      return std::tie(a.verdict, a.method) < std::tie(b.verdict, b.method);
    });
  return series;
}

}  // namespace kuzet::timeline
