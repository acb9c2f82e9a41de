#pragma once
// How the network a measurement claims relates to the network its upload came from, as the collector
// found with its IP->ASN database (collector/vantage). Stored with each measurement and committed to in
// the transparency log's entry (lib/tlog/entry.hpp). Use these constants; never retype the strings.
#include <string_view>

namespace kuzet::core::network_check {

inline constexpr std::string_view match = "match";
inline constexpr std::string_view mismatch = "mismatch";  // never independent support for the claimed network
inline constexpr std::string_view unknown = "unknown";    // the database does not know the source (or none)

// "" (not checked, e.g. an import) or one of the words above.
constexpr bool is_known_or_unchecked(std::string_view v) {
  return v.empty() || v == match || v == mismatch || v == unknown;
}

}  // namespace kuzet::core::network_check
