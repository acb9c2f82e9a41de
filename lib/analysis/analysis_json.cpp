#include "analysis/analysis_json.hpp"

#include <nlohmann/json.hpp>

namespace kuzet::analysis {
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Evidence, key, value)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Verdict, verdict, method, explanation, evidence)
}  // namespace kuzet::analysis
