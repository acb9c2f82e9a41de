#pragma once
// The verdict vocabulary: one word per target, decided by lib/analysis and counted by the timelines.
// Closed list, documented in docs/verdicts.md. Use these constants; never retype the strings.
#include <array>
#include <string_view>

namespace kuzet::core::verdict {

inline constexpr std::string_view ok = "ok";                      // reachable, the page is the site's
inline constexpr std::string_view blocked = "blocked";            // this network interferes at some layer
inline constexpr std::string_view intercepted = "intercepted";    // someone on the path answers TLS for the site
inline constexpr std::string_view throttled = "throttled";        // the site's name is slowed to a fraction
inline constexpr std::string_view down = "down";                  // fails for the control too: not censorship
inline constexpr std::string_view offline = "offline";            // the probe reached nothing (shutdown, lost link)
inline constexpr std::string_view inconclusive = "inconclusive";  // nothing decisive either way

inline constexpr std::array<std::string_view, 7> all = {ok, blocked, intercepted, throttled, down, offline,
                                                        inconclusive};

// A verdict that says this network interferes with the target.
constexpr bool is_interference(std::string_view v) {
  return v == blocked || v == intercepted || v == throttled;
}

constexpr bool is_known(std::string_view v) {
  for (auto k : all)
    if (k == v) return true;
  return false;
}

}  // namespace kuzet::core::verdict
