#include "analysis/analysis_json.hpp"

#include <nlohmann/json.hpp>

namespace kuzet::analysis {

void to_json(nlohmann::json& j, const Evidence& v) { j = nlohmann::json{{"key", v.key}, {"value", v.value}}; }

void from_json(const nlohmann::json& j, Evidence& v) {
  v.key = j.value("key", "");
  v.value = j.value("value", "");
}

void to_json(nlohmann::json& j, const Verdict& v) {
  j = nlohmann::json{
      {"verdict", v.verdict}, {"method", v.method}, {"explanation", v.explanation}, {"evidence", v.evidence}};
}

void from_json(const nlohmann::json& j, Verdict& v) {
  v.verdict = j.value("verdict", "inconclusive");
  v.method = j.value("method", "");
  v.explanation = j.value("explanation", "");
  v.evidence = j.value("evidence", std::vector<Evidence>{});
}

}  // namespace kuzet::analysis
