#pragma once
// Hand-made signed measurements for report tests: a few probes of one network, one target blocked for a while.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "core/time.hpp"
#include "reports/report/report.hpp"
#include "reports/report/verify.hpp"
#include "tlog/entry.hpp"
#include "tlog/merkle.hpp"
#include "tlog/note.hpp"

namespace kuzet::report::testing {

constexpr int64_t kT0 = 1641081600000;  // 2022-01-02T00:00:00Z
constexpr int64_t kMinute = 60 * 1000;

inline nlohmann::json measurement(int64_t t, const std::string& target, const std::string& verdict,
                                  const std::string& method, int n, const std::string& spec = "replay/unit") {
  return {{"schema", "kuzet.measurement/1"},
          {"measurement_uid", "u" + std::to_string(t) + "_" + std::to_string(n)},
          {"target", target},
          {"category", "messaging"},
          {"spec", spec},
          {"started_at", core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(t)))},
          {"verdict", verdict},
          {"method", method},
          {"network", {{"cc", "KZ"}, {"asn", 9198}, {"as_name", "Example <b>Telecom</b>"}}}};
}

inline std::string signed_measurement(const core::KeyPair& key, int64_t t, const std::string& target,
                                      const std::string& verdict, const std::string& method, int n,
                                      const std::string& spec = "replay/unit") {
  return envelope::sign(measurement(t, target, verdict, method, n, spec), key).dump();
}

// `probes` probes measure `target` every 10 minutes for 12 hours from kT0; blocked (tls.timeout) from hour 4
// to hour 8 by every probe; ok otherwise. `batch`: each probe signs its measurements in batches of that many
// (docs/protocol.md, batch-signed envelopes); 0: one signature each.
inline std::vector<Evidence> blocking_scenario(const std::string& target, int probes = 3, size_t batch = 0) {
  std::vector<Evidence> out;
  int n = 0;
  for (int p = 0; p < probes; ++p) {
    auto key = core::ed25519_from_seed(std::string(32, static_cast<char>('a' + p)));
    std::vector<nlohmann::json> measurements;
    for (int64_t t = kT0 + p * 1000; t < kT0 + 12 * 60 * kMinute; t += 10 * kMinute) {
      const bool blocked = t >= kT0 + 4 * 60 * kMinute && t < kT0 + 8 * 60 * kMinute;
      measurements.push_back(measurement(t, target, blocked ? "blocked" : "ok", blocked ? "tls.timeout" : "", n++));
    }
    std::vector<std::string> envelopes;
    for (size_t i = 0; i < measurements.size(); i += batch ? batch : measurements.size()) {
      if (!batch) {
        for (const auto& m : measurements) envelopes.push_back(envelope::sign(m, key).dump());
        break;
      }
      const std::vector<nlohmann::json> part(measurements.begin() + static_cast<long>(i),
                                             measurements.begin() + static_cast<long>(std::min(measurements.size(), i + batch)));
      for (const auto& e : envelope::sign_batch(part, key)) envelopes.push_back(e.dump());
    }
    for (auto& e : envelopes) {
      std::string error;
      out.push_back(evidence_from_envelope(std::move(e), kT0 + 86400000, &error));
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

// A transparency log in memory, as the collector keeps one: each measurement an entry, in order.
class MemoryLog : public tlog::HashSource {
 public:
  std::vector<tlog::Hash> read(const std::vector<tlog::Subtree>& subtrees) override {
    std::vector<tlog::Hash> out;
    for (const auto& s : subtrees) out.push_back(hashes_.at({s.level, s.index}));
    return out;
  }
  uint64_t append(const std::string& entry) {
    const uint64_t index = frontier_.size();
    for (const auto& stored : frontier_.append(tlog::leaf_hash(entry)))
      hashes_[{stored.subtree.level, stored.subtree.index}] = stored.hash;
    return index;
  }
  tlog::Frontier frontier_;

 private:
  std::map<std::pair<int, uint64_t>, tlog::Hash> hashes_;
};

struct LoggedReport {
  std::string checkpoint;
  std::string log_key;
};

// The vantage point the collector would have logged for a measurement: by default each probe key uploads
// from its own place (its key id is a valid 16-hex tag).
using VantageOf = std::function<std::string(const Evidence&)>;
inline std::string own_vantage(const Evidence& e) { return e.key_id; }

// Logs every measurement (plus `before` unrelated entries first), signs a checkpoint and attaches the proofs.
inline LoggedReport log_measurements(std::vector<Evidence>& measurements, int before = 5,
                                     const VantageOf& vantage_of = own_vantage) {
  MemoryLog log;
  for (int i = 0; i < before; ++i) log.append("unrelated entry " + std::to_string(i));
  for (auto& e : measurements) {
    tlog::LogEntry entry;
    entry.measurement_uid = e.uid;
    entry.envelope_sha256 = e.sha256;
    entry.key_id = e.key_id;
    entry.started_at_ms = e.started_at_ms;
    entry.received_at_ms = e.started_at_ms + kMinute;
    entry.vantage_point = vantage_of(e);
    entry.network_check = "match";
    LogProof p;
    p.entry = tlog::encode_entry(entry);
    p.index = log.append(p.entry);
    e.proof = p;
  }
  const uint64_t size = log.frontier_.size();
  for (auto& e : measurements)
    for (const auto& h : tlog::prove_inclusion(e.proof->index, size, log))
      e.proof->inclusion.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
  const auto signer = tlog::make_signer("kuzet.example.org/log", core::ed25519_from_seed(std::string(32, 'L')));
  tlog::Checkpoint c;
  c.origin = signer.name;
  c.size = size;
  c.root = log.frontier_.root();
  const std::string note = tlog::sign_note(tlog::checkpoint_text(c), signer);
  for (auto& e : measurements) e.proof->checkpoint = note;
  return {note, tlog::verifier_key_text(tlog::verifier_of(signer))};
}

inline bool has_failure(const VerifyResult& v, const std::string& part) {
  for (const auto& f : v.failures)
    if (f.find(part) != std::string::npos) return true;
  return false;
}

// Every failure, one per line (for messages and exact comparisons).
inline std::string all_failures(const VerifyResult& v) {
  std::string s;
  for (const auto& f : v.failures) s += f + "\n";
  return s;
}

}  // namespace kuzet::report::testing
