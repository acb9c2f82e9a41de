// The shapes lib/core/vocabulary checks: a country code, a network check, a measurement's target.
#include <doctest/doctest.h>

#include "core/vocabulary/country.hpp"
#include "core/vocabulary/network_check.hpp"
#include "core/vocabulary/series.hpp"

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

TEST_CASE("series: the network series' name is no measurement's target") {
  CHECK_FALSE(series::is_measurement_target(series::network_target));
  CHECK_FALSE(series::is_measurement_target("*"));
  for (const char* target : {"", "**", " *", "https://example.kz/*"}) CHECK(series::is_measurement_target(target));
}
