#pragma once
// "Did you mean ...?" for command lines: the known word nearest to a mistyped one.
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::core {

// Edit distance (insert, delete, substitute, swap of neighbours) between two short words.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word` when it is close enough to be a typo (at most a third of its length,
// at least 1, at most 3 edits), or a candidate `word` is a prefix of; "" when none fits.
std::string nearest_word(std::string_view word, const std::vector<std::string_view>& candidates);

// A scheme-less address that would be a valid URL with "https://" in front ("example.com/path", "1.2.3.4:8080"):
// that URL, else "". For "--target example.com" -> "did you mean https://example.com/?".
std::string url_with_scheme(std::string_view text);

}  // namespace kuzet::core
