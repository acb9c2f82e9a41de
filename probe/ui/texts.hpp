#pragma once
// The probe's user-facing texts (help, consent, setup questions, suggestions) in the volunteer's language,
// from i18n/probe/{en,ru,kk}.json through lib/i18n (docs/i18n.md: why not gettext). Log lines for operators
// stay English.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "i18n/i18n.hpp"

namespace kuzet::probe::ui {

inline constexpr std::string_view kLanguages[] = {"en", "ru", "kk"};
bool is_supported_language(std::string_view lang);

// The first of LC_ALL, LC_MESSAGES, LANG that is set, as a supported language ("ru_RU.UTF-8" -> "ru", "kk_KZ"
// -> "kk"); "en" otherwise. LANGUAGE (GNU's list) is not read: one variable too many for three languages.
std::string language_from_environment();

// The process's language (default: from the environment); `lang` must be supported.
void set_language(std::string_view lang);
const std::string& language();
// The catalog of the current language, English under it.
const i18n::Catalog& texts();

// texts().format(key, values): a shorthand for the call sites.
std::string say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values = {});

}  // namespace kuzet::probe::ui
