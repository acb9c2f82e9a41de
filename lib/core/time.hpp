#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace kuzet::core {

using SystemTime = std::chrono::system_clock::time_point;

// RFC 3339 UTC with milliseconds, e.g. "2022-01-05T10:30:00.123Z".
std::string format_rfc3339(SystemTime t);
std::string now_rfc3339();
// UTC to the second from Unix milliseconds, e.g. "2022-01-05T11:00:00Z" (timelines, incidents, reports), without
// the C library's gmtime and its locking: timelines format thousands of bins. append_utc adds it to `out`.
std::string format_utc(int64_t unix_ms);
void append_utc(std::string& out, int64_t unix_ms);
// Times Kuzet accepts (docs/protocol.md): years 1970 to 2199. Outside it a time is malformed: earlier ones
// are no measurement, later ones would not fit the clock (nanoseconds, up to 2262) without wrapping.
inline constexpr int kMinYear = 1970;
inline constexpr int kMaxYear = 2199;
// Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HH:MM)" (1 to 9 fraction digits, milliseconds kept); nullopt when
// malformed, an impossible date (31 February) or a year outside kMinYear..kMaxYear.
std::optional<SystemTime> parse_rfc3339(const std::string& text);
// Milliseconds since the Unix epoch.
int64_t to_unix_ms(SystemTime t);

// Monotonic stopwatch for step timings.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double elapsed_ms() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }
 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace kuzet::core
