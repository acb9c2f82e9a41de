// Fuzzes what the daemon's queue reads back from disk (probe/daemon/queue.cpp): the cursor file and segment files
// after a crash, a torn write or someone else's hands. Input: the cursor file's text up to the first '\n',
// then segment 1's bytes, then (after a 0 byte) segment 2's. Whatever they hold, the queue opens, what it
// hands out are whole framed records, export (scan_queue) sees the same records, and a record appended
// afterwards is kept: visible, acknowledged only when asked, still there after the queue is reopened.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "probe/daemon/queue.hpp"
#include "tests/fuzz_scratch.hpp"

namespace {

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

const size_t kAll = SIZE_MAX;
const std::string kAppended = R"({"appended":true})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuzet::probe::daemon;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // On tmpfs when there is one: the queue fsyncs every append.
  const std::string& dir = kuzet::testing::fuzz_scratch_path("queue");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  const size_t newline = input.find('\n');
  const std::string_view cursor = input.substr(0, newline == std::string_view::npos ? input.size() : newline + 1);
  const std::string_view segments = input.substr(cursor.size());
  const size_t zero = segments.find('\0');
  write_file(dir + "/cursor", cursor);
  write_file(dir + "/seg-0000000000000001.jsonl", segments.substr(0, zero));
  if (zero != std::string_view::npos) write_file(dir + "/seg-0000000000000002.jsonl", segments.substr(zero + 1));

  size_t scanned = 0;
  scan_queue(dir, [&](const std::string&) { ++scanned; });
  try {
    {
      DiskQueue queue(QueueOptions{dir});
      const auto before = queue.peek(kAll, kAll);
      if (before.size() != scanned || queue.stats().records != scanned) __builtin_trap();
      for (const auto& entry : before)
        if (entry.payload.find('\n') != std::string::npos) __builtin_trap();
      const auto appended = queue.append({kAppended});
      if (appended.appended != 1 || !appended.error.empty()) __builtin_trap();
      const auto after = queue.peek(kAll, kAll);
      if (after.size() != before.size() + 1 || after.back().payload != kAppended) __builtin_trap();
      if (!before.empty() && !queue.acknowledge(before.back()).empty()) __builtin_trap();
      const auto left = queue.peek(kAll, kAll);
      if (left.size() != 1 || left.front().payload != kAppended) __builtin_trap();
    }
    DiskQueue reopened(QueueOptions{dir});
    const auto left = reopened.peek(kAll, kAll);
    if (left.size() != 1 || left.front().payload != kAppended) __builtin_trap();
  } catch (const std::runtime_error&) {
    __builtin_trap();  // the directory is ours and unlocked: opening it must work
  }
  return 0;
}
