#pragma once
// What kuzet-collector's commands say to a person (usage, usage errors, the summaries of import, import-ooni,
// export, migrate and analytics-export) in the environment's language, from i18n/collector/{en,ru,kk}.json
// (docs/i18n.md). Log lines of the running server stay English.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "i18n/i18n.hpp"

namespace kuzet::collector {

// The catalog of the process's language (i18n::language_from_environment()), English under it.
const i18n::Catalog& texts();

// texts().format(key, values).
std::string say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values = {});

}  // namespace kuzet::collector
