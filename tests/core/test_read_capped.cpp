// core::read_capped: a bounded read that costs what the input holds, not the cap.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "core/read_capped.hpp"
#include "tests/peak_rss.hpp"

using kuzet::core::read_capped;

TEST_CASE("read_capped reads small, exact and oversized inputs") {
  std::string text = "stale";
  std::istringstream empty("");
  CHECK(read_capped(empty, 10, text));
  CHECK(text.empty());

  std::istringstream small("abc");
  CHECK(read_capped(small, 10, text));
  CHECK(text == "abc");

  std::istringstream exact(std::string(10, 'x'));
  CHECK(read_capped(exact, 10, text));
  CHECK(text == std::string(10, 'x'));

  // One byte more than the cap says "too large"; the rest is not read.
  std::istringstream over(std::string(40000, 'y'));
  CHECK(read_capped(over, 10, text));
  CHECK(text == std::string(11, 'y'));
  std::istringstream big(std::string(100000, 'z') + "tail");
  CHECK(read_capped(big, 50000, text));
  CHECK(text.size() == 50001);
}

TEST_CASE("a small input under a large cap does not touch the cap's worth of memory") {
  std::istringstream small(std::string(4096, 's'));
  std::string text;
  const long grew = kuzet::testing::peak_rss_growth_kib([&] { CHECK(read_capped(small, 64u << 20, text)); });
  CHECK(text.size() == 4096);
  CHECK(grew < 8 * 1024);  // a zero-filled 64 MiB buffer would raise the peak by ~64 MiB
}
