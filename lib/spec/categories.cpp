#include "spec/categories.hpp"

#include "spec/spec.hpp"

#include <algorithm>

#include "measure/http/http.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::spec {

const std::vector<std::string>& known_categories() {
  static const std::vector<std::string> categories = {
      // Kuzet's first names, used by tests-spec/*.yaml.
      "egov", "social", "messaging", "petition", "news", "control", "human-rights", "circumvention", "search",
      "video", "other",
      // Names for the Citizen Lab categories that have no equivalent above.
      "political-criticism", "religion", "lgbt", "culture", "hosting", "file-sharing", "e-commerce",
      "economics", "environment", "public-health", "sex-education", "hate-speech", "militants", "gambling",
      "dating", "gaming", "hacking", "alcohol-drugs", "pornography", "provocative-attire", "intergovernmental"};
  return categories;
}

bool is_known_category(const std::string& category) {
  const auto& known = known_categories();
  return std::find(known.begin(), known.end(), category) != known.end();
}

const std::vector<CitizenLabCode>& citizenlab_codes() {
  // Source: github.com/citizenlab/test-lists lists/00-LEGEND-new_category_codes.csv (code, description,
  // "replaces old code(s)") and lists/00-LEGEND-category_codes.csv (the old codes, still found in lists).
  static const std::vector<CitizenLabCode> codes = {
      {"ALDR", "alcohol-drugs", "Alcohol & Drugs"},
      {"REL", "religion", "Religion"},
      {"MINF", "religion", "Minority faiths (old code)"},
      {"PORN", "pornography", "Pornography"},
      {"PROV", "provocative-attire", "Provocative Attire"},
      {"POLR", "political-criticism", "Political Criticism"},
      {"POLT", "political-criticism", "Political transformation (old code, now POLR)"},
      {"HUMR", "human-rights", "Human Rights Issues"},
      {"MINR", "human-rights", "Minority rights and ethnic content (old code, now HUMR)"},
      {"WOMR", "human-rights", "Women's rights (old code, now HUMR)"},
      {"ENV", "environment", "Environment"},
      {"MILX", "militants", "Terrorism and Militants"},
      {"HATE", "hate-speech", "Hate Speech"},
      {"NEWS", "news", "News Media"},
      {"FEXP", "news", "Freedom of expression and media freedom (old code, now NEWS)"},
      {"XED", "sex-education", "Sex Education"},
      {"PUBH", "public-health", "Public Health"},
      {"GMB", "gambling", "Gambling"},
      {"ANON", "circumvention", "Anonymization and circumvention tools"},
      {"DATE", "dating", "Online Dating"},
      {"GRP", "social", "Social Networking"},
      {"LGBT", "lgbt", "LGBT"},
      {"GAYL", "lgbt", "Gay & lesbian (old code, now LGBT)"},
      {"FILE", "file-sharing", "File-sharing"},
      {"P2P", "file-sharing", "Peer-to-peer file sharing (old code, now FILE)"},
      {"HACK", "hacking", "Hacking Tools"},
      {"COMT", "messaging", "Communication Tools"},
      {"VOIP", "messaging", "Voice over IP (old code, now COMT)"},
      {"EMAIL", "messaging", "Free email (old code, now COMT)"},
      {"TRNS", "messaging", "Translation (old code, now COMT)"},
      {"MMED", "video", "Media sharing"},
      {"HOST", "hosting", "Hosting and Blogging Platforms"},
      {"BLGSERV", "hosting", "Blogging services (old code, now HOST)"},
      {"SRCH", "search", "Search Engines"},
      {"GAME", "gaming", "Gaming"},
      {"CULTR", "culture", "Culture"},
      {"HAL", "culture", "History, arts and literature (old code, now CULTR)"},
      {"ECON", "economics", "Economics"},
      {"DEV", "economics", "Economic development (old code, now ECON)"},
      {"GOVT", "egov", "Government"},
      {"FREL", "egov", "Foreign relations and military (old code, now GOVT)"},
      {"COMM", "e-commerce", "E-commerce"},
      {"CTRL", "control", "Control content"},
      {"IGO", "intergovernmental", "Intergovernmental Organizations"},
      {"MISC", "other", "Miscellaneous (old code)"},
  };
  return codes;
}

std::string normalize_category(std::string_view written) {
  const std::string_view trimmed = ascii::trim(written, ascii::kBlanks);
  for (const auto& c : citizenlab_codes())
    if (ascii::equals_ignoring_case(c.code, trimmed)) return std::string(c.category);
  return std::string(trimmed);
}

std::string category_problem(std::string_view category) {
  if (category.empty()) return "empty category";
  if (category.size() > kMaxCategoryBytes)
    return "category longer than " + std::to_string(kMaxCategoryBytes) + " bytes";
  if (measure::http::sanitize_utf8(category) != category) return "category is not valid UTF-8";
  if (ascii::has_control(category)) return "category contains a control character";
  return "";
}

}  // namespace kuzet::spec
