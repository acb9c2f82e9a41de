#pragma once
// A network's country as measurements carry it (network.cc): ISO 3166-1 alpha-2 in capitals, or "" when
// unknown. The probe takes it from its configuration or the collector's whoami, the collector refuses an
// upload that holds anything else (it names series, incident ids and URLs), and imports drop it.
#include <string_view>

namespace kuzet::core::country {

constexpr bool is_code(std::string_view cc) {
  return cc.size() == 2 && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z';
}

// A code, or "" (unknown).
constexpr bool is_code_or_unknown(std::string_view cc) { return cc.empty() || is_code(cc); }

}  // namespace kuzet::core::country
