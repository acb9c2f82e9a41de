#pragma once
#include <string_view>
#include <vector>

namespace kuzet::core {

// Decodes strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF) into code points.
// Throws std::invalid_argument on anything else.
std::vector<char32_t> decode_utf8(std::string_view text);
// The same checks without decoding (no allocation).
void validate_utf8(std::string_view text);

}  // namespace kuzet::core
