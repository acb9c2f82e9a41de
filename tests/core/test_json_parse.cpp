// The bounded, strict JSON parser every entry point uses (core/encoding/json_parse.hpp).
#include "core/encoding/json_parse.hpp"

#include <doctest/doctest.h>

#include <string>

using kuzet::core::JsonLimits;
using kuzet::core::parse_json;

TEST_CASE("a well-formed document parses to the same value as nlohmann's parser") {
  const std::string text = R"( {"a": [1, -2, 3.5, true, null, "x\u00e9"], "b": {"c": {}}, "d": []} )";
  const auto parsed = parse_json(text, JsonLimits{});
  REQUIRE(parsed.ok());
  CHECK(parsed.value == nlohmann::json::parse(text));
  CHECK(parse_json("7", JsonLimits{}).value == 7);
  CHECK(parse_json("\"s\"", JsonLimits{}).value == "s");
}

TEST_CASE("duplicate keys are refused at any depth") {
  // nlohmann alone keeps the last "measurement": the bytes would show the first one.
  CHECK(nlohmann::json::parse(R"({"measurement": 1, "measurement": 2})")["measurement"] == 2);
  const auto top = parse_json(R"({"measurement": 1, "measurement": 2})", JsonLimits{});
  CHECK_FALSE(top.ok());
  CHECK(top.error.find("duplicate key \"measurement\"") != std::string::npos);
  CHECK(top.value.is_null());
  CHECK_FALSE(parse_json(R"({"a": [{"x": 1, "y": 2, "x": 1}]})", JsonLimits{}).ok());
  // The same key in sibling objects is not a duplicate; an escaped spelling of the same key is.
  CHECK(parse_json(R"([{"x": 1}, {"x": 2}, {"a": {"x": 3}, "x": 4}])", JsonLimits{}).ok());
  CHECK_FALSE(parse_json(R"({"x": 1, "\u0078": 2})", JsonLimits{}).ok());
}

TEST_CASE("nesting deeper than the limit is refused without building it") {
  JsonLimits limits;
  limits.max_depth = 4;
  CHECK(parse_json("[[[[1]]]]", limits).ok());
  const auto deep = parse_json("[[[[[1]]]]]", limits);
  CHECK_FALSE(deep.ok());
  CHECK(deep.error.find("nested deeper than 4") != std::string::npos);
  CHECK_FALSE(parse_json(R"({"a":{"b":{"c":{"d":{}}}}})", limits).ok());
  // Unterminated and huge: stops at the limit, not at the end.
  CHECK_FALSE(parse_json(std::string(1 << 20, '['), limits).ok());
}

TEST_CASE("size and value-count limits") {
  JsonLimits limits;
  limits.max_bytes = 10;
  CHECK(parse_json("[1,2,3,4]", limits).ok());
  CHECK(parse_json("[1,2,3,4,5]", limits).error == "larger than 10 bytes");
  limits.max_bytes = 1 << 20;
  limits.max_values = 5;
  CHECK(parse_json("[1,2,3,4]", limits).ok());  // the array and four numbers
  CHECK_FALSE(parse_json("[1,2,3,4,5]", limits).ok());
  CHECK_FALSE(parse_json("[{},{},{},{},{}]", limits).ok());
}

TEST_CASE("what is not one JSON document is an error, never an exception") {
  for (const char* bad : {"", " ", "{", "[1,]", "{\"a\" 1}", "[1] [2]", "nul", "1e999", "\"\\ud800\"", "{\"a\":1}x",
                          "\x80", "[\"\xff\"]"}) {
    CAPTURE(bad);
    const auto parsed = parse_json(bad, JsonLimits{});
    CHECK_FALSE(parsed.ok());
    CHECK(parsed.value.is_null());
  }
}

TEST_CASE("nothing may follow the document, not even after a NUL byte") {
  // nlohmann alone stops reading at a NUL: the bytes after it would be stored unsigned.
  const std::string hidden("{\"a\":1}\0{\"b\":2}", 15);
  CHECK(nlohmann::json::accept(hidden));
  CHECK_FALSE(parse_json(hidden, JsonLimits{}).ok());
  CHECK_FALSE(parse_json(std::string("1\0", 2), JsonLimits{}).ok());
  CHECK_FALSE(parse_json(std::string("[\"a\0\"]", 6), JsonLimits{}).ok());
}
