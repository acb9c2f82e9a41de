#include "core/encoding/jcs.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

using kuzet::core::canonicalize;
using nlohmann::json;

namespace {
std::string from_bits(uint64_t bits) { return canonicalize(json(std::bit_cast<double>(bits))); }
}  // namespace

TEST_CASE("RFC 8785 Appendix B number vectors") {
  CHECK(from_bits(0x0000000000000000) == "0");
  CHECK(from_bits(0x8000000000000000) == "0");
  CHECK(from_bits(0x0000000000000001) == "5e-324");
  CHECK(from_bits(0x8000000000000001) == "-5e-324");
  CHECK(from_bits(0x7fefffffffffffff) == "1.7976931348623157e+308");
  CHECK(from_bits(0xffefffffffffffff) == "-1.7976931348623157e+308");
  CHECK(from_bits(0x4340000000000000) == "9007199254740992");
  CHECK(from_bits(0xc340000000000000) == "-9007199254740992");
  CHECK(from_bits(0x4430000000000000) == "295147905179352830000");
  CHECK(from_bits(0x44b52d02c7e14af5) == "9.999999999999997e+22");
  CHECK(from_bits(0x44b52d02c7e14af6) == "1e+23");
  CHECK(from_bits(0x44b52d02c7e14af7) == "1.0000000000000001e+23");
  CHECK(from_bits(0x444b1ae4d6e2ef4e) == "999999999999999700000");
  CHECK(from_bits(0x444b1ae4d6e2ef4f) == "999999999999999900000");
  CHECK(from_bits(0x444b1ae4d6e2ef50) == "1e+21");
  CHECK(from_bits(0x3eb0c6f7a0b5ed8c) == "9.999999999999997e-7");
  CHECK(from_bits(0x3eb0c6f7a0b5ed8d) == "0.000001");
  CHECK(from_bits(0x41b3de4355555553) == "333333333.3333332");
  CHECK(from_bits(0x41b3de4355555554) == "333333333.33333325");
  CHECK(from_bits(0x41b3de4355555555) == "333333333.3333333");
  CHECK(from_bits(0x41b3de4355555556) == "333333333.3333334");
  CHECK(from_bits(0x41b3de4355555557) == "333333333.33333343");
  CHECK(from_bits(0xbecbf647612f3696) == "-0.0000033333333333333333");
  CHECK(from_bits(0x43143ff3c1cb0959) == "1424953923781206.2");
}

TEST_CASE("ECMAScript number forms around the exponent thresholds") {
  CHECK(canonicalize(json(1e30)) == "1e+30");
  CHECK(canonicalize(json(4.5)) == "4.5");
  CHECK(canonicalize(json(0.002)) == "0.002");
  CHECK(canonicalize(json(1e-7)) == "1e-7");
  CHECK(canonicalize(json(1.5e-7)) == "1.5e-7");
  CHECK(canonicalize(json(1e-6)) == "0.000001");
  CHECK(canonicalize(json(1e21)) == "1e+21");
  CHECK(canonicalize(json(1e20)) == "100000000000000000000");
  CHECK(canonicalize(json(-0.0)) == "0");
  CHECK(canonicalize(json(1.0)) == "1");
  CHECK(canonicalize(json(-1.25)) == "-1.25");
  CHECK(canonicalize(json(123.456)) == "123.456");
  CHECK(canonicalize(json(333333333.33333329)) == "333333333.3333333");
  CHECK(canonicalize(json(0.1)) == "0.1");
  CHECK(canonicalize(json(2.5e-300)) == "2.5e-300");
}

TEST_CASE("integers are written in decimal") {
  CHECK(canonicalize(json(0)) == "0");
  CHECK(canonicalize(json(-42)) == "-42");
  CHECK(canonicalize(json(9007199254740992ULL)) == "9007199254740992");
  CHECK(canonicalize(json(-9007199254740992LL)) == "-9007199254740992");
  CHECK(canonicalize(json::parse("-0")) == "0");
}

// An ECMAScript verifier would read 9007199254740993 as the double 9007199254740992 and sign other bytes
// than we did: such integers are refused rather than canonicalized two ways.
TEST_CASE("integers beyond +-2^53 are refused") {
  CHECK_THROWS_AS(canonicalize(json(9007199254740993ULL)), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json(-9007199254740993LL)), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json(std::numeric_limits<int64_t>::min())), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json::parse("18446744073709551615")), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json::parse(R"({"a":[1,9007199254740993]})")), std::invalid_argument);
  // Beyond 64 bits nlohmann reads a double, which canonicalizes as ECMAScript does.
  CHECK(canonicalize(json::parse("18446744073709551616")) == "18446744073709552000");
}

