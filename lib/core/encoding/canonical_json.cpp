#include "core/encoding/canonical_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <system_error>

#include "core/encoding/jcs.hpp"

namespace kuzet::core {
namespace {

// Beyond this an integer's canonical form depends on the nearest double (core/encoding/jcs.cpp): left to canonicalize.
constexpr uint64_t kMaxExactInteger = uint64_t{1} << 53;
// core::canonicalize refuses deeper documents.
constexpr size_t kCanonicalizeMaxDepth = 512;

struct Refused {
  std::string why;
  bool unsupported;
};

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Whether any of the 8 bytes at `p` ends a plain run in a string: below 0x20, '"', '\\' or 0x80 and above.
// Eight bytes a test (bit tricks that are exact for "is there any"), where a byte loop tests four conditions a byte.
bool any_special(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  uint64_t x;
  std::memcpy(&x, p, sizeof x);
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHighs; };
  const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHighs;
  return ((x & kHighs) | below_space | has_zero(x ^ (kOnes * '"')) | has_zero(x ^ (kOnes * '\\'))) != 0;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A code point from an escape, as RFC 8785 §3.2.2.2 writes it: '"', '\\' and controls escaped, the rest as is.
void append_canonical_code_point(char32_t cp, std::string& out) {
  if (cp < 0x20 || cp == '"' || cp == '\\') return append_escaped(static_cast<unsigned char>(cp), out);
  append_utf8(cp, out);
}

class Reader {
 public:
  Reader(std::string_view text, const JsonLimits& limits, size_t member_depth, CanonicalJson& result)
      : s_(text), limits_(limits), member_depth_(member_depth), result_(result), out_(result.canonical) {}

  void run() {
    if (s_.size() > limits_.max_bytes) refuse("larger than " + std::to_string(limits_.max_bytes) + " bytes");
    out_.reserve(s_.size());
    if (member_depth_ > 0) result_.members.reserve(32);
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // a UTF-8 byte order mark, which nlohmann skips too
    bool need_value = true;
    for (;;) {
      if (need_value) {
        skip_ws();
        if (++values_ > limits_.max_values) refuse("more than " + std::to_string(limits_.max_values) + " values");
        const char c = peek();
        if (c == '{' || c == '[') {
          open(c == '{');
          skip_ws();
          if (peek() == (c == '{' ? '}' : ']')) {
            ++pos_;
            close();
            need_value = false;
          } else if (c == '{') {
            read_key();
          }
          continue;
        }
        scalar(c);
        value_end_ = pos_;
        need_value = false;
      }
      if (stack_.empty()) break;
      Frame& frame = stack_.back();
      skip_ws();
      const char c = peek();
      if (c == ',') {
        ++pos_;
        if (frame.object) end_member(frame);
        out_.push_back(',');
        if (frame.object) read_key();
        need_value = true;
      } else if (c == (frame.object ? '}' : ']')) {
        ++pos_;
        if (frame.object) end_member(frame);
        close();
      } else {
        refuse(frame.object ? "',' or '}' expected" : "',' or ']' expected");
      }
    }
    skip_ws();
    if (pos_ != s_.size()) refuse("trailing bytes after the document");
  }

 private:
  struct Frame {
    bool object = false;
    size_t out_begin = 0;       // where its '{' or '[' is in out_
    size_t first_member = 0;    // its members in members_, their names in keys_
    size_t keys_begin = 0;
    bool record = false;        // its members go to result_.members
    size_t parent = kNoParent;  // their parent there
    size_t current = kNoParent;  // result_.members index of the member being read (record only)
    size_t raw_begin = 0;        // the current member's value in s_ and in out_
    size_t value_out_begin = 0;
  };
  struct Member {
    size_t key_begin, key_size;  // decoded name in keys_
    size_t out_begin, out_end;   // `"name":value` in out_
  };

  [[noreturn]] void refuse(std::string why, bool unsupported = false) {
    throw Refused{std::move(why) + " at byte " + std::to_string(pos_), unsupported};
  }

  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && is_ws(s_[pos_])) ++pos_;
  }
  void expect(char c, const char* why) {
    skip_ws();
    if (peek() != c) refuse(why);
    ++pos_;
  }

