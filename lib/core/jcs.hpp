#pragma once
// RFC 8785 JSON Canonicalization Scheme: what every signature in Kuzet is computed over.
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace kuzet::core {

// Keys sorted by UTF-16 code units, no whitespace, ECMAScript number form, minimal string escapes.
// Throws std::invalid_argument for values JCS cannot represent (NaN, infinity, invalid UTF-8) and for
// integers beyond ±2^53 that other implementations would write differently, i.e. all but the exact
// ECMAScript form of a double (see docs/protocol.md).
std::string canonicalize(const nlohmann::json& value);

}  // namespace kuzet::core
