#include "ascii/ascii.hpp"

namespace kuzet::ascii {

std::string_view trim_start(std::string_view s, std::string_view strip) {
  const size_t first = s.find_first_not_of(strip);
  return first == std::string_view::npos ? std::string_view() : s.substr(first);
}

std::string_view trim_end(std::string_view s, std::string_view strip) {
  const size_t last = s.find_last_not_of(strip);
  return last == std::string_view::npos ? std::string_view() : s.substr(0, last + 1);
}

std::string_view trim(std::string_view s, std::string_view strip) { return trim_end(trim_start(s, strip), strip); }

std::string lower(std::string_view s) {
  std::string out(s);
  lower_in_place(out);
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = upper(c);
  return out;
}

void lower_in_place(std::string& s) {
  for (char& c : s) c = lower(c);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool starts_with_ignoring_case(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equals_ignoring_case(s.substr(0, prefix.size()), prefix);
}

size_t find_ignoring_case(std::string_view s, std::string_view needle, size_t from) {
  if (from > s.size() || needle.size() > s.size() - from) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= s.size(); ++i)
    if (equals_ignoring_case(s.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

bool contains_ignoring_case(std::string_view s, std::string_view needle) {
  return find_ignoring_case(s, needle) != std::string_view::npos;
}

bool has_control(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  return false;
}

}  // namespace kuzet::ascii