// A double in [2^53, 10^21) is written as integer digits; read back, those are an integer beyond 2^53 that
// is exactly the ECMAScript form of a double: kept, so the canonical form is a fixed point (jcs fuzz target).
TEST_CASE("the canonical form of a large double is canonical again") {
  const std::string once = canonicalize(json::parse("[3333330000003333333.3329, 1e20]"));
  CHECK(once == "[3333330000003333000,100000000000000000000]");
  CHECK(canonicalize(json::parse(once)) == once);
  CHECK(canonicalize(json(9007199254740994ULL)) == "9007199254740994");  // a double exactly
  CHECK_THROWS_AS(canonicalize(json(9007199254740995ULL)), std::invalid_argument);
}

TEST_CASE("NaN and infinity are refused") {
  CHECK_THROWS_AS(canonicalize(json(std::numeric_limits<double>::quiet_NaN())), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json(std::numeric_limits<double>::infinity())), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json::array({1, -std::numeric_limits<double>::infinity()})), std::invalid_argument);
}

TEST_CASE("RFC 8785 section 3.2.3 sorting by UTF-16 code units") {
  const auto input = json::parse(R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })");
  const std::string expected =
      "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\","
      "\"\u00f6\":\"Latin Small Letter O With Diaeresis\",\"\u20ac\":\"Euro Sign\","
      "\"\xF0\x9F\x98\x80\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}";
  CHECK(canonicalize(input) == expected);
}

TEST_CASE("RFC 8785 section 3.2.2 example document") {
  const auto input = json::parse(R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })");
  const std::string expected =
      "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
      "\"string\":\"\u20ac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
  CHECK(canonicalize(input) == expected);
}

TEST_CASE("minimal string escapes") {
  CHECK(canonicalize(json("a\b\t\n\f\r\"\\z")) == R"("a\b\t\n\f\r\"\\z")");
  CHECK(canonicalize(json(std::string("\x00\x01\x1f\x7f", 4))) == "\"\\u0000\\u0001\\u001f\x7f\"");
  CHECK(canonicalize(json("/<>&\u2028")) == "\"/<>&\u2028\"");
}

TEST_CASE("runs between escapes are copied whole; names sort by UTF-16 with or without characters beyond U+FFFF") {
  // Escapes at the start, the end, back to back and between long runs (the writer copies runs, not bytes).
  const std::string run(300, 'r');
  CHECK(canonicalize(json("\n" + run + "\"\"" + run + "\x01")) == "\"\\n" + run + "\\\"\\\"" + run + "\\u0001\"");
  // Byte order of the parsed map is UTF-16 order while no name leaves the BMP...
  CHECK(canonicalize(json::parse(R"({"\u00e9":1,"z":2,"\uffff":3,"a":4})")) == "{\"a\":4,\"z\":2,\"\u00e9\":1,\"\uffff\":3}");
  // ...and is not once one does: U+1F600 (UTF-16 D83D...) sorts before U+FFFF, after it by bytes.
  CHECK(canonicalize(json::parse(R"({"\uffff":1,"\ud83d\ude00":2,"a":3})")) == "{\"a\":3,\"\U0001F600\":2,\"\uffff\":1}");
  // Invalid UTF-8 in a name or a value is still refused.
  CHECK_THROWS_AS(canonicalize(json{{std::string("\xc3"), 1}}), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json(run + "\xed\xa0\x80")), std::invalid_argument);
}

TEST_CASE("whitespace and key order of the input do not matter") {
  const auto a = json::parse(R"({"b": [1, 2, {"y": 1, "x": 2}], "a": "s"})");
  const auto b = json::parse(R"({ "a" : "s" ,
                                  "b":[1,2,{"x":2,"y":1}]})");
  CHECK(canonicalize(a) == R"({"a":"s","b":[1,2,{"x":2,"y":1}]})");
  CHECK(canonicalize(a) == canonicalize(b));
}

TEST_CASE("invalid UTF-8 is refused, in values and in keys") {
  CHECK_THROWS_AS(canonicalize(json(std::string("\xff"))), std::invalid_argument);
  CHECK_THROWS_AS(canonicalize(json(std::string("\xc0\xaf"))), std::invalid_argument);       // overlong '/'
  CHECK_THROWS_AS(canonicalize(json(std::string("\xed\xa0\x80"))), std::invalid_argument);   // surrogate
  CHECK_THROWS_AS(canonicalize(json(std::string("\xf4\x90\x80\x80"))), std::invalid_argument);  // > U+10FFFF
  CHECK_THROWS_AS(canonicalize(json(std::string("ab\xe2\x82"))), std::invalid_argument);     // truncated
  json object = json::object();
  object[std::string("k\x80")] = 1;
  CHECK_THROWS_AS(canonicalize(object), std::invalid_argument);
}

TEST_CASE("absurd nesting is refused instead of exhausting the stack") {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  const auto value = json::parse(deep);
  CHECK_THROWS_AS(canonicalize(value), std::invalid_argument);
  std::string fine(100, '[');
  fine += std::string(100, ']');
  CHECK(canonicalize(json::parse(fine)) == fine);
}
