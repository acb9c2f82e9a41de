// Fuzzes what a browser's request decides on a permalink (collector/pages): the Accept header (page or JSON)
// and the language (lang= or Accept-Language), both untrusted. The input is split at the first NUL: Accept,
// then Accept-Language; the language picked is always one the pages have, and bytes beyond the read cap
// (negotiation::kScanBytes) never change the answer. Both headers are read by negotiation::WeightedList;
// Accept-Language by i18n::language_from_accept, which the probe's status page uses too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/pages/pages.hpp"
#include "i18n/language.hpp"
#include "negotiation/negotiation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;  // the server caps header sizes far below this
  const std::string text(reinterpret_cast<const char*>(data), size);
  const size_t nul = text.find('\0');
  const std::string accept = text.substr(0, nul);
  const std::string language = nul == std::string::npos ? std::string() : text.substr(nul + 1);
  const bool html = kuzet::collector::pages::wants_html(accept);
  // Bytes beyond the cap are not read: a range appended there changes nothing.
  if (accept.size() > kuzet::negotiation::kScanBytes &&
      kuzet::collector::pages::wants_html(accept + ",text/html") != html)
    __builtin_trap();
  auto lang = kuzet::collector::pages::pick_language(nullptr, language);
  if (!lang || (*lang != "en" && *lang != "ru" && *lang != "kk")) __builtin_trap();
  // The parser under it (i18n::language_from_accept) with another fallback: "*" and refusals rank otherwise.
  if (!kuzet::i18n::is_supported_language(kuzet::i18n::language_from_accept(language, "kk"))) __builtin_trap();
  auto given = kuzet::collector::pages::pick_language(&language, accept);
  if (given && *given != language) __builtin_trap();
  return 0;
}
