#include "reports/report/verify.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "reports/report/bundle.hpp"
#include "tlog/entry.hpp"
#include "tlog/merkle.hpp"
#include "tlog/note.hpp"

namespace kuzet::report {

namespace {

tlog::Hash to_hash(const std::string& raw) {
  tlog::Hash h{};
  std::copy(raw.begin(), raw.begin() + static_cast<long>(std::min(raw.size(), h.size())), h.begin());
  return h;
}

void check_log(const Report& r, const std::string& given_key, const std::vector<Evidence>& verified, VerifyResult& out) {
  if (r.checkpoint.empty()) {
    out.failures.push_back("log: the bundle has no checkpoint, so no measurement is shown to be in a log");
    return;
  }
  std::string error;
  std::optional<tlog::NoteVerifier> verifier;
  if (!given_key.empty()) {
    verifier = tlog::parse_verifier_key(given_key, &error);
    if (!verifier) out.failures.push_back("--log-key: not a verifier key (" + error + ")");
    else if (!r.log_key.empty() && r.log_key != given_key)
      out.warnings.push_back("the bundle names another log key than --log-key: " + r.log_key);
  } else {
    verifier = tlog::parse_verifier_key(r.log_key, &error);
    if (!verifier) out.failures.push_back("log.key: not a verifier key (" + error + ")");
    else out.warnings.push_back("the log key is the bundle's own (self-asserted); pass --log-key with the key "
                                "published by the collector's operator or a witness");
  }
  std::optional<tlog::Checkpoint> checkpoint;
  if (verifier) {
    checkpoint = tlog::open_checkpoint(r.checkpoint, *verifier, &error);
    if (!checkpoint) out.failures.push_back("checkpoint: does not verify under the log key (" + error + ")");
  }
  if (!checkpoint) {
    // Still check the proofs against the root it states, so every other failure is named too.
    const size_t blank = r.checkpoint.find("\n\n");
    if (blank == std::string::npos) return;
    checkpoint = tlog::parse_checkpoint(std::string_view(r.checkpoint).substr(0, blank + 1), &error);
    if (!checkpoint) {
      out.failures.push_back("checkpoint: malformed (" + error + ")");
      return;
    }
  }
  size_t other_checkpoint = 0;  // one failure for them all: a changed bundle checkpoint would give thousands
  std::string first_other;
  for (const auto& e : verified) {
    const std::string name = "measurement " + e.uid;
    if (!e.proof) {
      out.failures.push_back(name + ": no inclusion proof");
      continue;
    }
    // Each tlog-proof carries its checkpoint; the bundle's one was checked above, so they must be it.
    if (e.proof->checkpoint != r.checkpoint) {
      if (other_checkpoint++ == 0) first_other = e.uid;
      continue;
    }
    auto entry = tlog::parse_entry(e.proof->entry, &error);
    if (!entry) {
      out.failures.push_back(name + ": log entry malformed (" + error + ")");
      continue;
    }
    std::string wrong;
    if (entry->measurement_uid != e.uid) wrong += " measurement_uid";
    if (entry->envelope_sha256 != e.sha256) wrong += " envelope_sha256";
    if (entry->key_id != e.key_id) wrong += " key_id";
    if (entry->started_at_ms != e.started_at_ms) wrong += " started_at";
    if (!wrong.empty()) {
      out.failures.push_back(name + ": the log entry is not this envelope's (" + wrong.substr(1) + ")");
      continue;
    }
    std::vector<tlog::Hash> path;
    for (const auto& h : e.proof->inclusion) path.push_back(to_hash(h));
    if (e.proof->index >= checkpoint->size ||
        !tlog::verify_inclusion(tlog::leaf_hash(e.proof->entry), e.proof->index, checkpoint->size, path, checkpoint->root)) {
      out.failures.push_back(name + ": inclusion proof (index " + std::to_string(e.proof->index) +
                             ") does not lead to the checkpoint's root");
      continue;
    }
    ++out.proofs;
  }
  if (other_checkpoint)
    out.failures.push_back("log: the tlog-proofs of " + std::to_string(other_checkpoint) +
                           " measurements end in another checkpoint than the bundle's (the first: measurement " +
                           first_other + ")");
}

}  // namespace

VerifyResult verify_bundle(std::string_view bundle_text, const std::string& log_key) {
  VerifyResult out;
  ParsedBundle b;
  try {
    b = parse_bundle(bundle_text);
  } catch (const std::invalid_argument& e) {
    out.failures.push_back(e.what());
    return out;
  }
  Report& r = b.report;
  out.measurements = r.measurements.size();

  // 1. Every envelope: shape and signature; the fields the engine needs come from it, nothing else.
  std::vector<Evidence> verified;
  std::set<std::string> uids;
  envelope::SignatureCache signatures;  // the measurements of one batch share its signature's check
  for (size_t i = 0; i < r.measurements.size(); ++i) {
    auto& given = r.measurements[i];
    std::string error;
    Evidence e = evidence_from_envelope(given.envelope, r.generated_at_ms, &error, &signatures);
    const std::string name = "measurements[" + std::to_string(i) + "]" + (e.uid.empty() ? "" : " " + e.uid);
    if (!error.empty()) {
      out.failures.push_back(name + ": envelope does not verify (" + error + ")");
      continue;
    }
    if (!uids.insert(e.uid).second) {
      out.failures.push_back(name + ": the same measurement twice");
      continue;
    }
    e.proof = given.proof;
    verified.push_back(std::move(e));
  }

  // 2. The log: the checkpoint's signature, then every inclusion proof against its root.
  check_log(r, log_key, verified, out);

  // 3. The incidents follow from the signed measurements (the same pure engine as the build).
  sort_evidence(verified);
  const Computed computed = compute(r.params, verified);
  std::map<std::string, nlohmann::json> recomputed, claimed;
  for (const auto& inc : computed.incidents) recomputed[inc.incident.id] = incident_json(inc, verified);
  for (const auto& inc : b.incidents) {
    const std::string id = inc.is_object() && inc.contains("id") && inc["id"].is_string() ? inc["id"].get<std::string>() : "";
    if (id.empty() || !claimed.emplace(id, inc).second) out.failures.push_back("incidents: an entry without a unique id");
  }
  out.incidents = claimed.size();
  for (const auto& [id, inc] : claimed) {
    auto it = recomputed.find(id);
    if (it == recomputed.end()) out.failures.push_back("incident " + id + ": not found in the signed measurements");
    else if (it->second != inc) {
      std::string fields;
      for (auto f = it->second.begin(); f != it->second.end(); ++f)
        if (!inc.is_object() || !inc.contains(f.key()) || inc[f.key()] != f.value()) fields += (fields.empty() ? "" : ", ") + f.key();
      if (fields.empty()) fields = "extra fields";
      out.failures.push_back("incident " + id + ": differs from what the signed measurements give (" + fields + ")");
    }
  }
  for (const auto& [id, inc] : recomputed)
    if (!claimed.count(id)) out.failures.push_back("incident " + id + ": follows from the measurements but the report omits it");
  return out;
}

}  // namespace kuzet::report
