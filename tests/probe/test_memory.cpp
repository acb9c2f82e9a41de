// The release of clean file pages (probe/memory/memory.hpp), before a one-shot run and between the daemon's
// runs: which mappings it may touch, read from smaps text; and, live, that a released mapping reads back the
// same bytes while a mapping with private changes (as relocated library data is) is left alone.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/crypto/crypto.hpp"
#include "probe/memory/memory.hpp"

using namespace kuzet::probe::memory;

namespace {

// Six mappings as the kernel lists them: library code, relocated data (RELRO: read-only, copied on write),
// writable data, the heap, a locked code mapping and a replaced (deleted) file.
const char* kSmaps = R"(55d0c0000000-55d0c0120000 r-xp 00001000 fe:01 1234   /usr/lib/x86_64-linux-gnu/libcrypto.so.3
Size:               1152 kB
Rss:                 900 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
Swap:                  0 kB
VmFlags: rd ex mr mw me sd
55d0c0120000-55d0c0130000 r--p 00120000 fe:01 1234   /usr/lib/x86_64-linux-gnu/libcrypto.so.3
Rss:                  64 kB
Private_Dirty:        64 kB
Anonymous:            64 kB
Swap:                  0 kB
VmFlags: rd mr mw me ac sd
55d0c0130000-55d0c0132000 rw-p 00130000 fe:01 1234   /usr/lib/x86_64-linux-gnu/libcrypto.so.3
Rss:                   8 kB
Private_Dirty:         8 kB
Anonymous:             8 kB
VmFlags: rd wr mr mw me ac sd
55d0c1000000-55d0c1100000 rw-p 00000000 00:00 0      [heap]
Rss:                1000 kB
Private_Dirty:      1000 kB
Anonymous:          1000 kB
VmFlags: rd wr mr mw me ac sd
7f0000000000-7f0000010000 r-xp 00000000 fe:01 99     /opt/locked.so
Rss:                  64 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me lo sd
7f0000010000-7f0000020000 r-xp 00000000 fe:01 98     /usr/bin/old-probe (deleted)
Rss:                  64 kB
Private_Dirty:         0 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
)";

// Rss of the smaps entry that starts at `start`.
size_t resident_kb(const void* start) {
  std::ifstream in("/proc/self/smaps");
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& m : parse_smaps(text.str()))
    if (m.start == reinterpret_cast<uintptr_t>(start)) return m.rss_kb;
  return SIZE_MAX;
}

// A temporary file of `size` bytes of a repeating alphabet, removed with the object.
struct PatternFile {
  std::string path, content;
  explicit PatternFile(size_t size)
      : path((std::filesystem::temp_directory_path() / ("kuzet-memory-" + kuzet::core::random_hex(6))).string()),
        content(size, '\0') {
    for (size_t i = 0; i < size; ++i) content[i] = static_cast<char>('a' + i % 26);
    std::ofstream(path, std::ios::binary) << content;
  }
  ~PatternFile() { std::filesystem::remove(path); }
};

}  // namespace

TEST_CASE("only clean read-only file mappings are releasable") {
  const auto mappings = parse_smaps(kSmaps);
  REQUIRE(mappings.size() == 6);
  CHECK(mappings[0].start == 0x55d0c0000000);
  CHECK(mappings[0].end == 0x55d0c0120000);
  CHECK(mappings[0].rss_kb == 900);
  CHECK(mappings[0].releasable());        // library code
  CHECK_FALSE(mappings[1].releasable());  // relocated data: private copies
  CHECK_FALSE(mappings[2].releasable());  // writable
  CHECK_FALSE(mappings[3].releasable());  // the heap
  CHECK(mappings[4].locked);
  CHECK_FALSE(mappings[4].releasable());
  CHECK_FALSE(mappings[5].releasable());  // its file was replaced
  CHECK(parse_smaps(kSmaps, 2).size() == 2);
  CHECK(parse_smaps("").empty());
  CHECK(parse_smaps("garbage\nRss: 5 kB\n-\n").empty());
}

