// The one-pass reader (core/encoding/canonical_json.hpp) writes what canonicalize(parse_json(text)) writes and refuses
// what either refuses; a few rare forms are left to them ("unsupported"). The json_canonical fuzz target
// compares the two on arbitrary bytes; these are the cases named.
#include "core/encoding/canonical_json.hpp"
#include "core/encoding/jcs.hpp"
#include "core/encoding/json_parse.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using kuzet::core::canonical_json;
using kuzet::core::JsonLimits;

namespace {

std::string by_dom(const std::string& text) {
  return kuzet::core::canonicalize(kuzet::core::parse_json(text, JsonLimits{}).value);
}

}  // namespace

TEST_CASE("canonical_json writes the bytes canonicalize writes from the DOM") {
  const std::vector<std::string> documents = {
      R"( {"b": 1, "a": [true, false, null], "c": {"z": "x", "y": -0}} )",
      R"(["\u00e9\n\t\"\\\/\b\f\r\u001f\u007f", "é€😀", "\u0000"])",
      R"({"\ud83d\ude00": 1, "\uffff": 2, "\ue000": 3, "a": 4})",  // UTF-16 order: U+1F600 before U+E000
      R"([0, -0, 1.0, -0.0, 1e2, 1E-7, 0.1, 1.5e300, 5e-324, 9007199254740992, -9007199254740992, 123])",
      R"({"a": {}, "b": [], "c": "", "d": [[{"y": 1, "x": [2]}]]})",
      "\xEF\xBB\xBF [1]",
      R"("top")",
  };
  for (const auto& text : documents) {
    const auto fast = canonical_json(text, JsonLimits{});
    REQUIRE_MESSAGE(fast.ok(), text << ": " << fast.error);
    CHECK_MESSAGE(fast.canonical == by_dom(text), text);
  }
  CHECK(canonical_json(R"({"b":1,"a":2})", JsonLimits{}).canonical == R"({"a":2,"b":1})");
}

// The reader skips plain bytes eight at a time; each byte that ends a plain run must stop it wherever it
// falls in those eight, and bytes just inside the plain range must not.
TEST_CASE("canonical_json finds a string's special byte at every offset of a long plain run") {
  const std::vector<std::string> specials = {
      "\\\"", "\\\\", "\\n", "\\u0001",                                    // escapes
      "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\x7F",               // UTF-8 and DEL, valid
      " ", "~", "!", "#", "[", "]",                                        // plain bytes near the special ones
      "\"", "\x01", "\x1F", "\xC0\xAF", "\xED\xA0\x80", "\x80", "\xFF"};  // refused
  for (size_t offset = 0; offset < 20; ++offset) {
    for (const auto& special : specials) {
      const std::string text = "[\"" + std::string(offset, 'a') + special + std::string(19 - offset, 'b') + "\", 1]";
      const bool valid = kuzet::core::parse_json(text, JsonLimits{}).ok();
      const auto fast = canonical_json(text, JsonLimits{});
      CHECK_MESSAGE(fast.ok() == valid, offset << ": " << text);
      if (valid && fast.ok()) CHECK_MESSAGE(fast.canonical == by_dom(text), offset << ": " << text);
    }
  }
  // An unterminated string whose last eight bytes are plain: refused, not read past the end.
  CHECK(!canonical_json("[\"" + std::string(64, 'a'), JsonLimits{}).ok());
}

TEST_CASE("canonical_json refuses what parse_json refuses") {
  const std::vector<std::string> refused = {
      R"({"a": 1, "a": 2})",        R"({"a": 1, "\u0061": 2})",  R"({"x": {"k": 1, "j": 2, "k": 3}})",
      R"(["\ud800"])",              R"(["\udc00"])",             R"(["\ud800\u0041"])",
      "[\"a\x01" "b\"]",               "[\"\xC0\xAF\"]",            "[\"\xED\xA0\x80\"]",
      "[\"\xE2\x82\"]",             "[\"\xF4\x90\x80\x80\"]",    R"([01])",
      R"([1.])",                    R"([-])",                    R"([tru])",
      R"({"a": 1} x)",              R"({"a" 1})",                R"([1,])",
      R"({"a":1,})",                "",                          R"(["\x"])",
      R"(["unterminated)",          R"([1 2])",                  R"({1: 2})",
  };
  for (const auto& text : refused) {
    const auto fast = canonical_json(text, JsonLimits{});
    CHECK_MESSAGE(!fast.ok(), text);
    CHECK_MESSAGE(!fast.unsupported, text);
    CHECK_MESSAGE(!kuzet::core::parse_json(text, JsonLimits{}).ok(), text);
  }
}

TEST_CASE("canonical_json holds the limits of parse_json") {
  JsonLimits limits;
  limits.max_depth = 4;
  CHECK(canonical_json("[[[[1]]]]", limits).ok());
  CHECK_FALSE(canonical_json("[[[[[1]]]]]", limits).ok());
  limits = JsonLimits{};
  limits.max_values = 3;
  CHECK(canonical_json("[1,2]", limits).ok());
  CHECK_FALSE(canonical_json("[1,2,3]", limits).ok());
  limits = JsonLimits{};
  limits.max_bytes = 4;
  CHECK(canonical_json("[12]", limits).ok());
  CHECK_FALSE(canonical_json("[123]", limits).ok());
}

TEST_CASE("integers beyond 2^53 and numbers beyond a double are left to the DOM path") {
  for (const std::string text : {"[9007199254740993]", "[3333330000003333000]", "[18446744073709551616]", "[1e400]",
                                 "[1e-400]"}) {
    const auto fast = canonical_json(text, JsonLimits{});
    CHECK_MESSAGE(!fast.ok(), text);
    CHECK_MESSAGE(fast.unsupported, text);
  }
}

TEST_CASE("members of the root object and of its members' objects, with their raw and canonical bytes") {
  const std::string text = R"({"m": {"uid": "u", "n": {"asn": 1}, "list": [{"deep": 1}]}, "k" : "v" })";
  const auto fast = canonical_json(text, JsonLimits{}, 2);
  REQUIRE(fast.ok());
  REQUIRE(fast.members.size() == 5);
  CHECK(fast.members[0].name == "m");
  CHECK(fast.members[0].parent == kuzet::core::kNoParent);
  CHECK(fast.members[0].canonical == R"({"list":[{"deep":1}],"n":{"asn":1},"uid":"u"})");
  CHECK(fast.members[1].name == "uid");
  CHECK(fast.members[1].parent == 0);
  CHECK(fast.members[1].raw == R"("u")");
  CHECK(fast.members[1].canonical.empty());  // only the root's members carry theirs
  CHECK(fast.members[2].name == "n");
  CHECK(fast.members[2].raw == R"({"asn": 1})");
  CHECK(fast.members[3].name == "list");
  CHECK(fast.members[4].name == "k");
  CHECK(fast.members[4].parent == kuzet::core::kNoParent);
  CHECK(fast.members[4].raw == R"("v")");
  CHECK(canonical_json(text, JsonLimits{}, 1).members.size() == 2);
  CHECK(canonical_json(text, JsonLimits{}).members.empty());
}
