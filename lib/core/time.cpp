#include "core/time.hpp"

#include <cstdio>

namespace kuzet::core {

namespace {

// Howard Hinnant's civil_from_days: gmtime without the C library's locking (timelines format thousands of bins).
void civil_from_days(int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yoe + era * 400 + (*m <= 2));
}

// The second holding Unix milliseconds `ms` (floor: -1 ms is 23:59:59 the day before) as
// "YYYY-MM-DDTHH:MM:SS", then ".mmm" when `millis`, then "Z".
void append_time(std::string& out, int64_t ms, bool millis) {
  const int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  const int64_t rem = secs - days * 86400;
  int y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", y, m, d, static_cast<int>(rem / 3600),
                        static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  if (millis) n += std::snprintf(buf + n, sizeof buf - n, ".%03d", static_cast<int>(ms - secs * 1000));
  out.append(buf, static_cast<size_t>(n));
  out.push_back('Z');
}

}  // namespace

void append_utc(std::string& out, int64_t ms) { append_time(out, ms, false); }

std::string format_utc(int64_t ms) {
  std::string out;
  append_utc(out, ms);
  return out;
}

std::string format_rfc3339(SystemTime t) {
  std::string out;
  append_time(out, to_unix_ms(t), true);
  return out;
}

std::string now_rfc3339() { return format_rfc3339(std::chrono::system_clock::now()); }

int64_t to_unix_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

namespace {

// n ASCII digits at s[pos..]; nullopt when any is not a digit (sscanf would also take signs and spaces).
std::optional<int> digits(const std::string& s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<SystemTime> parse_rfc3339(const std::string& s) {
  const auto y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  const auto h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (!y || !mo || !d || !h || !mi || !sec || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (*y < kMinYear || *y > kMaxYear || *h > 23 || *mi > 59 || *sec > 60) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{*y}, std::chrono::month{static_cast<unsigned>(*mo)},
                                         std::chrono::day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;  // 31 February is not normalised into March
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int count = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (count < 3) millis = millis * 10 + (s[pos] - '0');
      ++count;
      ++pos;
    }
    if (count == 0 || count > 9) return std::nullopt;
    for (int i = count; i < 3; ++i) millis *= 10;
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    const auto oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (!oh || !om || *oh > 23 || *om > 59) return std::nullopt;
    offset_s = (*oh * 3600 + *om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  // Whole seconds in 64 bits, far from any overflow for years 1970-2199; the result fits the
  // nanosecond system_clock (1677-2262), which "2300-01-01" did not (it wrapped to 1715).
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  const int64_t secs = days * 86400 + *h * 3600 + *mi * 60 + *sec - offset_s;
  return SystemTime{std::chrono::milliseconds(secs * 1000 + millis)};
}

}  // namespace kuzet::core
