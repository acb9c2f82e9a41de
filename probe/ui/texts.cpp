#include "probe/ui/texts.hpp"

#include <cstdlib>
#include <map>
#include <mutex>

#include "i18n/embedded_probe.hpp"

namespace kuzet::probe::ui {

namespace {

struct State {
  std::mutex mutex;
  std::string lang;
  std::map<std::string, i18n::Catalog, std::less<>> catalogs;
};

State& state() {
  static State s;
  return s;
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
    if (!value || !*value) continue;
    const std::string_view v(value);
    const std::string code(v.substr(0, v.find_first_of("_.@")));
    return is_supported_language(code) ? code : "en";
  }
  return "en";
}

void set_language(std::string_view lang) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.lang = is_supported_language(lang) ? std::string(lang) : "en";
}

const std::string& language() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  if (s.lang.empty()) s.lang = language_from_environment();
  return s.lang;
}

const i18n::Catalog& texts() {
  const std::string lang = language();
  auto& s = state();
  std::lock_guard lock(s.mutex);
  auto it = s.catalogs.find(lang);
  if (it == s.catalogs.end()) it = s.catalogs.emplace(lang, i18n::Catalog::embedded(i18n::embedded::probe, lang)).first;
  return it->second;
}

std::string say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values) {
  return texts().format(key, values);
}

}  // namespace kuzet::probe::ui
