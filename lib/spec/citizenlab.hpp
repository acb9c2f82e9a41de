#pragma once
// Citizen Lab test lists (github.com/citizenlab/test-lists, lists/*.csv), the URL lists OONI and
// researchers maintain, read directly as specs. Columns (by header name, any order):
//   url,category_code,category_description,date_added,source,notes
// `url` and `category_code` are required; the others are ignored. Category codes map to Kuzet's names
// (spec/categories.hpp). A URL that repeats an earlier one (same scheme, host, port, path and query) is
// skipped: lists carry variants such as "http://a.kz/" and "http://a.kz/#!/".
#include <string>
#include <string_view>

#include "spec/spec.hpp"

namespace kuzet::spec {

// Throws SpecError "SOURCE:LINE: problem" (the CSV line where the record starts).
Spec parse_citizenlab_csv(std::string_view text, const std::string& source_name);

}  // namespace kuzet::spec
