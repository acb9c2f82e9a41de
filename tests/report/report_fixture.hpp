#pragma once
// Hand-made signed measurements for report tests: a few probes of one network, one target blocked for a while.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/signing.hpp"
#include "core/time.hpp"
#include "reports/report/report.hpp"

namespace kuzet::report::testing {

constexpr int64_t kT0 = 1641081600000;  // 2022-01-02T00:00:00Z
constexpr int64_t kMinute = 60 * 1000;

inline std::string signed_measurement(const core::KeyPair& key, int64_t t, const std::string& target,
                                      const std::string& verdict, const std::string& method, int n,
                                      const std::string& spec = "replay/unit") {
  nlohmann::json m{{"schema", "kuzet.measurement/1"},
                   {"measurement_uid", "u" + std::to_string(t) + "_" + std::to_string(n)},
                   {"target", target},
                   {"category", "messaging"},
                   {"spec", spec},
                   {"started_at", core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(t)))},
                   {"verdict", verdict},
                   {"method", method},
                   {"network", {{"cc", "KZ"}, {"asn", 9198}, {"as_name", "Example <b>Telecom</b>"}}}};
  return core::sign_envelope(m, key).dump();
}

// `probes` probes measure `target` every 10 minutes for 12 hours from kT0; blocked (tls.timeout) from hour 4
// to hour 8 by every probe; ok otherwise.
inline std::vector<Evidence> blocking_scenario(const std::string& target, int probes = 3) {
  std::vector<Evidence> out;
  int n = 0;
  for (int p = 0; p < probes; ++p) {
    auto key = core::ed25519_from_seed(std::string(32, static_cast<char>('a' + p)));
    for (int64_t t = kT0 + p * 1000; t < kT0 + 12 * 60 * kMinute; t += 10 * kMinute) {
      const bool blocked = t >= kT0 + 4 * 60 * kMinute && t < kT0 + 8 * 60 * kMinute;
      std::string error;
      out.push_back(evidence_from_envelope(
          signed_measurement(key, t, target, blocked ? "blocked" : "ok", blocked ? "tls.timeout" : "", n++), kT0 + 86400000,
          &error));
    }
  }
  sort_evidence(out);
  return out;
}

inline Params scenario_params() {
  Params p;
  p.cc = "KZ";
  p.asns = {9198};
  p.from_ms = kT0;
  p.until_ms = kT0 + 12 * 60 * kMinute;
  p.data_end_ms = p.until_ms;
  return p;
}

}  // namespace kuzet::report::testing
