// RFC 3339 parsing over the documented range (core/time.hpp): no wrap-around, no normalisation; formatting.
#include "core/time.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <ctime>

using namespace kuzet::core;

namespace {
int64_t ms(const char* text) { return to_unix_ms(parse_rfc3339(text).value()); }
}  // namespace

TEST_CASE("ordinary times") {
  CHECK(ms("1970-01-01T00:00:00Z") == 0);
  CHECK(ms("2022-01-05T10:30:00.123Z") == 1641378600123);
  CHECK(ms("2022-01-05T10:30:00.1239Z") == 1641378600123);
  CHECK(ms("2022-01-05T16:30:00+06:00") == 1641378600000);
  CHECK(ms("2024-02-29T00:00:00Z") == 1709164800000);
  CHECK(format_rfc3339(*parse_rfc3339("2199-12-31T23:59:59.999Z")) == "2199-12-31T23:59:59.999Z");
}

TEST_CASE("format_utc: to the second, agrees with the C library's gmtime, before 1970 too") {
  CHECK(format_utc(951782400000) == "2000-02-29T00:00:00Z");
  CHECK(format_utc(-1000) == "1969-12-31T23:59:59Z");
  CHECK(format_utc(-999) == "1969-12-31T23:59:59Z");
  CHECK(format_utc(1641378600999) == "2022-01-05T10:30:00Z");
  for (int64_t t : {int64_t{0}, int64_t{68169600000}, int64_t{4102444799000}, int64_t{7258118399000}, int64_t{-86400000},
                    int64_t{-1}, int64_t{1641378600123}}) {
    std::time_t secs = static_cast<std::time_t>(t >= 0 ? t / 1000 : (t - 999) / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    CHECK(format_utc(t) == std::string(buf) + "Z");
    char millis[8];
    std::snprintf(millis, sizeof millis, ".%03dZ", static_cast<int>(t - int64_t{secs} * 1000));
    CHECK(format_rfc3339(SystemTime(std::chrono::milliseconds(t))) == std::string(buf) + millis);
  }
  std::string out = "at ";
  append_utc(out, 0);
  CHECK(out == "at 1970-01-01T00:00:00Z");
}

TEST_CASE("years outside 1970-2199 are malformed, not wrapped") {
  // Used to overflow the nanosecond clock: 2300 came back as 1715 and 1500 as a time in the future.
  CHECK_FALSE(parse_rfc3339("2300-01-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("1500-01-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("9999-12-31T23:59:59Z"));
  CHECK_FALSE(parse_rfc3339("1969-12-31T23:59:59Z"));
  CHECK_FALSE(parse_rfc3339("2200-01-01T00:00:00Z"));
}

TEST_CASE("impossible dates and loose spellings are malformed") {
  for (const char* bad : {"2022-02-30T00:00:00Z", "2023-02-29T00:00:00Z", "2022-13-01T00:00:00Z",
                          "2022-01-05T24:00:00Z", "2022-01-05T10:60:00Z", "+022-01-05T10:30:00Z",
                          "2022- 1-05T10:30:00Z", "2022-01-05T10:30:00", "2022-01-05T10:30:00+6:00",
                          "2022-01-05T10:30:00+24:00", "2022-01-05T10:30:00.Z", "2022-01-05T10:30:00Zx",
                          "2022-01-05T10:30:00.1234567890Z", "2022-01-05", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339(bad));
  }
}
