// i18n::language_from_accept: the language of a page from the browser's Accept-Language, a hostile header.
#include <doctest/doctest.h>

#include <string>

#include "i18n/language.hpp"

using kuzet::i18n::kAcceptLanguageScanBytes;
using kuzet::i18n::language_from_accept;

TEST_CASE("Accept-Language: the highest q wins, whatever the order; equal q-values go to the first given") {
  CHECK(language_from_accept("kk-KZ,kk;q=0.9,ru;q=0.8", "en") == "kk");
  CHECK(language_from_accept("ru;q=0.5, kk;q=0.8", "en") == "kk");  // not simply the first listed
  CHECK(language_from_accept("de-DE, ru;q=0.5", "en") == "ru");
  CHECK(language_from_accept("ru;q=0.7, kk;q=0.7", "en") == "ru");
  CHECK(language_from_accept("kk;q=0.7, ru;q=0.7", "en") == "kk");
  CHECK(language_from_accept("en;q=0.1, kk;q=0.2, ru;q=0.15", "en") == "kk");
  CHECK(language_from_accept("ru;q=0.001, de", "en") == "ru");  // the smallest q still accepts
  CHECK(language_from_accept("ru;q=1.000, kk;q=0.999", "en") == "ru");
  CHECK(language_from_accept("ru;q=0.5, ru-RU;q=0.9, kk;q=0.8", "en") == "ru");  // a language's best range
}

TEST_CASE("Accept-Language: q=0 refuses a language") {
  CHECK(language_from_accept("ru;q=0, kk", "en") == "kk");
  CHECK(language_from_accept("ru;q=0", "en") == "en");
  CHECK(language_from_accept("kk;q=0.0, ru;q=0.5", "en") == "ru");
  CHECK(language_from_accept("kk;q=0.000, ru;q=0.5", "en") == "ru");
  CHECK(language_from_accept("kk;q=0., ru;q=0.5", "en") == "ru");
  CHECK(language_from_accept("en;q=0, kk;q=0", "ru") == "ru");  // nothing acceptable: the fallback anyway
}

TEST_CASE("Accept-Language: region subtags match their language") {
  CHECK(language_from_accept("ru-RU", "en") == "ru");
  CHECK(language_from_accept("de-DE, ru-RU;q=0.7", "en") == "ru");
  CHECK(language_from_accept("kk-Cyrl-KZ", "en") == "kk");
  CHECK(language_from_accept("ru_RU", "en") == "ru");
  CHECK(language_from_accept("rus, kka", "en") == "en");  // a prefix is not a language
  CHECK(language_from_accept("r, k", "en") == "en");
  CHECK(language_from_accept("-ru", "en") == "en");
}

TEST_CASE("Accept-Language: * stands for the languages no range names, the fallback first") {
  CHECK(language_from_accept("*", "en") == "en");
  CHECK(language_from_accept("*", "kk") == "kk");
  CHECK(language_from_accept("de, *;q=0.5", "ru") == "ru");
  CHECK(language_from_accept("en;q=0, *", "en") == "ru");    // English refused, anything else welcome
  CHECK(language_from_accept("ru;q=0.3, *;q=0.5", "ru") == "en");  // ru is named: * is not ru
  CHECK(language_from_accept("kk;q=0.6, *;q=0.5", "en") == "kk");
  CHECK(language_from_accept("*;q=0", "kk") == "kk");       // everything refused: the fallback anyway
  CHECK(language_from_accept("*;q=0, ru", "en") == "ru");
}

TEST_CASE("Accept-Language: a range with a malformed q is skipped, never guessed") {
  CHECK(language_from_accept("ru;q=abc, kk;q=0.5", "en") == "kk");
  CHECK(language_from_accept("ru;q=2, kk;q=0.5", "en") == "kk");
  CHECK(language_from_accept("ru;q=1.5, kk;q=0.5", "en") == "kk");
  CHECK(language_from_accept("ru;q=0.1234, kk;q=0.001", "en") == "kk");
  CHECK(language_from_accept("ru;q=-1, kk;q=0.5", "en") == "kk");
  CHECK(language_from_accept("ru;q=.5, kk;q=0.5", "en") == "kk");
  CHECK(language_from_accept("ru;q=, kk;q=0.5", "en") == "kk");
  CHECK(language_from_accept("ru;q=0.5x, kk;q=0.1", "en") == "kk");
  CHECK(language_from_accept("ru;q=1e0", "en") == "en");
  CHECK(language_from_accept("ru;level=1, kk;q=0.5", "en") == "ru");  // another parameter: ignored
  CHECK(language_from_accept(";q=1, ;;, ,,, kk", "en") == "kk");
}

TEST_CASE("Accept-Language: whitespace around ranges and parameters") {
  CHECK(language_from_accept("  de ,\tkk ; q=0.5 ", "en") == "kk");
  CHECK(language_from_accept("ru ;q = 0.3,kk;  Q=0.4", "en") == "kk");
  CHECK(language_from_accept(" \t ", "en") == "en");
  CHECK(language_from_accept("k k, r u", "en") == "en");
}

TEST_CASE("Accept-Language: empty or unknown gives the fallback") {
  CHECK(language_from_accept("", "en") == "en");
  CHECK(language_from_accept("", "kk") == "kk");
  CHECK(language_from_accept("de, fr;q=0.9", "ru") == "ru");
  CHECK(language_from_accept(",", "en") == "en");
  CHECK(language_from_accept("ru") == "ru");
  CHECK(language_from_accept("de") == "en");  // kDefaultLanguage by default
}

TEST_CASE("Accept-Language: any case") {
  CHECK(language_from_accept("RU", "en") == "ru");
  CHECK(language_from_accept("Kk-kZ", "en") == "kk");
  CHECK(language_from_accept("de, EN-gb;Q=0.9, ru;q=0.8", "ru") == "en");
  CHECK(language_from_accept(std::string("ru\0", 3), "en") == "en");  // a NUL is not a language's letter
}

TEST_CASE("Accept-Language: a hostile header is read only up to the cap") {
  // 100 KB of refusals and unknown languages, then a language: beyond the cap, not seen.
  std::string hostile;
  while (hostile.size() < 100 * 1024) hostile += "xx-YY;q=0.5, ";
  CHECK(language_from_accept(hostile + "ru", "en") == "en");
  CHECK(language_from_accept("kk;q=0.1, " + hostile + "ru", "en") == "kk");
  CHECK(language_from_accept(std::string(100 * 1024, ','), "kk") == "kk");
  CHECK(language_from_accept(std::string(100 * 1024, 'r'), "en") == "en");
  CHECK(language_from_accept(std::string(100 * 1024, ';'), "en") == "en");
  CHECK(language_from_accept("ru;q=0.5, " + std::string(100 * 1024, ' ') + ", kk", "en") == "ru");
  // A range the cap cuts through is dropped, not read as a shorter one: "kkz" cut to "kk" is not Kazakh.
  const std::string cut = "ru;q=0.5," + std::string(kAcceptLanguageScanBytes - 11, ' ') + "kkz";
  REQUIRE(cut.size() == kAcceptLanguageScanBytes + 1);
  CHECK(language_from_accept(cut, "en") == "ru");
  CHECK(language_from_accept(cut.substr(0, kAcceptLanguageScanBytes), "en") == "kk");  // within the cap: read
  CHECK(language_from_accept(cut.substr(0, kAcceptLanguageScanBytes) + ", de", "en") == "kk");  // ends at the cap
  CHECK(language_from_accept(std::string(kAcceptLanguageScanBytes - 2, ' ') + "kk;q=0.5", "en") == "en");
}
