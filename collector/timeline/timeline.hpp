#pragma once
// Timelines: the pure engine. From measurements of one place (country, ASN, target) it derives per fixed
// time bin how many probes saw each verdict. No I/O, no clock: the same measurements in any order give
// the same series (inputs are ordered by (started_at, uid) before anything else happens).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/vocabulary/series.hpp"

namespace kuzet::timeline {

inline constexpr int64_t kMinuteMs = 60 * 1000;
inline constexpr int64_t kDefaultBinMs = 10 * kMinuteMs;
// The target name of a network's connectivity series (all measurements of the network, any target).
inline constexpr const char* kNetworkTarget = core::series::network_target;
// A network series' other state beside core::verdict::offline: the network carried the probe's traffic.
inline constexpr std::string_view kOnline = "online";
// A network incident's kind (a target incident's kind is its interference verdict, core::verdict).
inline constexpr std::string_view kShutdown = "shutdown";

// What a timeline needs of one measurement. A probe is a key_id: one key per device and network.
struct Observation {
  std::string key_id;
  int64_t started_at_ms = 0;
  std::string uid;
  std::string verdict;
  std::string method;
};

// A network's connectivity series sees every measurement as offline (core::verdict::offline) or kOnline.
Observation network_observation(const Observation& o);

struct SeriesKey {
  std::string cc;
  uint32_t asn = 0;
  std::string target;  // kNetworkTarget for the network series
  bool operator==(const SeriesKey&) const = default;
  bool operator<(const SeriesKey& o) const {
    return std::tie(cc, asn, target) < std::tie(o.cc, o.asn, o.target);
  }
};

// Probes whose state in a bin was (verdict, method).
struct VerdictCount {
  std::string verdict;
  std::string method;
  int probes = 0;
  bool operator==(const VerdictCount&) const = default;
};

// One bin. A probe counts once per bin, with its latest measurement there (by started_at, then uid),
// so the counts add up to `probes`. probes == 0 means no data (silence).
struct Bin {
  int64_t start_ms = 0;
  int probes = 0;
  std::vector<VerdictCount> counts;  // sorted by (verdict, method), no zero entries
  bool operator==(const Bin&) const = default;

  int probes_with(const std::string& verdict) const;
};

struct Series {
  SeriesKey key;
  std::string category;  // "" for network series
  int64_t bin_ms = kDefaultBinMs;
  std::vector<Bin> bins;  // dense: every bin of [from, until), in order
  std::string as_name;    // the network's name, filled in by the API (collector/asn_db); "" in the engine
  bool operator==(const Series&) const = default;
};

// Bin boundaries are multiples of bin_ms since the epoch.
int64_t bin_floor(int64_t t_ms, int64_t bin_ms);
int64_t bin_ceil(int64_t t_ms, int64_t bin_ms);

// The series over [bin_floor(from), bin_ceil(until)). Observations outside are ignored.
Series build_series(const SeriesKey& key, std::vector<Observation> observations, int64_t from_ms,
                    int64_t until_ms, int64_t bin_ms);

}  // namespace kuzet::timeline
