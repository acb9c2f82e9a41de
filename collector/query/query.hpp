#pragma once
// Query parameters of the read API (untrusted input; fuzzed by tests/query/fuzz_query_params.cpp): one
// strict reading for /api/v1/measurements, /timeline, /incidents and /series, so every endpoint accepts the
// same forms and refuses what it cannot apply (docs/api.md). Pure: no I/O, no clock.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::collector::query {

// "KZ" or "kz" -> "KZ". nullopt unless two ASCII letters.
std::optional<std::string> parse_cc(std::string_view text);
// "9198", "AS9198" or "as9198" -> 9198. nullopt when not a number up to 2^32-1.
std::optional<uint32_t> parse_asn(std::string_view text);
// RFC 3339 ("2022-01-04T14:30:00Z", offsets allowed), a date ("2022-01-04" = 00:00 UTC) or Unix seconds
// ("1641306600", IODA's form) -> ms since the epoch. nullopt otherwise (years 1970..9999).
std::optional<int64_t> parse_time(std::string_view text);

// `source=`: "kuzet" or "ooni" -> that source, "all" -> "" (every source; also the default when absent).
// nullopt for anything else (docs/api.md).
std::optional<std::string> parse_source(std::string_view text);

// The request's parameters as parsed by the HTTP library (name -> value, repeated names repeated).
using Params = std::multimap<std::string, std::string>;

// A parameter the endpoint does not know, or one given twice: "unknown parameter 'x'" / "parameter 'x'
// given more than once"; "" when every parameter is one of `allowed`, once.
std::string check_names(const Params& params, const std::vector<std::string_view>& allowed);

// One CSV cell (RFC 4180 quoting) of a string that came from a measurement. A cell a spreadsheet would run
// as a formula (starting with = + - @, a tab or a carriage return: OWASP's CSV injection list) is
// neutralised with a leading apostrophe and quoted.
std::string csv_cell(std::string_view text);

}  // namespace kuzet::collector::query
