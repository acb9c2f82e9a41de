#pragma once
// The languages Kuzet speaks, and which one a command-line program speaks: chosen once from the environment
// (or by the program, e.g. the probe's --lang), shared by the probe, the collector and kuzet-report; and which
// one a page speaks to a browser (its Accept-Language: the collector's pages, the probe's status page).
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "i18n/i18n.hpp"
#include "negotiation/negotiation.hpp"

namespace kuzet::i18n {

inline constexpr std::string_view kLanguages[] = {"en", "ru", "kk"};
bool is_supported_language(std::string_view lang);

// The first of LC_ALL, LC_MESSAGES, LANG that is set, as a supported language ("ru_RU.UTF-8" -> "ru", "kk_KZ"
// -> "kk", "C", "POSIX" or another language -> "en"); when none of them is set, the first entry of LANGUAGE
// (GNU's list, "ru:en" -> "ru"); "en" otherwise.
std::string language_from_environment();

// The bytes of an Accept-Language header that language_from_accept reads: a browser sends a few dozen; the
// rest of a longer header is not looked at (the range the cap cuts through is dropped, not half-read). The
// same bound as every weighted header's (negotiation::WeightedList).
inline constexpr size_t kAcceptLanguageScanBytes = negotiation::kScanBytes;

// The supported language an HTTP Accept-Language header (RFC 9110 12.5.4) ranks highest, else `fallback`.
// "kk-KZ,kk;q=0.9,ru;q=0.8" -> "kk". A range counts by its primary subtag, in any case ("ru-RU", "RU" -> ru);
// a language takes the highest q of the ranges naming it; "*" gives its q to every supported language no
// range names (`fallback` first, then kLanguages' order). q=0 refuses; a range with a malformed q (not
// 0-1 with at most three decimals) is skipped; among equal q-values the range given first wins. The header
// is untrusted: only its first kAcceptLanguageScanBytes are read, and none of it is copied.
std::string language_from_accept(std::string_view header, std::string_view fallback = kDefaultLanguage);

// The texts of one domain (i18n/<domain>) in the process's language: from the environment unless set, each
// language's catalog loaded once and kept for the process's life (references stay valid).
class ProcessTexts {
 public:
  explicit ProcessTexts(EmbeddedTexts texts) : texts_(texts) {}
  ProcessTexts(const ProcessTexts&) = delete;
  ProcessTexts& operator=(const ProcessTexts&) = delete;

  // A language the domain lacks becomes "en".
  void set_language(std::string_view lang);
  const std::string& language();
  // The catalog of the current language, English under it.
  const Catalog& catalog();
  // catalog().format(key, values).
  std::string say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values = {});

 private:
  EmbeddedTexts texts_;
  std::mutex mutex_;
  std::string lang_;
  std::map<std::string, Catalog, std::less<>> catalogs_;
};

}  // namespace kuzet::i18n
