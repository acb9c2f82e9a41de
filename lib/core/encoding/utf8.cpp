#include "core/encoding/utf8.hpp"

#include <stdexcept>

namespace kuzet::core {

namespace {

// The code point starting at text[i] and its length in bytes. Throws on anything but strict UTF-8.
char32_t next_code_point(std::string_view text, size_t i, size_t* length_out) {
  const auto lead = static_cast<unsigned char>(text[i]);
  size_t length = 0;
  char32_t cp = 0;
  char32_t minimum = 0;
  if (lead < 0x80) {
    length = 1, cp = lead, minimum = 0;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, cp = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, cp = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, cp = lead & 0x07, minimum = 0x10000;
  } else {
    throw std::invalid_argument("utf-8: invalid UTF-8 lead byte");
  }
  if (i + length > text.size()) throw std::invalid_argument("utf-8: truncated UTF-8 sequence");
  for (size_t k = 1; k < length; ++k) {
    const auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xC0) != 0x80) throw std::invalid_argument("utf-8: invalid UTF-8 continuation byte");
    cp = (cp << 6) | (next & 0x3F);
  }
  if (cp < minimum) throw std::invalid_argument("utf-8: overlong UTF-8 sequence");
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) throw std::invalid_argument("utf-8: invalid code point");
  *length_out = length;
  return cp;
}

}  // namespace

std::vector<char32_t> decode_utf8(std::string_view text) {
  std::vector<char32_t> out;
  out.reserve(text.size());
  size_t length = 0;
  for (size_t i = 0; i < text.size(); i += length) out.push_back(next_code_point(text, i, &length));
  return out;
}

void validate_utf8(std::string_view text) {
  size_t length = 0;
  for (size_t i = 0; i < text.size(); i += length) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {  // ASCII, most of every measurement
      length = 1;
      continue;
    }
    next_code_point(text, i, &length);
  }
}

}  // namespace kuzet::core
