#include "i18n/language.hpp"

#include <cstdlib>

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
