#pragma once
// Target categories. Any category string is accepted (bounded, printable); Kuzet's own names are listed in
// tests-spec/README.md, and Citizen Lab's test-list codes (GOVT, NEWS, POLR, ...) map onto them.
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::spec {

namespace category {
inline constexpr std::string_view control = "control";  // connectivity anchors (the verdicts count them)
inline constexpr std::string_view other = "other";      // a bare --target, Citizen Lab's MISC
}  // namespace category

inline constexpr size_t kMaxCategoryBytes = 64;

// Kuzet's category names (tests-spec/README.md) are known_categories() and is_known_category() of
// spec/spec.hpp, defined in categories.cpp.

// One Citizen Lab code (lists/00-LEGEND-new_category_codes.csv and the older codes it replaced).
struct CitizenLabCode {
  std::string_view code;         // "GOVT"
  std::string_view category;     // Kuzet's name: "egov"
  std::string_view description;  // Citizen Lab's description: "Government"
};
const std::vector<CitizenLabCode>& citizenlab_codes();

// The category to record for what a spec or test list says: a Citizen Lab code (any case) becomes Kuzet's
// name; anything else is kept as written, surrounding white space removed.
std::string normalize_category(std::string_view written);
// "" when `category` (normalised) may be recorded; otherwise why not: empty, longer than kMaxCategoryBytes,
// not UTF-8, or with control characters.
std::string category_problem(std::string_view category);

}  // namespace kuzet::spec
