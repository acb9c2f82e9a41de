#include "collector/store/sqlite/wal_checkpointer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace kuzet::collector::sqlite {

WalCheckpointer::WalCheckpointer(sqlite3* writer, sqlite3* own, int background_pages, int writer_pages)
    : writer_(writer), db_(own), background_pages_(background_pages), writer_pages_(writer_pages) {
  if (const char* path = sqlite3_db_filename(db_, "main"); path && *path)
    database_fd_ = ::open(path, O_RDONLY | O_CLOEXEC);  // without it, only the syncs below are skipped
  try {
    thread_ = std::thread([this] {
      core::name_this_thread("wal-checkpoint");
      run();
    });
  } catch (...) {
    if (database_fd_ >= 0) ::close(database_fd_);
    sqlite3_close(db_);
    throw;
  }
  sqlite3_wal_hook(writer_, &WalCheckpointer::on_commit, this);  // replaces the automatic checkpoints
}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_autocheckpoint(writer_, 1000);  // SQLite's default again, for the writer's last commits
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  if (database_fd_ >= 0) ::close(database_fd_);
  sqlite3_close(db_);
}

uint64_t WalCheckpointer::background_checkpoints() const {
  std::lock_guard lock(mutex_);
  return background_done_;
}

uint64_t WalCheckpointer::writer_checkpoints() const {
  std::lock_guard lock(mutex_);
  return writer_done_;
}

uint64_t WalCheckpointer::background_syncs() const {
  std::lock_guard lock(mutex_);
  return syncs_done_;
}

// After each commit of the writer, its write lock released (SQLite's WAL hook), with the log's size.
int WalCheckpointer::on_commit(void* self, sqlite3* db, const char* schema, int pages) {
  auto* c = static_cast<WalCheckpointer*>(self);
  if (pages >= c->writer_pages_) {
    // The thread is far behind (or cannot run): bound the log as SQLite's own hook would.
    if (sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) == SQLITE_OK) {
      std::lock_guard lock(c->mutex_);
      ++c->writer_done_;
    }
    return SQLITE_OK;
  }
  if (pages >= c->background_pages_) {
    {
      std::lock_guard lock(c->mutex_);
      c->wanted_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    // PASSIVE: copies what no reader still needs, without waiting for readers or blocking the writer.
    int log_frames = 0, copied_frames = 0;
    const int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &copied_frames);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)  // busy: another checkpoint is running; the next commit asks again
      core::log_at(core::LogLevel::warning, "WAL checkpoint: %s", sqlite3_errmsg(db_));
    // PASSIVE syncs the database only when it copied the whole log. Under steady uploads that is almost only
    // the writer's checkpoint, inside an upload's commit, which then flushed every page copied since the last
    // sync (up to the log's 64 MB). Syncing after each partial copy here leaves it little to flush.
    // Durability does not depend on this sync: the log still holds every frame until a complete checkpoint.
    const bool synced = rc == SQLITE_OK && copied_frames < log_frames && database_fd_ >= 0 &&
                        ::fdatasync(database_fd_) == 0;
    lock.lock();
    if (rc == SQLITE_OK) ++background_done_;
    if (synced) ++syncs_done_;
  }
}

}  // namespace kuzet::collector::sqlite
