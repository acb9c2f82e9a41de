#pragma once
// Incidents: contiguous periods of one state, found in series from the timeline engine. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collector/timeline/timeline.hpp"

namespace kuzet::timeline {

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
};

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

// Blocking, interception and throttling periods of one target series.
std::vector<Incident> target_incidents(const Series& series, const IncidentOptions& options);
// Shutdowns of one network series (key.target == kNetworkTarget). Needs history before the period of
// interest: pass a series starting baseline_window_ms earlier.
std::vector<Incident> shutdown_incidents(const Series& series, const IncidentOptions& options);

}  // namespace kuzet::timeline
