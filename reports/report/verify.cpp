#include "reports/report/verify.hpp"

#include <map>
#include <set>
#include <stdexcept>

#include "reports/report/bundle.hpp"

namespace kuzet::report {

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
  for (size_t i = 0; i < r.measurements.size(); ++i) {
    auto& given = r.measurements[i];
    std::string error;
    Evidence e = evidence_from_envelope(given.envelope, r.generated_at_ms, &error);
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

  // 2. The log: every inclusion proof against the checkpoint, the checkpoint's signature.
  if (r.checkpoint.empty()) out.failures.push_back("log: the bundle has no checkpoint, so no measurement is shown to be in a log");
  for (const auto& e : verified)
    if (!e.proof) out.failures.push_back("measurement " + e.uid + ": no inclusion proof");
  (void)log_key;

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
