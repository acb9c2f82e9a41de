#include "collector/timeline/incidents.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <string_view>
#include <unordered_map>

#include <ctime>

#include "core/vocabulary/verdict.hpp"

namespace kuzet::timeline {

std::string incident_id(const SeriesKey& key, const std::string& kind, int64_t start_ms) {
  std::time_t t = static_cast<std::time_t>(start_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%dT%H%MZ", &tm);
  std::string id = key.cc + "." + std::to_string(key.asn) + "." + kind + "." + when;
  if (key.target != kNetworkTarget) id += "." + key.target;
  return id;
}

std::optional<IncidentRef> parse_incident_id(const std::string& id) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (int i = 0; i < 4; ++i) {
    size_t dot = id.find('.', pos);
    if (dot == std::string::npos) {
      if (i < 3) return std::nullopt;
      parts.push_back(id.substr(pos));
      pos = std::string::npos;
      break;
    }
    parts.push_back(id.substr(pos, dot - pos));
    pos = dot + 1;
  }
  IncidentRef ref;
  ref.key.cc = parts[0];
  if (ref.key.cc.empty() || parts[1].empty() || parts[1].size() > 10 ||
      parts[1].find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  uint64_t asn = std::stoull(parts[1]);
  if (asn > UINT32_MAX) return std::nullopt;
  ref.key.asn = static_cast<uint32_t>(asn);
  ref.kind = parts[2];
  if (!core::verdict::is_interference(ref.kind) && ref.kind != kShutdown) return std::nullopt;
  std::tm tm{};
  const std::string& when = parts[3];
  if (when.size() != 14 || when[8] != 'T' || when[13] != 'Z') return std::nullopt;
  const char* end = strptime(when.c_str(), "%Y%m%dT%H%MZ", &tm);
  if (!end || *end != '\0') return std::nullopt;
  ref.start_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
  if (pos == std::string::npos) {
    if (ref.kind != kShutdown) return std::nullopt;
    ref.key.target = kNetworkTarget;
  } else {
    ref.key.target = id.substr(pos);
    if (ref.kind == kShutdown || ref.key.target.empty()) return std::nullopt;
  }
  // Only the exact text incident_id writes names an incident: strptime also takes a year 0222, a
  // month 13 or spaces, which would name another moment (found by the timeline_query fuzz target).
  if (ref.start_ms < 0 || incident_id(ref.key, ref.kind, ref.start_ms) != id) return std::nullopt;
  return ref;
}

namespace {

enum class BinState { unknown, in_state, outside };

// Walks bins, opening on in_state and closing after close_after consecutive outside bins.
struct Run {
  size_t first = 0, last = 0;  // bins in the state: first and last
  int bins = 0;
  int evidence = 0;       // sum of probes in the state
  int peak_probes = 0;
  double share_sum = 0;   // sum over in-state bins of the state's share (or drop)
  bool open_at_end = false;
  size_t closed_at = 0;   // the bin that closed it (when not open at the end)
};

template <class Classify>
std::vector<Run> find_runs(const Series& s, int close_after, Classify classify) {
  std::vector<Run> runs;
  std::optional<Run> open;
  int outside = 0;
  for (size_t i = 0; i < s.bins.size(); ++i) {
    int probes = 0;
    double share = 0;
    BinState st = classify(i, &probes, &share);
    if (st == BinState::in_state) {
      if (!open) open = Run{i, i};
      open->last = i;
      ++open->bins;
      open->evidence += probes;
      open->peak_probes = std::max(open->peak_probes, probes);
      open->share_sum += share;
      outside = 0;
    } else if (st == BinState::outside && open && ++outside >= close_after) {
      open->closed_at = i;
      runs.push_back(*open);
      open.reset();
      outside = 0;
    }
  }
  if (open) {
    open->open_at_end = true;
    runs.push_back(*open);
  }
  return runs;
}

RunExtent extent_of(const Series& s, const Run& r) {
  RunExtent e;
  e.last_end_ms = s.bins[r.last].start_ms + s.bin_ms;
  if (!r.open_at_end) e.closed_at_ms = s.bins[r.closed_at].start_ms;
  return e;
}

Incident make_incident(const Series& s, const std::string& kind, const Run& r, bool still_open,
                       const IncidentOptions& o) {
  Incident inc;
  inc.kind = kind;
  inc.key = s.key;
  inc.category = s.category;
  inc.start_ms = s.bins[r.first].start_ms;
  const int64_t last_end = s.bins[r.last].start_ms + s.bin_ms;
  const int64_t data_end = s.bins.back().start_ms + s.bin_ms;
  if (!still_open || data_end - last_end > o.stale_after_ms) inc.end_ms = last_end;
  inc.bins = r.bins;
  inc.probes = r.peak_probes;
  inc.id = incident_id(s.key, kind, inc.start_ms);
  // Methods seen with the incident's verdict over its bins, by probe-bins.
  std::map<std::string, int> by_method;
  for (size_t i = r.first; i <= r.last; ++i)
    for (const auto& c : s.bins[i].counts)
      if (c.verdict == kind && !c.method.empty()) by_method[c.method] += c.probes;
  std::vector<std::pair<std::string, int>> ranked(by_method.begin(), by_method.end());
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (auto& [method, n] : ranked) inc.methods.push_back(method);
  return inc;
}

}  // namespace

std::vector<Incident> target_incidents(const Series& s, const IncidentOptions& o, std::vector<RunExtent>* extents) {
  std::vector<Incident> out;
  std::vector<RunExtent> found_extents;
  if (extents) extents->clear();
  if (s.bins.empty()) return out;
  // One pass over the bins: informative probes and probes per kind (a month is thousands of bins).
  const auto& kKinds = kTargetIncidentKinds;
  std::vector<int> informative(s.bins.size(), 0);
  std::vector<std::vector<int>> in_kind(3, std::vector<int>(s.bins.size(), 0));
  bool seen[3] = {false, false, false};
  for (size_t i = 0; i < s.bins.size(); ++i)
    for (const auto& c : s.bins[i].counts) {
      if (c.verdict == core::verdict::ok) informative[i] += c.probes;
      for (size_t k = 0; k < 3; ++k)
        if (c.verdict == kKinds[k]) {
          informative[i] += c.probes;
          in_kind[k][i] += c.probes;
          seen[k] = true;
        }
    }
  for (size_t k = 0; k < 3; ++k) {
    if (!seen[k]) continue;
    const std::string kind(kKinds[k]);
    auto runs = find_runs(s, o.close_after_bins, [&](size_t i, int* probes, double* share) {
      if (informative[i] == 0) return BinState::unknown;
      *probes = in_kind[k][i];
      *share = static_cast<double>(*probes) / informative[i];
      return *share >= o.state_share ? BinState::in_state : BinState::outside;
    });
    for (const Run& r : runs) {
      if (r.evidence < o.min_evidence) continue;
      Incident inc = make_incident(s, kind, r, r.open_at_end, o);
      // Confidence: how unanimous the probes were, discounted when few probes saw it.
      double unanimity = r.share_sum / r.bins;
      double support = std::min(1.0, r.evidence / 10.0);
      inc.confidence = unanimity * (0.5 + 0.5 * support);
      out.push_back(std::move(inc));
      found_extents.push_back(extent_of(s, r));
    }
  }
  // Sorted together with their extents (a start and a kind name one incident).
  std::vector<size_t> order(out.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(out[a].start_ms, out[a].kind) < std::tie(out[b].start_ms, out[b].kind);
  });
  std::vector<Incident> sorted;
  sorted.reserve(out.size());
  for (size_t i : order) {
    sorted.push_back(std::move(out[i]));
    if (extents) extents->push_back(found_extents[i]);
  }
  return sorted;
}

std::vector<Incident> shutdown_incidents(const Series& s, const IncidentOptions& o, std::vector<RunExtent>* extents) {
  std::vector<Incident> out;
  if (extents) extents->clear();
  if (s.bins.empty()) return out;
  // Sliding window of online counts of normal bins: a histogram gives the median cheaply.
  std::deque<std::pair<int64_t, int>> window;  // (bin start, online)
  std::vector<int> histogram;
  int64_t history_start = s.bins.front().start_ms;
  std::vector<double> baseline_at(s.bins.size(), 0);
  auto median = [&]() -> double {
    size_t n = window.size(), seen = 0;
    for (size_t v = 0; v < histogram.size(); ++v) {
      seen += static_cast<size_t>(histogram[v]);
      if (seen * 2 >= n) return static_cast<double>(v);
    }
    return 0;
  };
  auto runs = find_runs(s, o.close_after_bins, [&](size_t i, int* probes, double* share) {
    const Bin& b = s.bins[i];
    const int online = b.probes - b.probes_with(std::string(core::verdict::offline));
    while (!window.empty() && window.front().first < b.start_ms - o.baseline_window_ms) {
      --histogram[static_cast<size_t>(window.front().second)];
      window.pop_front();
    }
    BinState st = BinState::unknown;
    double base = window.empty() ? 0 : median();
    if (b.start_ms - history_start >= o.min_baseline_ms && base >= o.min_baseline_probes) {
      st = online < o.drop_fraction * base ? BinState::in_state : BinState::outside;
      *probes = static_cast<int>(base);
      *share = 1.0 - online / base;
      baseline_at[i] = base;
    }
    if (st != BinState::in_state) {  // outage bins would drag the baseline down
      window.emplace_back(b.start_ms, online);
      if (histogram.size() <= static_cast<size_t>(online)) histogram.resize(static_cast<size_t>(online) + 1, 0);
      ++histogram[static_cast<size_t>(online)];
    }
    return st;
  });
  for (const Run& r : runs) {
    Incident inc = make_incident(s, std::string(kShutdown), r, r.open_at_end, o);
    double mean_drop = r.share_sum / r.bins;
    inc.severity = mean_drop * static_cast<double>(r.bins * s.bin_ms) / kMinuteMs;
    // Confidence: depth of the drop, discounted for networks with a small baseline.
    inc.confidence = mean_drop * std::min(1.0, 0.5 + r.peak_probes / 10.0);
    out.push_back(std::move(inc));
    if (extents) extents->push_back(extent_of(s, r));
  }
  return out;
}

int count_vantage_points(const std::vector<VantageSample>& samples) {
  // Union-find over the keys and the tags (two name spaces: a key and a tag spelled alike are two nodes); each
  // supporting sample joins its key and its tag. Names are views of the samples: tens of thousands of them.
  std::unordered_map<std::string_view, size_t> keys, tags;
  std::vector<size_t> parent;
  auto id = [&](std::unordered_map<std::string_view, size_t>& nodes, std::string_view name) {
    auto [it, added] = nodes.emplace(name, parent.size());
    if (added) parent.push_back(parent.size());
    return it->second;
  };
  auto find = [&](size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  };
  keys.reserve(samples.size());
  tags.reserve(samples.size());
  parent.reserve(2 * samples.size());
  for (const auto& s : samples) {
    if (s.vantage.empty()) continue;
    size_t a = find(id(keys, s.key_id)), b = find(id(tags, s.vantage));
    if (a != b) parent[a] = b;
  }
  int roots = 0;
  for (size_t i = 0; i < parent.size(); ++i)
    if (find(i) == i) ++roots;
  return roots;
}

void assess_independence(Incident& inc, const std::vector<VantageSample>& samples, const IncidentOptions& o) {
  int decisive = 0;
  for (const auto& s : samples) decisive += s.decisive;
  apply_independence(inc, count_vantage_points(samples), decisive, o);
}

void apply_independence(Incident& inc, int vantage_points, int decisive, const IncidentOptions& o) {
  inc.vantage_points = vantage_points;
  inc.decisive = decisive;
  const int needed = std::max(1, o.min_vantage_points);
  inc.confirmed = inc.vantage_points >= needed;
  inc.confidence *= std::min(1.0, static_cast<double>(inc.vantage_points) / needed);
}

}  // namespace kuzet::timeline
