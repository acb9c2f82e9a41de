#pragma once
#include <nlohmann/json_fwd.hpp>

#include "analysis/analysis.hpp"

namespace kuzet::analysis {
void to_json(nlohmann::json& j, const Evidence& v);
void from_json(const nlohmann::json& j, Evidence& v);
void to_json(nlohmann::json& j, const Verdict& v);
void from_json(const nlohmann::json& j, Verdict& v);
}  // namespace kuzet::analysis
