#pragma once
// ASCII text helpers shared by the probe, the collector and the libraries, so that every parser folds case and
// trims the same way. They never consult the C or C++ locale.

#include <cstddef>
#include <string>
#include <string_view>

namespace kuzet::ascii {

// Sets of characters to trim: each call site names the one its format allows.
inline constexpr std::string_view kBlanks = " \t";  // RFC 9110's optional whitespace (OWS)
inline constexpr std::string_view kBlanksAndLineEnds = " \t\r\n";
inline constexpr std::string_view kWhitespace = " \t\n\v\f\r";  // what std::isspace matches in the C locale

// `s` without the characters of `strip` at both ends, at its start, or at its end. Nothing is copied.
std::string_view trim(std::string_view s, std::string_view strip);
std::string_view trim_start(std::string_view s, std::string_view strip);
std::string_view trim_end(std::string_view s, std::string_view strip);

constexpr char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }
std::string lower(std::string_view s);
std::string upper(std::string_view s);
void lower_in_place(std::string& s);

bool equals_ignoring_case(std::string_view a, std::string_view b);
bool starts_with_ignoring_case(std::string_view s, std::string_view prefix);
// As std::string_view::find, ignoring case: the first position >= `from` where `needle` occurs, npos when none
// does (an empty needle is found at `from` when `from` <= s.size()).
size_t find_ignoring_case(std::string_view s, std::string_view needle, size_t from = 0);
bool contains_ignoring_case(std::string_view s, std::string_view needle);

// True when `s` holds a control character: a C0 byte (< 0x20) or DEL (0x7F). Bytes of UTF-8 sequences are not.
bool has_control(std::string_view s);

}  // namespace kuzet::ascii
