#include "knowledge/knowledge.hpp"

#include <nlohmann/json.hpp>

#include "analysis/analysis_json.hpp"
#include "knowledge/builtin_text.hpp"

namespace kuzet::knowledge {

std::string_view builtin_text() { return kBuiltinKnowledgeJson; }

const analysis::Knowledge& builtin() {
  static const analysis::Knowledge parsed = [] {
    analysis::Knowledge k;
    const auto j = nlohmann::json::parse(builtin_text(), nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) k = j.get<analysis::Knowledge>();
    return k;
  }();
  return parsed;
}

analysis::Knowledge merged_with_builtin(const analysis::Knowledge& from_specs) {
  analysis::Knowledge out = from_specs;
  for (const auto& root : builtin().interception_roots) {
    bool held = false;
    for (const auto& r : out.interception_roots)
      held = held || (!root.sha256.empty() ? r.sha256 == root.sha256 : r.name == root.name);
    if (!held) out.interception_roots.push_back(root);
  }
  for (const auto& page : builtin().blockpages) {
    bool held = false;
    for (const auto& b : out.blockpages) held = held || b.name == page.name;
    if (!held) out.blockpages.push_back(page);
  }
  return out;
}

}  // namespace kuzet::knowledge
