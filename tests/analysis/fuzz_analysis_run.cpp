// Fuzzes the verdict engine through its JSON edge: any document that parses as a run (targets, facts,
// knowledge) must be judged without crashing, one verdict per target, each with a known verdict word.
// Observations carry whatever hostile servers and resolvers sent, so the engine must take anything.
// The kept corpus is the golden directory (real-looking runs).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "analysis/analysis.hpp"
#include "analysis/analysis_json.hpp"
#include "core/vocabulary/verdict.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto doc = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return 0;
  std::vector<kuzet::analysis::TargetInput> targets;
  kuzet::analysis::RunFacts facts;
  kuzet::analysis::Knowledge knowledge;
  try {
    targets = doc.value("targets", nlohmann::json::array()).get<std::vector<kuzet::analysis::TargetInput>>();
    if (doc.contains("facts")) facts = doc.at("facts").get<kuzet::analysis::RunFacts>();
    if (doc.contains("knowledge")) knowledge = doc.at("knowledge").get<kuzet::analysis::Knowledge>();
  } catch (const nlohmann::json::exception&) {
    return 0;  // not a run: the JSON edge refuses it with an error, which is fine
  }
  const auto verdicts = kuzet::analysis::analyze_run(targets, facts, knowledge);
  if (verdicts.size() != targets.size()) std::abort();
  for (const auto& v : verdicts)
    if (!kuzet::core::verdict::is_known(v.verdict) || v.explanation.empty()) std::abort();
  (void)kuzet::analysis::throttling_suspects(targets);
  return 0;
}
