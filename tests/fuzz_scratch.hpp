#pragma once
// A scratch path for fuzz harnesses that must go through files: one per process, on tmpfs when there is one
// (fsync is cheap there), removed at exit.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace kuzet::testing {

// The path /dev/shm/kuzet-fuzz-NAME-PID (or under /tmp); the same on every call of this process.
inline const std::string& fuzz_scratch_path(const char* name) {
  // Built before its removal is registered, so the handler runs while the path still exists.
  static const std::string path = [name] {
    const std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    return base + "/kuzet-fuzz-" + name + "-" + std::to_string(getpid());
  }();
  static const bool removed_at_exit = std::atexit([] {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }) == 0;
  (void)removed_at_exit;
  return path;
}

}  // namespace kuzet::testing
