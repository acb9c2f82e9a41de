#pragma once
#include <nlohmann/json_fwd.hpp>

#include "analysis/analysis.hpp"

namespace kuzet::analysis {
void to_json(nlohmann::json& j, const Evidence& v);
void from_json(const nlohmann::json& j, Evidence& v);
void to_json(nlohmann::json& j, const Verdict& v);
void from_json(const nlohmann::json& j, Verdict& v);

// Inputs of analyze_run, so a run can be replayed offline (golden tests, "why did it say that?").
// Knowledge: {"interception_roots":[{name,sha256,spki_sha256}], "blockpages":[{name,body_contains,...}]}.
void to_json(nlohmann::json& j, const Knowledge& v);
void from_json(const nlohmann::json& j, Knowledge& v);
void to_json(nlohmann::json& j, const TargetInput& v);  // {category, observations, control|null}
void from_json(const nlohmann::json& j, TargetInput& v);
void to_json(nlohmann::json& j, const RunFacts& v);
void from_json(const nlohmann::json& j, RunFacts& v);
}  // namespace kuzet::analysis
