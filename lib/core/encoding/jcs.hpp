#pragma once
// RFC 8785 JSON Canonicalization Scheme: what every signature in Kuzet is computed over.
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace kuzet::core {

// Keys sorted by UTF-16 code units, no whitespace, ECMAScript number form, minimal string escapes.
// Throws std::invalid_argument for values JCS cannot represent (NaN, infinity, invalid UTF-8) and for
// integers beyond ±2^53 that other implementations would write differently, i.e. all but the exact
// ECMAScript form of a double (see docs/protocol.md).
std::string canonicalize(const nlohmann::json& value);

// Pieces of canonicalize shared with core::canonical_json, which writes the form straight from the bytes.
// A double in ECMAScript's form; throws std::invalid_argument for NaN and infinity.
void append_canonical_double(double value, std::string& out);
// A string as RFC 8785 writes it, quotes included; throws std::invalid_argument for invalid UTF-8.
void append_canonical_string(std::string_view text, std::string& out);
// How RFC 8785 writes '"', '\\' or a control character (byte < 0x20) inside a string.
void append_escaped(unsigned char byte, std::string& out);
// Property names in RFC 8785 order when one of them has a character beyond U+FFFF (a byte >= 0xF0): by UTF-16
// code units. Otherwise byte order is the same order. Both must be valid UTF-8.
bool utf16_less(std::string_view a, std::string_view b);

}  // namespace kuzet::core
