#pragma once
// The probe as a witness of its collectors' transparency logs (docs/transparency-log.md). Per collector it
// remembers the log key (pinned on first sight) and the latest checkpoint it verified, and checks that every
// newer checkpoint extends it (a consistency proof). A collector that forks or rewinds its log is caught:
// both signed checkpoints are kept as evidence and the collector is no longer trusted with uploads.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tlog/merkle.hpp"

namespace kuzet::probe::witness {

// What the probe remembers about one collector's log, in <data_dir>/witness/<id>.json.
struct WitnessState {
  std::string collector;   // base URL
  std::string log_key;     // signed-note verifier key, pinned on first sight
  std::string checkpoint;  // the latest checkpoint verified consistent (signed note)
  std::string checked_at;  // when a checkpoint was last verified
  std::string last_error;  // the last check that could not be made ("" when it could)
  // Evidence of a split view, kept forever once found.
  std::string conflict;            // "" | "fork" | "rewind"
  std::string conflict_detail;
  std::string conflict_found_at;
  std::string evidence_earlier;    // the checkpoint we had verified
  std::string evidence_later;      // the conflicting one, signed by the same key
  bool trusted() const { return conflict.empty(); }
};
void to_json(nlohmann::json& j, const WitnessState& v);
void from_json(const nlohmann::json& j, WitnessState& v);

// The collector's log API as the witness needs it; nullopt (and *error) when it could not be fetched.
class LogApi {
 public:
  virtual ~LogApi() = default;
  virtual std::optional<std::string> key(std::string* error) = 0;
  virtual std::optional<std::string> checkpoint(std::string* error) = 0;
  virtual std::optional<std::vector<tlog::Hash>> consistency(uint64_t from, uint64_t to, std::string* error) = 0;
};

enum class Observation {
  unavailable,  // nothing could be checked (unreachable, malformed answer, bad signature): state.last_error
  first,        // the first checkpoint seen: now remembered
  unchanged,    // the same tree as before
  extended,     // a larger tree, proven consistent: now remembered
  conflict,     // fork or rewind (new or already known): see state.conflict
};

// Fetches the collector's checkpoint, checks it against `state` and updates `state`. `now` is an RFC 3339
// time for the record. Pure apart from `api`.
Observation observe(WitnessState& state, LogApi& api, const std::string& now);

// <data_dir>/witness/<first 16 hex of SHA-256(collector URL)>.json
std::string state_path(const std::string& data_dir, const std::string& collector);
// A fresh state for the collector when there is no file; nullopt (and *error) when the file is unreadable.
std::optional<WitnessState> load_state(const std::string& data_dir, const std::string& collector, std::string* error);
// Durably (temporary file, fsync, rename). Returns "" or the I/O failure.
std::string save_state(const std::string& data_dir, const WitnessState& state);
// Every state in <data_dir>/witness/ (for `kuzet-probe status`); unreadable files are skipped.
std::vector<WitnessState> load_all_states(const std::string& data_dir);

}  // namespace kuzet::probe::witness
