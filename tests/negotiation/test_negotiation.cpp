#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "negotiation/negotiation.hpp"

namespace negotiation = kuzet::negotiation;

namespace {

// "value q position" for every element the list gives.
std::vector<std::string> elements(std::string_view header) {
  std::vector<std::string> out;
  negotiation::WeightedList list(header);
  for (negotiation::Weighted e; list.next(e);)
    out.push_back(std::string(e.value) + " " + std::to_string(e.q) + " " + std::to_string(e.position));
  return out;
}

}  // namespace

TEST_CASE("qvalues are read in thousandths; anything outside RFC 9110's grammar is malformed") {
  CHECK(negotiation::parse_qvalue("0") == 0);
  CHECK(negotiation::parse_qvalue("1") == 1000);
  CHECK(negotiation::parse_qvalue("0.5") == 500);
  CHECK(negotiation::parse_qvalue("0.05") == 50);
  CHECK(negotiation::parse_qvalue("0.123") == 123);
  CHECK(negotiation::parse_qvalue("1.000") == 1000);
  CHECK(negotiation::parse_qvalue("0.") == 0);
  CHECK(negotiation::parse_qvalue("1.") == 1000);
  for (const char* bad : {"", "2", "1.001", "0.1234", ".5", "-0", "0,5", "1e0", "0.5 ", " 0.5", "0.x", "inf"}) {
    CAPTURE(bad);
    CHECK(negotiation::parse_qvalue(bad) == -1);
  }
}

TEST_CASE("a weighted list gives its elements in order, trimmed, with their q and place") {
  CHECK(elements("text/html,application/xml;q=0.9, */*;q=0.8") ==
        std::vector<std::string>{"text/html 1000 1", "application/xml 900 2", "*/* 800 3"});
  CHECK(elements(" \tru-RU ;level=1; Q = 0.7\t, kk") == std::vector<std::string>{"ru-RU 700 1", "kk 1000 2"});
  // Empty values and malformed q-values are skipped but keep their place.
  CHECK(elements(",ru;q=2, ;q=0.5,kk;q=0") == std::vector<std::string>{"kk 0 4"});
  CHECK(elements("a;q=0.5;q=0.7") == std::vector<std::string>{"a 700 1"});  // the last q counts
  CHECK(elements("a;q=0.5;q=x") == std::vector<std::string>{});             // any malformed q drops it
  CHECK(elements("a;x;y=;=z") == std::vector<std::string>{"a 1000 1"});     // other parameters ignored
  CHECK(elements("").empty());
  CHECK(elements(",,,").empty());
  // Views into the header, not copies.
  const std::string header = "en, ru";
  negotiation::WeightedList list(header);
  negotiation::Weighted e;
  REQUIRE(list.next(e));
  CHECK(e.value.data() == header.data());
  REQUIRE(list.next(e));
  CHECK(e.value.data() == header.data() + 4);
  CHECK_FALSE(list.next(e));
}

TEST_CASE("only the first kScanBytes are read; the element the cap cuts through is dropped") {
  const size_t cap = negotiation::kScanBytes;
  const std::string head = "a," + std::string(cap - 4, ' ') + "bc";  // exactly the cap
  REQUIRE(head.size() == cap);
  CHECK(elements(head) == std::vector<std::string>{"a 1000 1", "bc 1000 2"});
  CHECK(elements(head + "d") == std::vector<std::string>{"a 1000 1"});            // "bcd" cut to "bc": dropped
  CHECK(elements(head + ";q=0") == std::vector<std::string>{"a 1000 1"});         // its q cut off: dropped
  CHECK(elements(head + ",d") == std::vector<std::string>{"a 1000 1", "bc 1000 2"});  // ends at the cap
  CHECK(elements(std::string(cap + 1, 'x')).empty());
  // 100 KB: what lies beyond the cap is never seen.
  std::string hostile = "first;q=0.5";
  while (hostile.size() < 100 * 1024) hostile += ", x;q=0";
  const auto read = elements(hostile + ", last");
  REQUIRE(!read.empty());
  CHECK(read.front() == "first 500 1");
  CHECK(read.size() < cap / 5);
  CHECK(read.back().rfind("x 0 ", 0) == 0);
}
