#pragma once
// Catalogue parity for a domain's translations (i18n/<domain>/{en,ru,kk}.json): ru and kk have exactly the English
// keys, and each text keeps what the program or the reader relies on: its {name} placeholders (filled in by the
// program) and the --option names it mentions (typed as they are).
#include <doctest/doctest.h>

#include <cctype>
#include <set>
#include <string>

#include "i18n/i18n.hpp"

namespace kuzet::testing {

inline std::multiset<std::string> i18n_marks(const std::string& text) {
  std::multiset<std::string> found;
  for (size_t i = 0; i < text.size(); ++i) {
    size_t end = i;
    if (text[i] == '{') {
      end = text.find('}', i) + 1;  // 0 when unclosed: no mark
    } else if (text.compare(i, 2, "--") == 0) {
      for (end = i + 2; end < text.size() && (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '-');)
        ++end;
    }
    if (end > i + 2) found.insert(text.substr(i, end - i));
    if (end > i) i = end - 1;
  }
  return found;
}

// `all_translated`: no ru or kk text may equal the English one.
inline void check_translations(i18n::EmbeddedTexts texts, bool all_translated) {
  const auto en = i18n::Catalog::parse(texts("en"));
  for (const char* lang : {"ru", "kk"}) {
    CAPTURE(lang);
    const auto other = i18n::Catalog::parse(texts(lang));
    CHECK(other.keys() == en.keys());
    for (const auto& key : en.keys()) {
      CAPTURE(key);
      CHECK(i18n_marks(other.text(key)) == i18n_marks(en.text(key)));
      if (all_translated) CHECK(other.text(key) != en.text(key));
    }
  }
}

}  // namespace kuzet::testing