TEST_CASE("a released mapping reads back the file; a privately changed one is left as it is") {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE)), size = 16 * page;
  const PatternFile file(size);
  const std::string& content = file.content;
  const int fd = ::open(file.path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  auto* clean = static_cast<char*>(::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  // Like relocated library data: written privately, then made read-only.
  auto* changed = static_cast<char*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ::close(fd);
  REQUIRE(clean != MAP_FAILED);
  REQUIRE(changed != MAP_FAILED);
  std::memcpy(changed, "relocated", 9);
  REQUIRE(::mprotect(changed, size, PROT_READ) == 0);
  size_t sum = 0;
  for (size_t i = 0; i < size; i += page) sum += static_cast<unsigned char>(clean[i] + changed[i]);
  CHECK(sum > 0);
  CHECK(resident_kb(clean) == size / 1024);

  CHECK(release_clean_file_pages() >= size / 1024);
  CHECK(resident_kb(clean) == 0);
  CHECK(std::memcmp(clean, content.data(), size) == 0);  // read back from the file
  CHECK(resident_kb(clean) == size / 1024);
  CHECK(std::memcmp(changed, "relocated", 9) == 0);  // the private copy is still there
  CHECK(std::memcmp(changed + 9, content.data() + 9, size - 9) == 0);

  ::munmap(clean, size);
  ::munmap(changed, size);
}

TEST_CASE("neighbouring releasable mappings go in one call, and a changed neighbour keeps its bytes") {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE)), part = 8 * page, size = 3 * part;
  const PatternFile file(size);
  const std::string& content = file.content;
  const int fd = ::open(file.path.c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  auto* base = static_cast<char*>(::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ::close(fd);
  REQUIRE(base != MAP_FAILED);
  char* const first = base;
  char* const second = base + part;
  char* const third = base + 2 * part;
  std::memcpy(third, "relocated", 9);
  REQUIRE(::mprotect(base, size, PROT_READ) == 0);
  // Split off the middle third with a flag of its own: three mappings side by side, the first two clean.
  REQUIRE(::madvise(second, part, MADV_RANDOM) == 0);
  size_t sum = 0;
  for (size_t i = 0; i < size; i += page) sum += static_cast<unsigned char>(base[i]);
  CHECK(sum > 0);
  REQUIRE(resident_kb(first) == part / 1024);
  REQUIRE(resident_kb(second) == part / 1024);
  REQUIRE(resident_kb(third) == part / 1024);

  CHECK(release_clean_file_pages() >= 2 * part / 1024);
  CHECK(resident_kb(first) == 0);
  CHECK(resident_kb(second) == 0);
  CHECK(std::memcmp(base, content.data(), 2 * part) == 0);
  CHECK(std::memcmp(third, "relocated", 9) == 0);
  CHECK(std::memcmp(third + 9, content.data() + 2 * part + 9, part - 9) == 0);

  ::munmap(base, size);
}

TEST_CASE("the thread cache is turned off in GLIBC_TUNABLES, keeping other settings; a set size is left alone") {
  CHECK(tunables_without_thread_cache(nullptr) == "glibc.malloc.tcache_count=0");
  CHECK(tunables_without_thread_cache("") == "glibc.malloc.tcache_count=0");
  CHECK(tunables_without_thread_cache("glibc.malloc.arena_max=2") ==
        "glibc.malloc.arena_max=2:glibc.malloc.tcache_count=0");
  // Another setting whose name merely contains the cache's is not the cache's size.
  CHECK(tunables_without_thread_cache("glibc.malloc.tcache_max=64") ==
        "glibc.malloc.tcache_max=64:glibc.malloc.tcache_count=0");
  // Already off, or a size the user chose, first or later in the list: nothing to change, so no restart.
  CHECK_FALSE(tunables_without_thread_cache("glibc.malloc.tcache_count=0").has_value());
  CHECK_FALSE(tunables_without_thread_cache("glibc.malloc.tcache_count=7").has_value());
  CHECK_FALSE(tunables_without_thread_cache("glibc.malloc.arena_max=2:glibc.malloc.tcache_count=3").has_value());
}