  void open(bool object) {
    if (stack_.size() >= limits_.max_depth)
      refuse("nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    if (stack_.size() >= kCanonicalizeMaxDepth) refuse("nested deeper than canonicalize goes", true);
    Frame frame;
    frame.object = object;
    frame.out_begin = out_.size();
    frame.first_member = members_.size();
    frame.keys_begin = keys_.size();
    if (object) {
      if (stack_.empty()) {
        frame.record = member_depth_ >= 1;
      } else if (const Frame& parent = stack_.back(); parent.record && parent.current != kNoParent &&
                                                      parent.raw_begin == pos_ && stack_.size() < member_depth_) {
        frame.record = true;  // the value of a recorded member, not deeper than member_depth_
        frame.parent = parent.current;
      }
    }
    stack_.push_back(frame);
    ++pos_;
    out_.push_back(object ? '{' : '[');
  }

  // The member name and ':'; leaves pos_ at its value.
  void read_key() {
    skip_ws();
    if (peek() != '"') refuse("object key expected");
    Frame& frame = stack_.back();
    Member member{keys_.size(), 0, out_.size(), 0};
    read_string(&keys_);
    member.key_size = keys_.size() - member.key_begin;
    members_.push_back(member);
    expect(':', "':' expected");
    out_.push_back(':');
    skip_ws();
    if (frame.record) {
      frame.current = result_.members.size();
      JsonMember recorded;
      recorded.parent = frame.parent;
      recorded.name.assign(keys_, member.key_begin, member.key_size);
      result_.members.push_back(std::move(recorded));
    }
    frame.raw_begin = pos_;
    frame.value_out_begin = out_.size();
  }

  void end_member(Frame& frame) {
    members_.back().out_end = out_.size();
    if (!frame.record) return;
    JsonMember& member = result_.members[frame.current];
    member.raw = s_.substr(frame.raw_begin, value_end_ - frame.raw_begin);
    if (member.parent == kNoParent)
      member.canonical.assign(out_, frame.value_out_begin, out_.size() - frame.value_out_begin);
    frame.current = kNoParent;
  }

  std::string_view key(const Member& m) const { return std::string_view(keys_).substr(m.key_begin, m.key_size); }

  // Closes the innermost container; an object's members are put in RFC 8785 order (unless they already are).
  void close() {
    const Frame frame = stack_.back();
    stack_.pop_back();
    if (frame.object) {
      const auto first = members_.begin() + static_cast<ptrdiff_t>(frame.first_member);
      const bool utf16 = std::any_of(keys_.begin() + static_cast<ptrdiff_t>(frame.keys_begin), keys_.end(),
                                     [](char c) { return static_cast<unsigned char>(c) >= 0xF0; });
      auto less = [&](const Member& a, const Member& b) {
        return utf16 ? utf16_less(key(a), key(b)) : key(a) < key(b);
      };
      bool ordered = true;
      for (auto it = first; it != members_.end() && ordered; ++it)
        if (it != first && !less(*(it - 1), *it)) ordered = false;
      if (!ordered) {
        std::sort(first, members_.end(), less);
        for (auto it = first + 1; it < members_.end(); ++it)
          if (!less(*(it - 1), *it)) refuse("duplicate key \"" + std::string(key(*it).substr(0, 64)) + "\"");
        scratch_.assign(out_, frame.out_begin, std::string::npos);
        out_.resize(frame.out_begin + 1);
        for (auto it = first; it != members_.end(); ++it) {
          if (it != first) out_.push_back(',');
          out_.append(scratch_, it->out_begin - frame.out_begin, it->out_end - it->out_begin);
        }
      }
      keys_.resize(frame.keys_begin);
      members_.erase(first, members_.end());
    }
    out_.push_back(frame.object ? '}' : ']');
    value_end_ = pos_;
  }

  void scalar(char c) {
    switch (c) {
      case '"': read_string(nullptr); return;
      case 't': literal("true"); return;
      case 'f': literal("false"); return;
      case 'n': literal("null"); return;
      default:
        if (c == '-' || is_digit(c)) return read_number();
        refuse(pos_ >= s_.size() ? "value expected" : "invalid literal");
    }
  }

  void literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) refuse("invalid literal");
    pos_ += word.size();
    out_ += word;
  }

  void read_number() {
    const size_t start = pos_;
    bool is_float = false;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (is_digit(peek())) {
      while (is_digit(peek())) ++pos_;
    } else {
      refuse("invalid number");
    }
    if (peek() == '.') {
      ++pos_;
      if (!is_digit(peek())) refuse("invalid number");
      while (is_digit(peek())) ++pos_;
      is_float = true;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!is_digit(peek())) refuse("invalid number");
      while (is_digit(peek())) ++pos_;
      is_float = true;
    }
    const std::string_view number = s_.substr(start, pos_ - start);
    if (!is_float) {  // nlohmann keeps it an integer when it fits 64 bits; canonicalize writes its digits
      const bool negative = number[0] == '-';
      uint64_t magnitude = 0;
      const auto digits = number.substr(negative ? 1 : 0);
      const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude);
      if (parsed.ec != std::errc() || magnitude > kMaxExactInteger) refuse("integer beyond +-2^53", true);
      if (magnitude == 0) out_.push_back('0');  // "-0" too
      else out_ += number;
      return;
    }
    double value = 0;
    const auto parsed = std::from_chars(number.data(), number.data() + number.size(), value);
    if (parsed.ec != std::errc() || parsed.ptr != number.data() + number.size())
      refuse("number beyond a double's range", true);
    append_canonical_double(value, out_);
  }

  // A string at pos_, written in canonical form to out_ and, decoded, to *decoded when not null.
  void read_string(std::string* decoded) {
    ++pos_;
    out_.push_back('"');
    size_t run = pos_;  // bytes copied as they are, in runs
    auto flush = [&] {
      out_.append(s_.data() + run, pos_ - run);
      if (decoded) decoded->append(s_.data() + run, pos_ - run);
    };
    for (;;) {
      while (pos_ + 8 <= s_.size() && !any_special(s_.data() + pos_)) pos_ += 8;
      while (pos_ < s_.size()) {  // plain ASCII: most of every measurement
        const auto c = static_cast<unsigned char>(s_[pos_]);
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
        ++pos_;
      }
      if (pos_ >= s_.size()) refuse("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        flush();
        ++pos_;
        out_.push_back('"');
        return;
      }
      if (c < 0x20) refuse("control character in a string");
      if (c == '\\') {
        flush();
        const char32_t cp = read_escape();
        append_canonical_code_point(cp, out_);
        if (decoded) append_utf8(cp, *decoded);
        run = pos_;
        continue;
      }
      skip_utf8_sequence(c);
    }
  }

  uint32_t read_hex4() {
    if (pos_ + 4 > s_.size()) refuse("truncated \\u escape");
    uint32_t value = 0;
    for (size_t i = 0; i < 4; ++i) {
      const int digit = hex_value(s_[pos_ + i]);
      if (digit < 0) refuse("bad \\u escape");
      value = (value << 4) | static_cast<uint32_t>(digit);
    }
    pos_ += 4;
    return value;
  }

  // At '\\': the escaped code point; a high surrogate must be followed by an escaped low one.
  char32_t read_escape() {
    ++pos_;
    const char e = peek();
    ++pos_;
    switch (e) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': break;
      default: --pos_; refuse("bad escape");
    }
    const uint32_t unit = read_hex4();
    if (unit >= 0xDC00 && unit <= 0xDFFF) refuse("lone low surrogate");
    if (unit < 0xD800 || unit > 0xDBFF) return unit;
    if (s_.substr(pos_, 2) != "\\u") refuse("high surrogate without its low surrogate");
    pos_ += 2;
    const uint32_t low = read_hex4();
    if (low < 0xDC00 || low > 0xDFFF) refuse("high surrogate without its low surrogate");
    return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
  }

  // Strict UTF-8 (RFC 3629, as nlohmann's lexer checks it): no overlongs, no surrogates, nothing past U+10FFFF.
  void skip_utf8_sequence(unsigned char lead) {
    unsigned char low = 0x80, high = 0xBF;
    size_t length = 0;
    if (lead >= 0xC2 && lead <= 0xDF) length = 2;
    else if (lead == 0xE0) length = 3, low = 0xA0;
    else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) length = 3;
    else if (lead == 0xED) length = 3, high = 0x9F;
    else if (lead == 0xF0) length = 4, low = 0x90;
    else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
    else if (lead == 0xF4) length = 4, high = 0x8F;
    else refuse("invalid UTF-8");
    if (pos_ + length > s_.size()) refuse("invalid UTF-8");
    for (size_t i = 1; i < length; ++i) {
      const auto next = static_cast<unsigned char>(s_[pos_ + i]);
      if (next < (i == 1 ? low : 0x80) || next > (i == 1 ? high : 0xBF)) refuse("invalid UTF-8");
    }
    pos_ += length;
  }

  std::string_view s_;
  const JsonLimits& limits_;
  size_t member_depth_;
  CanonicalJson& result_;
  std::string& out_;
  size_t pos_ = 0;
  size_t values_ = 0;
  size_t value_end_ = 0;  // just past the last value read
  std::vector<Frame> stack_;
  std::vector<Member> members_;  // of the open objects, innermost last
  std::string keys_;             // their decoded names
  std::string scratch_;
};

}  // namespace

CanonicalJson canonical_json(std::string_view text, const JsonLimits& limits, size_t member_depth) {
  CanonicalJson result;
  try {
    Reader(text, limits, member_depth, result).run();
  } catch (const Refused& refused) {
    result.error = refused.why;
    result.unsupported = refused.unsupported;
  } catch (const std::exception& e) {  // bad_alloc
    result.error = e.what();
    result.unsupported = true;
  }
  if (!result.ok()) {
    result.canonical.clear();
    result.members.clear();
  }
  return result;
}

}  // namespace kuzet::core
