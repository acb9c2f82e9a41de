#pragma once
// Peak resident memory of this process, for tests that bound what one hostile input may cost:
// reset the peak to the current RSS, run the input, read how far the peak rose.
#include <fstream>
#include <string>

namespace kuzet::testing {

// VmHWM of /proc/self/status in KiB; -1 when unreadable.
inline long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Sets the peak back to the current RSS (proc(5), clear_refs "5"); false when the kernel refuses.
inline bool reset_peak_rss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

// How many KiB the peak RSS rose while fn ran.
template <typename Fn>
long peak_rss_growth_kib(Fn&& fn) {
  reset_peak_rss();
  const long before = peak_rss_kib();
  fn();
  return peak_rss_kib() - before;
}

}  // namespace kuzet::testing
