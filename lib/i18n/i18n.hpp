#pragma once
// User-facing texts from translation files i18n/<domain>/<lang>.json (flat object: key -> string).
// The files are embedded into the binary at build time (kuzet_i18n_embed in lib/i18n/CMakeLists.txt), so an
// installed program needs no data path. A missing translation falls back to English, then to the key itself:
// a text is never lost and a lookup never throws.
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kuzet::i18n {

inline constexpr std::string_view kDefaultLanguage = "en";

// The embedded texts of one domain: the JSON of `lang`, or "" when the domain has no such language.
using EmbeddedTexts = std::string_view (*)(std::string_view lang);

class Catalog {
 public:
  Catalog() = default;
  // A flat JSON object of string values, at most 1 MiB. Throws std::invalid_argument otherwise.
  static Catalog parse(std::string_view json_text);
  // The catalog of `lang` with English under it. Throws std::invalid_argument for a language the domain
  // lacks, or a malformed file (a build-time fault, caught by the domain's tests).
  static Catalog embedded(EmbeddedTexts texts, std::string_view lang);

  bool has(std::string_view key) const;
  // The text, or the key itself when missing.
  const std::string& text(std::string_view key) const;
  // The text with each "{name}" replaced by its value. Values are inserted as given: escaping for the
  // output (HTML, CSV) is the caller's job.
  std::string format(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values) const;

  std::vector<std::string> keys() const;
  // Keys present in `fallback` and missing here are taken from it.
  void fill_from(const Catalog& fallback);

 private:
  std::map<std::string, std::string, std::less<>> texts_;
  mutable std::map<std::string, std::string, std::less<>> missing_;  // keys handed back as their own text
};

}  // namespace kuzet::i18n
