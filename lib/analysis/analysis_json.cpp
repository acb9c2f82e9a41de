#include "analysis/analysis_json.hpp"

#include <nlohmann/json.hpp>

#include "core/encoding/json_struct.hpp"
#include "measure/observations_json.hpp"

namespace kuzet::analysis {

KUZET_JSON_DEF(Evidence, key, value)
KUZET_JSON_DEF(Verdict, verdict, method, explanation, evidence)
KUZET_JSON_DEF(RunFacts, collector_reachable)

#undef KUZET_JSON_DEF

// Spec structs are mapped here field by field (not as spec:: ADL functions, which belong to lib/spec).
void to_json(nlohmann::json& j, const Knowledge& v) {
  j = nlohmann::json{{"interception_roots", nlohmann::json::array()}, {"blockpages", nlohmann::json::array()}};
  for (const auto& r : v.interception_roots)
    j["interception_roots"].push_back({{"name", r.name}, {"sha256", r.sha256}, {"spki_sha256", r.spki_sha256}});
  for (const auto& b : v.blockpages)
    j["blockpages"].push_back({{"name", b.name},
                               {"body_contains", b.body_contains},
                               {"title_contains", b.title_contains},
                               {"header_name", b.header_name},
                               {"header_contains", b.header_contains},
                               {"address", b.address}});
}

void from_json(const nlohmann::json& j, Knowledge& v) {
  v = Knowledge{};
  for (const auto& r : j.value("interception_roots", nlohmann::json::array()))
    v.interception_roots.push_back({r.value("name", ""), r.value("sha256", ""), r.value("spki_sha256", "")});
  for (const auto& b : j.value("blockpages", nlohmann::json::array()))
    v.blockpages.push_back({b.value("name", ""), b.value("body_contains", ""), b.value("title_contains", ""),
                            b.value("header_name", ""), b.value("header_contains", ""), b.value("address", "")});
}

void to_json(nlohmann::json& j, const TargetInput& v) {
  j = nlohmann::json{{"category", v.category}, {"observations", v.observations}};
  if (v.control) j["control"] = *v.control;
  else j["control"] = nullptr;
}

void from_json(const nlohmann::json& j, TargetInput& v) {
  v = TargetInput{};
  v.category = j.value("category", "");
  if (j.contains("observations")) j.at("observations").get_to(v.observations);
  if (auto it = j.find("control"); it != j.end() && !it->is_null()) v.control = it->get<measure::ControlObservations>();
}
}  // namespace kuzet::analysis
