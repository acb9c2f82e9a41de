#include "core/encoding/jcs.hpp"
#include "core/encoding/utf8.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

namespace kuzet::core {
namespace {

// RFC 8785 §3.2.3: property names are compared as arrays of UTF-16 code units.
std::u16string to_utf16(std::string_view text) {
  std::u16string out;
  for (char32_t cp : decode_utf8(text)) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
  }
  return out;
}

// What RFC 8785 §3.2.2.2 escapes: '"', '\\' and the control characters; everything else is copied.
bool needs_escape(unsigned char byte) { return byte < 0x20 || byte == '"' || byte == '\\'; }

void write_string(std::string_view text, std::string& out) {
  validate_utf8(text);  // valid UTF-8 is copied through unchanged
  out.push_back('"');
  size_t run = 0;  // start of the bytes not yet copied: copied in runs, not byte by byte
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (!needs_escape(byte)) continue;
    out.append(text.substr(run, i - run));
    run = i + 1;
    append_escaped(byte, out);
  }
  out.append(text.substr(run));
  out.push_back('"');
}

// ECMAScript Number.prototype.toString (ECMA-262 §7.1.12.1) from the shortest round-trip digits.
void write_double(double value, std::string& out) {
  if (!std::isfinite(value)) throw std::invalid_argument("jcs: NaN and infinity are not representable");
  if (value == 0) {  // also -0
    out.push_back('0');
    return;
  }
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  if (result.ec != std::errc()) throw std::logic_error("jcs: to_chars failed");
  const std::string_view sci(buffer, static_cast<size_t>(result.ptr - buffer));  // "d[.ddd]e±xx"
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos))
    if (c != '.') digits.push_back(c);
  int exponent = 0;
  const auto exp_text = sci.substr(e_pos + 1);
  const char* exp_begin = exp_text.data() + (exp_text.front() == '+' ? 1 : 0);
  std::from_chars(exp_begin, exp_text.data() + exp_text.size(), exponent);
  // value = 0.digits × 10^n in ECMA-262's terms.
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1);
    }
    out.push_back('e');
    out.push_back(n - 1 >= 0 ? '+' : '-');
    out += std::to_string(std::abs(n - 1));
  }
}

// RFC 8785 numbers are IEEE doubles: an integer beyond 2^53 would be canonicalized by every other
// implementation as the nearest double, not as its exact digits. Refused, so a third-party verifier
// always computes the bytes we signed (docs/protocol.md).
constexpr uint64_t max_exact_integer = uint64_t{1} << 53;

// An integer beyond 2^53 is kept only when its digits are exactly how ECMAScript writes the nearest double
// (3333330000003333000 is; 9007199254740993 is not): then every RFC 8785 implementation writes the same
// digits, and the canonical form of a double in [2^53, 10^21), which is integer digits, stays canonical
// when read back (the jcs fuzz target found that it did not).
void write_integer(const std::string& digits, uint64_t magnitude, double nearest, std::string& out) {
  if (magnitude > max_exact_integer) {
    std::string as_double;
    write_double(nearest, as_double);
    if (as_double != digits) throw std::invalid_argument("jcs: integer beyond +-2^53 that is not a double's form");
  }
  out += digits;
}

// Deeper documents are refused rather than risking the stack on hostile input.
constexpr int max_depth = 512;

void write_value(const nlohmann::json& value, std::string& out, int depth) {
  if (depth > max_depth) throw std::invalid_argument("jcs: nesting deeper than 512 levels");
  using value_t = nlohmann::json::value_t;
  switch (value.type()) {
    case value_t::null: out += "null"; return;
    case value_t::boolean: out += value.get<bool>() ? "true" : "false"; return;
    case value_t::number_integer: {
      const int64_t v = value.get<int64_t>();
      const uint64_t magnitude = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
      write_integer(std::to_string(v), magnitude, static_cast<double>(v), out);
      return;
    }
    case value_t::number_unsigned: {
      const uint64_t v = value.get<uint64_t>();
      write_integer(std::to_string(v), v, static_cast<double>(v), out);
      return;
    }
    case value_t::number_float: write_double(value.get<double>(), out); return;
    case value_t::string: write_string(value.get_ref<const std::string&>(), out); return;
    case value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : value) {
        if (!first) out.push_back(',');
        first = false;
        write_value(item, out, depth + 1);
      }
      out.push_back(']');
      return;
    }
    case value_t::object: {
      const auto& object = value.get_ref<const nlohmann::json::object_t&>();
      // The map is ordered by bytes, which is UTF-16 order unless a name has a character beyond U+FFFF
      // (a 4-byte UTF-8 sequence, lead byte 0xF0-0xF4): then sort by UTF-16 code units.
      const bool byte_order = std::none_of(object.begin(), object.end(), [](const auto& member) {
        return std::any_of(member.first.begin(), member.first.end(),
                           [](char c) { return static_cast<unsigned char>(c) >= 0xF0; });
      });
      if (byte_order) {
        out.push_back('{');
        bool first = true;
        for (const auto& [name, member] : object) {
          if (!first) out.push_back(',');
          first = false;
          write_string(name, out);
          out.push_back(':');
          write_value(member, out, depth + 1);
        }
        out.push_back('}');
        return;
      }
      struct Member {
        std::u16string sort_key;
        const std::string* name;
        const nlohmann::json* value;
      };
      std::vector<Member> members;
      members.reserve(value.size());
      for (const auto& [name, member] : object)
        members.push_back({to_utf16(name), &name, &member});
      std::sort(members.begin(), members.end(),
                [](const Member& a, const Member& b) { return a.sort_key < b.sort_key; });
      out.push_back('{');
      bool first = true;
      for (const auto& member : members) {
        if (!first) out.push_back(',');
        first = false;
        write_string(*member.name, out);
        out.push_back(':');
        write_value(*member.value, out, depth + 1);
      }
      out.push_back('}');
      return;
    }
    case value_t::binary: throw std::invalid_argument("jcs: binary values are not JSON");
    case value_t::discarded: throw std::invalid_argument("jcs: discarded value");
  }
  throw std::invalid_argument("jcs: unknown value type");
}

}  // namespace

void append_canonical_double(double value, std::string& out) { write_double(value, out); }

void append_canonical_string(std::string_view text, std::string& out) { write_string(text, out); }

void append_escaped(unsigned char byte, std::string& out) {
  static const char* hex = "0123456789abcdef";
  switch (byte) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default:
      out += "\\u00";
      out.push_back(hex[byte >> 4]);
      out.push_back(hex[byte & 0xF]);
  }
}

bool utf16_less(std::string_view a, std::string_view b) { return to_utf16(a) < to_utf16(b); }

std::string canonicalize(const nlohmann::json& value) {
  std::string out;
  write_value(value, out, 0);
  return out;
}

}  // namespace kuzet::core
