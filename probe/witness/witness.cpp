#include "probe/witness/witness.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "core/crypto/crypto.hpp"
#include "core/read_capped.hpp"
#include "core/encoding/json_struct.hpp"
#include "files/files.hpp"
#include "tlog/note.hpp"

namespace kuzet::probe::witness {

namespace {

constexpr size_t kMaxStateBytes = 1 << 20;

// The file's bytes, nullopt when unreadable or larger than any state we write.
std::optional<std::string> read_capped(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text;
  if (!core::read_capped(in, kMaxStateBytes, text) || text.size() > kMaxStateBytes) return std::nullopt;
  return text;
}

Observation unavailable(WitnessState& state, std::string why) {
  state.last_error = std::move(why);
  return Observation::unavailable;
}

Observation record_conflict(WitnessState& state, const char* kind, std::string detail, const std::string& later,
                            const std::string& now) {
  state.conflict = kind;
  state.conflict_detail = std::move(detail);
  state.conflict_found_at = now;
  state.evidence_earlier = state.checkpoint;
  state.evidence_later = later;
  state.last_error.clear();
  return Observation::conflict;
}

}  // namespace

KUZET_JSON_DEF(WitnessState, collector, log_key, checkpoint, checked_at, last_error, conflict, conflict_detail,
               conflict_found_at, evidence_earlier, evidence_later)
#undef KUZET_JSON_DEF

Observation observe(WitnessState& state, LogApi& api, const std::string& now) {
  if (!state.trusted()) return Observation::conflict;  // the evidence stays as it was found
  std::string error;
  if (state.log_key.empty()) {
    auto key = api.key(&error);
    if (!key) return unavailable(state, "log key: " + error);
    while (!key->empty() && (key->back() == '\n' || key->back() == '\r')) key->pop_back();
    if (!tlog::parse_verifier_key(*key, &error)) return unavailable(state, "log key: " + error);
    state.log_key = *key;  // pinned: a later different key is not this log
  }
  const auto verifier = tlog::parse_verifier_key(state.log_key, &error);
  if (!verifier) return unavailable(state, "pinned log key: " + error);
  const auto note = api.checkpoint(&error);
  if (!note) return unavailable(state, "checkpoint: " + error);
  const auto latest = tlog::open_checkpoint(*note, *verifier, &error);
  if (!latest) return unavailable(state, "checkpoint does not verify with the pinned key: " + error);

  if (state.checkpoint.empty()) {
    state.checkpoint = *note;
    state.checked_at = now;
    state.last_error.clear();
    return Observation::first;
  }
  const auto known = tlog::open_checkpoint(state.checkpoint, *verifier, &error);
  if (!known) return unavailable(state, "remembered checkpoint unreadable: " + error);

  const auto size_text = [](uint64_t n) { return std::to_string(n); };
  if (latest->size == known->size) {
    if (latest->root != known->root)
      return record_conflict(state, "fork",
                             "two signed checkpoints of size " + size_text(known->size) + " with different roots",
                             *note, now);
    state.checked_at = now;
    state.last_error.clear();
    return Observation::unchanged;
  }
  if (latest->size < known->size)
    return record_conflict(state, "rewind",
                           "the log shrank from " + size_text(known->size) + " to " + size_text(latest->size) +
                               " entries",
                           *note, now);
  const auto proof = api.consistency(known->size, latest->size, &error);
  if (!proof) return unavailable(state, "consistency proof: " + error);
  if (!tlog::verify_consistency(known->size, latest->size, known->root, latest->root, *proof))
    return record_conflict(state, "fork",
                           "no valid consistency proof from " + size_text(known->size) + " to " +
                               size_text(latest->size) + " entries: the larger tree does not extend the smaller",
                           *note, now);
  state.checkpoint = *note;
  state.checked_at = now;
  state.last_error.clear();
  return Observation::extended;
}

std::string state_path(const std::string& data_dir, const std::string& collector) {
  return data_dir + "/witness/" + core::sha256_hex(collector).substr(0, 16) + ".json";
}

std::optional<WitnessState> load_state(const std::string& data_dir, const std::string& collector, std::string* error) {
  const std::string path = state_path(data_dir, collector);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    WitnessState fresh;
    fresh.collector = collector;
    return fresh;
  }
  const auto text = read_capped(path);
  if (!text) {
    if (error) *error = "cannot read " + path;
    return std::nullopt;
  }
  try {
    auto state = nlohmann::json::parse(*text).get<WitnessState>();
    if (state.collector != collector) throw std::runtime_error("state of another collector");
    return state;
  } catch (const std::exception& e) {
    if (error) *error = path + ": " + e.what();
    return std::nullopt;
  }
}

std::string save_state(const std::string& data_dir, const WitnessState& state) {
  const std::string dir = data_dir + "/witness";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return "cannot create " + dir + ": " + ec.message();
  const std::string path = state_path(data_dir, state.collector);
  if (auto e = files::write_file_atomically(path, nlohmann::json(state).dump(2) + "\n"); !e.empty())
    return "cannot write " + path + ": " + e;
  return "";
}

std::vector<WitnessState> load_all_states(const std::string& data_dir) {
  std::vector<WitnessState> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir + "/witness", ec)) {
    if (entry.path().extension() != ".json") continue;
    const auto text = read_capped(entry.path());
    if (!text) continue;
    try {
      out.push_back(nlohmann::json::parse(*text).get<WitnessState>());
    } catch (const std::exception&) {
    }
  }
  return out;
}

}  // namespace kuzet::probe::witness
