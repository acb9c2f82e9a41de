#pragma once
// The probe's user-facing texts (help, consent, setup questions, suggestions) in the volunteer's language,
// from i18n/probe/{en,ru,kk}.json through lib/i18n (docs/i18n.md: why not gettext). Log lines for operators
// stay English. The languages and the environment's choice are lib/i18n's (i18n/language.hpp).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "i18n/i18n.hpp"

namespace kuzet::probe::ui {

// The process's language (default: i18n::language_from_environment()); `lang` must be supported.
void set_language(std::string_view lang);
const std::string& language();
// The catalog of the current language, English under it.
const i18n::Catalog& texts();

// texts().format(key, values): a shorthand for the call sites.
std::string say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values = {});

}  // namespace kuzet::probe::ui
