#pragma once
// Checkpoints of an SQLite store's write-ahead log on a thread of their own. SQLite's automatic checkpoint
// runs inside the commit that grows the log past its threshold: copying a few MB back into the database and
// its fsync then sit in that upload's answer and under the store's writer lock. Here the writer's commit only
// signals; the copy happens on another connection while the next batches commit. Durability is unchanged:
// every commit is still synced in the log (synchronous=FULL), and a checkpoint syncs the database before the
// log is reused. When the thread falls far behind, the writer checkpoints itself, as SQLite would, so the
// log stays bounded. After a checkpoint that could copy only part of the log (a reader's snapshot, commits
// meanwhile) the thread syncs the database file itself, which SQLite does only after a complete one: the
// complete one, usually the writer's, then has little left to flush.
#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace kuzet::collector::sqlite {

class WalCheckpointer {
 public:
  // Log sizes in pages (frames): the thread checkpoints from `background_pages`; a commit that leaves
  // `writer_pages` or more checkpoints on the writer itself.
  static constexpr int kBackgroundPages = 1000;  // SQLite's own automatic threshold
  static constexpr int kWriterPages = 16000;     // ~64 MB of log with 4 KB pages

  // `writer` commits the store's rows; its automatic checkpoints are replaced by this object's until it is
  // destroyed (before the writer is closed). `own` is another connection to the same file, opened as the
  // writer's (WAL, synchronous=FULL): the thread checkpoints through it, and closes it at the end.
  WalCheckpointer(sqlite3* writer, sqlite3* own, int background_pages = kBackgroundPages,
                  int writer_pages = kWriterPages);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints passed by the thread and by the writer so far (tests, benchmarks).
  uint64_t background_checkpoints() const;
  uint64_t writer_checkpoints() const;
  // Syncs of the database file the thread made after checkpoints that could not copy the whole log.
  uint64_t background_syncs() const;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int pages);
  void run();

  sqlite3* writer_;
  sqlite3* db_ = nullptr;  // the thread's connection
  int database_fd_ = -1;   // the database file, read-only, for syncs of the pages copied so far
  const int background_pages_;
  const int writer_pages_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool wanted_ = false;
  bool stopping_ = false;
  uint64_t background_done_ = 0;
  uint64_t writer_done_ = 0;
  uint64_t syncs_done_ = 0;
  std::thread thread_;
};

}  // namespace kuzet::collector::sqlite
