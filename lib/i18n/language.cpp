#include "i18n/language.hpp"

#include <array>
#include <cstdlib>
#include <iterator>

#include "ascii/ascii.hpp"
#include "negotiation/negotiation.hpp"

namespace kuzet::i18n {

namespace {

// "ru_RU.UTF-8", "kk_KZ@cyrillic", "ru" -> the language part when it is supported, else "en".
std::string supported_or_english(std::string_view locale) {
  const std::string code(locale.substr(0, locale.find_first_of("_.@")));
  return is_supported_language(code) ? code : std::string(kDefaultLanguage);
}

}  // namespace

bool is_supported_language(std::string_view lang) {
  for (auto l : kLanguages)
    if (l == lang) return true;
  return false;
}

std::string language_from_environment() {
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* value = std::getenv(name);
    if (value && *value) return supported_or_english(value);
  }
  if (const char* value = std::getenv("LANGUAGE"); value && *value) {
    const std::string_view list(value);
    return supported_or_english(list.substr(0, list.find(':')));
  }
  return std::string(kDefaultLanguage);
}

std::string language_from_accept(std::string_view header, std::string_view fallback) {
  struct Rank {
    int q = -1;           // thousandths; -1 while no range names the language
    size_t position = 0;  // of the first range that gave it this q
    void offer(int new_q, size_t at) {
      if (new_q > q) q = new_q, position = at;
    }
  };
  std::array<Rank, std::size(kLanguages)> named;
  Rank star;
  negotiation::WeightedList ranges(header);
  for (negotiation::Weighted range; ranges.next(range);) {
    if (range.value == "*") {
      star.offer(range.q, range.position);
      continue;
    }
    const std::string_view primary = range.value.substr(0, range.value.find_first_of("-_"));
    for (size_t i = 0; i < named.size(); ++i)
      if (ascii::equals_ignoring_case(primary, kLanguages[i])) named[i].offer(range.q, range.position);
  }
  // The highest q above 0, the first given among equals; "*" ranks the languages no range names, the
  // fallback first among them.
  Rank best{0, 0};
  std::string_view chosen;
  const auto consider = [&](std::string_view lang, const Rank& rank) {
    if (rank.q > best.q || (rank.q > 0 && rank.q == best.q && rank.position < best.position)) {
      best = rank;
      chosen = lang;
    }
  };
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].q >= 0) consider(kLanguages[i], named[i]);
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].q < 0 && kLanguages[i] == fallback) consider(kLanguages[i], star);
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].q < 0) consider(kLanguages[i], star);
  return std::string(chosen.empty() ? fallback : chosen);
}

void ProcessTexts::set_language(std::string_view lang) {
  std::lock_guard lock(mutex_);
  lang_ = is_supported_language(lang) ? std::string(lang) : std::string(kDefaultLanguage);
}

const std::string& ProcessTexts::language() {
  std::lock_guard lock(mutex_);
  if (lang_.empty()) lang_ = language_from_environment();
  return lang_;
}

const Catalog& ProcessTexts::catalog() {
  const std::string lang = language();
  std::lock_guard lock(mutex_);
  auto it = catalogs_.find(lang);
  if (it == catalogs_.end()) it = catalogs_.emplace(lang, Catalog::embedded(texts_, lang)).first;
  return it->second;
}

std::string ProcessTexts::say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values) {
  return catalog().format(key, values);
}

}  // namespace kuzet::i18n
