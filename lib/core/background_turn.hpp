#pragma once
// The process's background turn: a collector's indexers that work in the background (the timeline index, the
// SQLite store's place index) each hold it while they work, so only one of them at a time takes a core from
// the threads that answer uploads. On two cores two indexers at once halved the upload workers' share for a
// second at a time, and those uploads set the batch p99 (docs/benchmarks.md). Queries never take it: they
// catch their index up themselves, under the index's own lock.
#include <mutex>

namespace kuzet::core {

inline std::mutex& background_turn() {
  static std::mutex turn;
  return turn;
}

}  // namespace kuzet::core
