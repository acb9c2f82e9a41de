#include "probe/memory/memory.hpp"

#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "ascii/ascii.hpp"
#include "core/read_capped.hpp"

namespace kuzet::probe::memory {

namespace {

// Lower case only: a header line starts with the mapping's address, a field line with a capital ("Anonymous:"),
// which core::hex_digit would take for a digit.
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

uintptr_t parse_hex(std::string_view text) {
  uintptr_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value, 16);
  return value;
}

// "Private_Dirty:      12 kB" -> 12
size_t field_kb(std::string_view line) {
  const std::string_view number = ascii::trim_start(line.substr(line.find(':') + 1), " ");
  size_t value = 0;
  std::from_chars(number.data(), number.data() + number.size(), value);
  return value;
}

}  // namespace

bool Mapping::releasable() const {
  // Anonymous counts the pages copied on write (relocations); without them every resident page is the
  // page cache's own, which stays (a dirty one is written back as usual).
  return readable_only && file && !locked && rss_kb > 0 && anonymous_kb == 0 && swap_kb == 0;
}

std::vector<Mapping> parse_smaps(std::string_view text, size_t max_mappings) {
  std::vector<Mapping> mappings;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (line.empty()) continue;
    if (is_hex(line[0])) {  // "start-end perms offset dev inode [path]"
      if (mappings.size() >= max_mappings) break;
      Mapping m;
      const size_t dash = line.find('-'), space = line.find(' ');
      if (dash == std::string_view::npos || space == std::string_view::npos || dash > space) continue;
      m.start = parse_hex(line.substr(0, dash));
      m.end = parse_hex(line.substr(dash + 1, space - dash - 1));
      const std::string_view perms = line.substr(space + 1, 4);
      m.readable_only = perms.size() == 4 && perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p';
      const size_t slash = line.find('/');
      m.file = slash != std::string_view::npos && line.substr(slash).find(" (deleted)") == std::string_view::npos;
      if (m.end > m.start) mappings.push_back(m);
      continue;
    }
    if (mappings.empty()) continue;
    Mapping& m = mappings.back();
    if (line.starts_with("Rss:")) m.rss_kb = field_kb(line);
    else if (line.starts_with("Anonymous:")) m.anonymous_kb = field_kb(line);
    else if (line.starts_with("Swap:")) m.swap_kb = field_kb(line);
    else if (line.starts_with("VmFlags:")) m.locked = line.find(" lo") != std::string_view::npos;
  }
  return mappings;
}

size_t release_clean_file_pages() {
  std::ifstream in("/proc/self/smaps");
  std::string text;
  if (!in || !core::read_capped(in, 64u << 20, text)) return 0;
  // One call per run of adjacent releasable mappings (a library's code and constants are neighbours): every
  // call flushes the TLB, and in a VM that is most of the cost (~90 calls: 16-37 ms; ~40: 8-20 ms).
  size_t released_kb = 0;
  uintptr_t start = 0, end = 0;
  size_t run_kb = 0;
  const auto release_run = [&] {
    if (end > start && ::madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) == 0)
      released_kb += run_kb;
  };
  for (const auto& m : parse_smaps(text)) {
    if (!m.releasable()) continue;
    if (m.start != end) {
      release_run();
      start = m.start;
      run_kb = 0;
    }
    end = m.end;
    run_kb += m.rss_kb;
  }
  release_run();
  return released_kb;
}

std::optional<std::string> tunables_without_thread_cache(const char* current) {
  constexpr std::string_view kCacheSize = "glibc.malloc.tcache_count=";
  constexpr std::string_view kCacheOff = "glibc.malloc.tcache_count=0";
  if (!current || !*current) return std::string(kCacheOff);
  const std::string_view value(current);
  // Settings are name=value pairs separated by ':'.
  for (size_t at = 0; at <= value.size();) {
    const size_t end = std::min(value.find(':', at), value.size());
    if (value.substr(at, end - at).starts_with(kCacheSize)) return std::nullopt;
    at = end + 1;
  }
  return std::string(value) + ":" + std::string(kCacheOff);
}

namespace {

// Whether /proc/self/exe is the file this code runs from. Started through the dynamic loader
// (`ld.so PROGRAM`) or under valgrind it names the loader or the tool, which must not be executed with the
// program's arguments. Inodes only: on overlay file systems the device in maps and stat's may differ.
bool self_exe_is_this_program() {
  struct stat exe {};
  if (::stat("/proc/self/exe", &exe) != 0) return false;
  const auto here = reinterpret_cast<uintptr_t>(&self_exe_is_this_program);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {  // "start-end perms offset dev inode path"
    unsigned long start = 0, end = 0, inode = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx %*s %*s %*s %lu", &start, &end, &inode) != 3) continue;
    if (here >= start && here < end) return inode == exe.st_ino;
  }
  return false;
}

}  // namespace

void restart_without_thread_cache(char** argv) {
  // Started set-user-ID or with file capabilities (secure execution): glibc ignores and erases this setting
  // then, so each restart would lack it again and restart forever.
  if (::getauxval(AT_SECURE) != 0) return;
  const auto tunables = tunables_without_thread_cache(std::getenv("GLIBC_TUNABLES"));
  if (!tunables || !self_exe_is_this_program()) return;
  if (::setenv("GLIBC_TUNABLES", tunables->c_str(), 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  // No /proc, or the program is gone: run on with the cache on, as before.
}

}  // namespace kuzet::probe::memory
