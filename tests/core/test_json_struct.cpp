// core::json_get / json_value and KUZET_JSON_DEF: an integer field takes only an integer it can hold. The
// hostile-collector fuzzer found a control reply with "asn": 1.5e51 that nlohmann cast into a uint32_t
// (undefined behaviour); such a document is now refused like any other type mismatch.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/encoding/json_struct.hpp"

namespace {

struct Hop {
  uint32_t asn = 0;
  int ttl = -1;
  double ms = 0;
  std::string name;
  std::vector<int> ids;
};
KUZET_JSON_DEF(Hop, asn, ttl, ms, name, ids)
#undef KUZET_JSON_DEF

using nlohmann::json;
using kuzet::core::json_get;
using kuzet::core::json_value;

}  // namespace

TEST_CASE("integers that fit are read; floats and integers out of range are refused") {
  CHECK(json_get<uint32_t>(json::parse("4294967295")) == 4294967295u);
  CHECK(json_get<int>(json::parse("-7")) == -7);
  CHECK(json_get<int64_t>(json::parse("-9223372036854775808")) == INT64_MIN);
  CHECK_THROWS_AS(json_get<uint32_t>(json::parse("4294967303")), json::out_of_range);  // 2^32 + 7, not 7
  CHECK_THROWS_AS(json_get<uint32_t>(json::parse("-1")), json::out_of_range);
  CHECK_THROWS_AS(json_get<int>(json::parse("1e300")), json::type_error);
  CHECK_THROWS_AS(json_get<int>(json::parse("3.0")), json::type_error);
  CHECK_THROWS_AS(json_get<int>(json::parse("\"3\"")), json::type_error);
  CHECK(json_get<double>(json::parse("1e300")) == 1e300);  // a double field still takes any number
}

TEST_CASE("lists of integers are checked element by element") {
  CHECK(json_get<std::vector<int>>(json::parse("[64, 128]")) == std::vector<int>{64, 128});
  CHECK_THROWS_AS(json_get<std::vector<int>>(json::parse("[64, 1e99]")), json::type_error);
  CHECK_THROWS_AS(json_get<std::vector<int>>(json::parse("{}")), json::type_error);
}

TEST_CASE("json_value: the fallback only when the key is missing") {
  const auto j = json::parse(R"({"ttl": 64, "bad": 2.5})");
  CHECK(json_value(j, "ttl", 0) == 64);
  CHECK(json_value(j, "missing", -1) == -1);
  CHECK_THROWS_AS(json_value(j, "bad", 0), json::type_error);
  CHECK_THROWS_AS(json_value(json::parse("[]"), "ttl", 0), json::type_error);  // not an object
}

TEST_CASE("KUZET_JSON_DEF structs read through the checked getters") {
  const auto hop = json::parse(R"({"asn": 9198, "ttl": 3, "ms": 1.5, "name": "x", "ids": [1, 2]})").get<Hop>();
  CHECK(hop.asn == 9198);
  CHECK(hop.ids.size() == 2);
  CHECK(json::parse("{}").get<Hop>().ttl == -1);  // defaults for what is missing
  CHECK_THROWS_AS(json::parse(R"({"asn": 1.5e51})").get<Hop>(), json::exception);
  CHECK_THROWS_AS(json::parse(R"({"asn": 4294967296})").get<Hop>(), json::exception);
  CHECK_THROWS_AS(json::parse(R"({"ids": [1, -1e300]})").get<Hop>(), json::exception);
}
