#pragma once
// A synthetic but realistically shaped dataset of the January 2022 events in Kazakhstan
// (docs/timelines.md, /work/shared/field-notes.md): messengers restricted from 4 Jan 14:30 UTC, a national
// data-plane shutdown from about 11:00 UTC on 5 Jan with a ~3 h restoration on 6 Jan, data-centre networks
// back on 7 Jan, Almaty back on 10 Jan ~02:00 while other cities stay mostly dark until 11 Jan 02:15.
// Probes keep measuring while offline and upload hours later; some fall silent instead. Every measurement
// is a signed envelope from a per-network probe key. Deterministic for a given seed.
#include <cstdint>
#include <string>
#include <vector>

#include "collector/timeline/timeline.hpp"
#include "collector/vantage/vantage.hpp"

namespace kuzet::replay {

struct ReplayConfig {
  int probes = 40;                       // spread over the networks below
  int64_t start_ms = 1640995200000;      // 2022-01-01T00:00:00Z
  int days = 11;
  int64_t round_ms = 40 * timeline::kMinuteMs;    // one pass over every target; targets spread evenly in it
  int targets = 5;                       // first N of the target list (messengers first)
  uint64_t seed = 2022;
  double noise = 0.01;                   // share of measurements with a spurious down/inconclusive/blocked
};

struct ReplayProbeKey {
  std::string public_key;  // base64
  std::string key_id;
};

// What the generator put in: the incidents a correct timeline must find.
struct TruthIncident {
  timeline::SeriesKey key;
  std::string kind;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct Replay {
  std::vector<ReplayProbeKey> keys;
  std::vector<std::string> envelopes;  // JSON, in arrival order (received time)
  std::vector<int64_t> received_at_ms;  // parallel to envelopes
  // Parallel to envelopes: where each came from. Every synthetic probe is its own vantage point (its own
  // tag, its claimed network), so the replay's incidents are confirmed like those of independent volunteers.
  std::vector<collector::vantage::UploadSource> sources;
  std::vector<TruthIncident> truth;    // only incidents inside the generated period
};

Replay generate_replay(const ReplayConfig& config);

}  // namespace kuzet::replay
