#pragma once
// The probe's resident memory. Most of it is pages of files the probe maps: the libraries' and the program's
// code and constants (~12 MB of ~17 after start-up, docs/benchmarks.md). Those pages are clean copies of the
// files, which the kernel may drop and read back at any time; until it does, they count in the probe's RSS,
// which the OOM killer weighs. Most are touched only while starting (loading, relocating, initialising the
// libraries), so the one-shot run gives them back before measuring and the daemon between runs.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::probe::memory {

// A mapping of /proc/self/smaps, with what release_clean_file_pages needs to decide.
struct Mapping {
  uintptr_t start = 0, end = 0;
  bool readable_only = false;  // no write permission, private ("r-xp", "r--p")
  bool file = false;           // a path ("/usr/lib/...")
  bool locked = false;         // VmFlags "lo"
  size_t rss_kb = 0, anonymous_kb = 0, swap_kb = 0;
  bool releasable() const;
};

// The mappings of smaps text (bounded: the kernel writes it; at most max_mappings are read).
std::vector<Mapping> parse_smaps(std::string_view text, size_t max_mappings = 65536);

// Unmaps (madvise MADV_DONTNEED) this process's resident pages of read-only private file mappings with no
// page copied on write in them: the pages stay in the page cache, and the next access maps them again, as
// after the kernel's own reclaim. Writable, anonymous, copied-on-write (relocated) and locked mappings are
// never touched. Returns the kilobytes that were resident in the released mappings.
size_t release_clean_file_pages();

// glibc keeps up to 7 freed chunks of each small size in a per-thread cache (tcache). With a thread per
// target in flight, a 40-target run's peak held ~1 MB there (docs/benchmarks.md). Only GLIBC_TUNABLES, read
// when the program starts, turns it off.
//
// The GLIBC_TUNABLES value with the thread cache off, given the current one (nullptr when unset): the
// current settings are kept. nullopt when the current value already sets the cache's size, off or not (a
// user's choice wins).
std::optional<std::string> tunables_without_thread_cache(const char* current);

// At the start of main, before any thread: executes this program again (/proc/self/exe, the same arguments,
// the same process) with the thread cache off, unless tunables_without_thread_cache says there is nothing to
// change, the program was started set-user-ID or with file capabilities (glibc then drops the setting), or
// /proc/self/exe is not this program (started through the dynamic loader, or under valgrind).
// Returns only when it did not re-execute (the program then runs with the cache on, as when exec fails).
void restart_without_thread_cache(char** argv);

}  // namespace kuzet::probe::memory
