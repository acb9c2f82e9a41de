#pragma once
// Incidents: contiguous periods of one state, found in series from the timeline engine. Pure.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/timeline/timeline.hpp"
#include "core/vocabulary/verdict.hpp"

namespace kuzet::timeline {

// The kinds of a target incident: the interference verdicts. A series without them has no target incident.
inline constexpr std::array<std::string_view, 3> kTargetIncidentKinds = {
    core::verdict::blocked, core::verdict::intercepted, core::verdict::throttled};

// Target incidents: kind is the verdict ("blocked", "intercepted", "throttled"). Network incidents: "shutdown".
struct Incident {
  std::string id;  // incident_id()
  std::string kind;
  SeriesKey key;
  std::string category;
  int64_t start_ms = 0;
  std::optional<int64_t> end_ms;  // nullopt: still going on at the end of the data
  double confidence = 0;          // 0..1
  int probes = 0;                 // most probes seeing the state in one bin (shutdown: the baseline)
  int bins = 0;                   // bins in the state
  double severity = 0;            // shutdown: mean drop (0..1) x minutes, as IODA scores; else 0
  // Independence (assess_independence): how many independent vantage points support it, how many of its
  // probes' measurements carry decisive local evidence, and whether it is confirmed.
  int vantage_points = 0;
  int decisive = 0;
  bool confirmed = false;
  // How it was done: the methods (docs/verdicts.md) the probes saw with the incident's verdict in its bins,
  // most probe-bins first (ties by name). Empty for a shutdown: a silent network reports no method.
  std::vector<std::string> methods;
  // The network's name (the collector's IP->ASN database), filled in by the API; "" in the pure engine.
  std::string as_name;
  bool operator==(const Incident&) const = default;
};

struct IncidentOptions {
  // A target bin is in state K when at least this share of its informative probes (ok/blocked/
  // intercepted/throttled) saw K. Bins without informative probes (silence, offline) neither open nor close.
  double state_share = 0.5;
  // An incident closes after this many consecutive bins with data outside the state, so one noisy bin
  // does not split it; its end is the end of its last bin in the state.
  int close_after_bins = 2;
  // Incidents resting on fewer probe-bins than this are noise and dropped.
  int min_evidence = 3;
  // An open incident whose last bin in the state is older than this before the end of the data is closed
  // there rather than called ongoing.
  int64_t stale_after_ms = 24 * 60 * kMinuteMs;

  // Shutdowns (IODA-like): a network bin is down when its online probes (reporting, not offline) fall
  // below drop_fraction x the median of online probes over the previous baseline window of normal bins.
  double drop_fraction = 0.5;
  int64_t baseline_window_ms = 7 * 24 * 60 * kMinuteMs;
  int64_t min_baseline_ms = 24 * 60 * kMinuteMs;  // history needed before any judgement
  int min_baseline_probes = 2;

  // An incident is confirmed when at least this many independent vantage points support it.
  int min_vantage_points = 2;
};

// One probe's row behind an incident, as far as independence goes. `vantage` is the measurement's
// supporting tag: "" when it gives no independent support (no known source, a claimed network that the
// source contradicts, or a time before its key was registered; docs/timelines.md).
struct VantageSample {
  std::string key_id;
  std::string vantage;
  int decisive = 0;  // how many of these rows carry decisive local evidence
};

// Independent vantage points among the samples: measurements sharing a key or a vantage tag are one
// vantage point (connected components over keys and tags), so neither many keys from one source nor one key
// moving between sources counts twice. Samples without a tag count for nothing.
int count_vantage_points(const std::vector<VantageSample>& samples);

// A shutdown's vantage samples are its network's probe rows in this window before it began: during it the
// probes report nothing or queued offline results.
inline constexpr int64_t kShutdownVantageWindowMs = 24 * 60 * kMinuteMs;

// Fills vantage_points, decisive and confirmed (vantage_points >= min_vantage_points), and scales the
// confidence by min(1, vantage_points / min_vantage_points). For a target incident the samples are its
// probes' rows in the state during it; for a shutdown, the network's probes in the day before it began.
void assess_independence(Incident& incident, const std::vector<VantageSample>& samples,
                         const IncidentOptions& options);
// The same from the counts already made (count_vantage_points, the samples' decisive flags summed).
void apply_independence(Incident& incident, int vantage_points, int decisive, const IncidentOptions& options);

// Stable, readable id naming what the incident is: "KZ.9198.blocked.20220104T1430Z.instagram.com",
// "KZ.9198.shutdown.20220105T1100Z" (network incidents have no target). Permanent link:
// /api/v1/incidents/{id}. Its start is the first bin in the state (UTC, minute precision).
std::string incident_id(const SeriesKey& key, const std::string& kind, int64_t start_ms);

struct IncidentRef {
  SeriesKey key;
  std::string kind;
  int64_t start_ms = 0;
};
// nullopt when the text is not an id of incident_id's form (untrusted input from the URL).
std::optional<IncidentRef> parse_incident_id(const std::string& id);

// Where the run of bins behind an incident ended: the end of its last bin in the state, and the start of the
// bin that closed it (its close_after_bins-th bin outside), nullopt while it is open at the series' end. What
// a search over part of a series needs to know whether it would find the same incident (stored_incidents.hpp).
struct RunExtent {
  int64_t last_end_ms = 0;
  std::optional<int64_t> closed_at_ms;
  bool operator==(const RunExtent&) const = default;
};

// Blocking, interception and throttling periods of one target series. With `extents`, one per incident.
std::vector<Incident> target_incidents(const Series& series, const IncidentOptions& options,
                                       std::vector<RunExtent>* extents = nullptr);
// Shutdowns of one network series (key.target == kNetworkTarget). Needs history before the period of
// interest: pass a series starting baseline_window_ms earlier. With `extents`, one per incident.
std::vector<Incident> shutdown_incidents(const Series& series, const IncidentOptions& options,
                                         std::vector<RunExtent>* extents = nullptr);

}  // namespace kuzet::timeline
