// The shapes lib/core/vocabulary checks: a country code, a network check.
#include <doctest/doctest.h>

#include "core/vocabulary/country.hpp"
#include "core/vocabulary/network_check.hpp"

using namespace kuzet::core;

TEST_CASE("country: two capital letters, or unknown") {
  CHECK(country::is_code("KZ"));
  CHECK(country::is_code("ZZ"));
  for (const char* bad : {"", "kz", "Kz", "KAZ", "K", "K1", "K\n", "K\x7f", "\xd0\x9a\xd0\x97", "K Z"}) {
    CAPTURE(bad);
    CHECK_FALSE(country::is_code(bad));
    CHECK(country::is_code_or_unknown(bad) == (bad[0] == '\0'));
  }
  CHECK(country::is_code_or_unknown("KZ"));
  CHECK_FALSE(country::is_code(std::string_view("K\0", 2)));
}

TEST_CASE("network_check: the three words, or unchecked") {
  for (auto word : {network_check::match, network_check::mismatch, network_check::unknown, std::string_view()})
    CHECK(network_check::is_known_or_unchecked(word));
  CHECK_FALSE(network_check::is_known_or_unchecked("Match"));
  CHECK_FALSE(network_check::is_known_or_unchecked("none"));
}
