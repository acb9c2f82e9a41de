#include <doctest/doctest.h>

#include <cctype>
#include <clocale>
#include <string>

#include "ascii/ascii.hpp"

namespace ascii = kuzet::ascii;
using namespace std::string_literals;

TEST_CASE("trim removes only the named characters, at the named ends") {
  CHECK(ascii::trim(" \t value \t ", ascii::kBlanks) == "value");
  CHECK(ascii::trim("\r\n value\r\n", ascii::kBlanks) == "\r\n value\r\n");  // line ends are not OWS
  CHECK(ascii::trim("\r\n value \r\n", ascii::kBlanksAndLineEnds) == "value");
  CHECK(ascii::trim("\v\f value\v\f", ascii::kBlanksAndLineEnds) == "\v\f value\v\f");
  CHECK(ascii::trim("\v\f\r\n\t value\v\f\r\n\t ", ascii::kWhitespace) == "value");
  CHECK(ascii::trim(" a b ", ascii::kBlanks) == "a b");  // inner blanks stay
  CHECK(ascii::trim("", ascii::kBlanks).empty());
  CHECK(ascii::trim(" \t \t", ascii::kBlanks).empty());
  CHECK(ascii::trim("x", ascii::kBlanks) == "x");
  CHECK(ascii::trim_start("  a  ", ascii::kBlanks) == "a  ");
  CHECK(ascii::trim_end("  a  ", ascii::kBlanks) == "  a");
  CHECK(ascii::trim_end("   ", ascii::kBlanks).empty());
  CHECK(ascii::trim_start("   ", ascii::kBlanks).empty());
  // A NUL is a byte like any other: trimmed only when named.
  CHECK(ascii::trim(" \0a\0 "s, ascii::kBlanks) == "\0a\0"s);
  CHECK(ascii::trim("\0a\0"s, "\0"s) == "a");
  // UTF-8 white space (U+00A0) is not ASCII: it stays.
  CHECK(ascii::trim("\xC2\xA0x\xC2\xA0", ascii::kWhitespace) == "\xC2\xA0x\xC2\xA0");
  // No copy: the result points into the argument.
  const std::string_view padded = "  inside  ";
  CHECK(ascii::trim(padded, ascii::kBlanks).data() == padded.data() + 2);
  CHECK(ascii::trim(padded, ascii::kBlanks).size() == 6);
}

TEST_CASE("kWhitespace is what std::isspace matches in the C locale") {
  std::setlocale(LC_ALL, "C");
  for (int c = 0; c < 256; ++c) {
    CAPTURE(c);
    const bool listed = ascii::kWhitespace.find(static_cast<char>(c)) != std::string_view::npos;
    CHECK(listed == (std::isspace(c) != 0));
  }
}

TEST_CASE("case folding changes only ASCII letters") {
  CHECK(ascii::lower("Content-TYPE: Text/HTML 0-9 [@]") == "content-type: text/html 0-9 [@]");
  CHECK(ascii::upper("kz-ru q=0.5") == "KZ-RU Q=0.5");
  // UTF-8 keeps its bytes: "ДА" and "É" are not folded.
  CHECK(ascii::lower("ДА É") == "ДА É");
  CHECK(ascii::upper("да é") == "да é");
  for (int c = 0; c < 256; ++c) {
    CAPTURE(c);
    const char ch = static_cast<char>(c);
    const bool is_upper = c >= 'A' && c <= 'Z', is_lower = c >= 'a' && c <= 'z';
    CHECK(ascii::lower(ch) == (is_upper ? static_cast<char>(c + 32) : ch));
    CHECK(ascii::upper(ch) == (is_lower ? static_cast<char>(c - 32) : ch));
  }
  std::string s = "MiXeD\xC3\x89";
  ascii::lower_in_place(s);
  CHECK(s == "mixed\xC3\x89");
  static_assert(ascii::lower('Q') == 'q' && ascii::upper('q') == 'Q' && ascii::lower('1') == '1');
}

TEST_CASE("equals_ignoring_case folds ASCII letters and compares everything else exactly") {
  CHECK(ascii::equals_ignoring_case("Transfer-Encoding", "transfer-encoding"));
  CHECK(ascii::equals_ignoring_case("", ""));
  CHECK_FALSE(ascii::equals_ignoring_case("location", "locations"));
  CHECK_FALSE(ascii::equals_ignoring_case("a", ""));
  CHECK_FALSE(ascii::equals_ignoring_case("[", "{"));  // 0x5B and 0x7B are 32 apart but not letters
  CHECK_FALSE(ascii::equals_ignoring_case("@", "`"));
  CHECK_FALSE(ascii::equals_ignoring_case("Д", "д"));  // not ASCII: compared as bytes
  CHECK(ascii::equals_ignoring_case("\xD0\x94", "\xD0\x94"));
  CHECK(ascii::starts_with_ignoring_case("CN=Example", "cn="));
  CHECK(ascii::starts_with_ignoring_case("cn", ""));
  CHECK_FALSE(ascii::starts_with_ignoring_case("CN", "cn="));
  CHECK_FALSE(ascii::starts_with_ignoring_case("O=cn=", "cn="));
}

TEST_CASE("find_ignoring_case behaves as string_view::find, ignoring case") {
  const std::string_view html = "<html><TITLE>a</Title><title>b</title>";
  CHECK(ascii::find_ignoring_case(html, "<title") == 6);
  CHECK(ascii::find_ignoring_case(html, "<title", 7) == 22);
  CHECK(ascii::find_ignoring_case(html, "</TITLE", 0) == 14);
  CHECK(ascii::find_ignoring_case(html, "<body") == std::string_view::npos);
  CHECK(ascii::find_ignoring_case("ab", "abc") == std::string_view::npos);
  CHECK(ascii::find_ignoring_case("abc", "C", 2) == 2);
  CHECK(ascii::find_ignoring_case("abc", "c", 3) == std::string_view::npos);
  CHECK(ascii::find_ignoring_case("abc", "c", 100) == std::string_view::npos);
  // The empty needle, as std::string_view::find has it.
  CHECK(ascii::find_ignoring_case("abc", "", 0) == 0);
  CHECK(ascii::find_ignoring_case("abc", "", 3) == 3);
  CHECK(ascii::find_ignoring_case("abc", "", 4) == std::string_view::npos);
  CHECK(ascii::find_ignoring_case("", "") == 0);
  CHECK(ascii::contains_ignoring_case("SSL routines: Unexpected EOF while reading", "unexpected eof"));
  CHECK_FALSE(ascii::contains_ignoring_case("connection refused", "connection reset"));
  CHECK(ascii::contains_ignoring_case("anything", ""));
}

TEST_CASE("has_control finds C0 bytes and DEL, not UTF-8 or printable ASCII") {
  CHECK_FALSE(kuzet::ascii::has_control(""));
  CHECK_FALSE(kuzet::ascii::has_control("https://\u049b\u0430\u0437.example/ ~"));
  for (const char c : std::string("\0\t\n\r\x1f\x7f", 6)) {
    CAPTURE(static_cast<int>(c));
    CHECK(kuzet::ascii::has_control(std::string("ab") + c + "cd"));
  }
}
