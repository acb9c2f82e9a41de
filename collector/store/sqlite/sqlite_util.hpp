#pragma once
// Thin SQLite helpers shared by the collector's store and the timeline index: errors become
// std::runtime_error with SQLite's message; a prepared statement finalizes itself.
#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>

#include "collector/store/sqlite/wal_buffer.hpp"

namespace kuzet::collector::sqlite {

// One gate per database file for the writers of this process (the store's group commit, the timeline
// indexer). SQLite runs one write transaction at a time and makes the others poll with growing sleeps (up to
// 100 ms each) in its busy handler; a plain mutex would not do better, since the indexer, catching up in
// transactions of 1,000 rows, takes it again before a woken waiter runs, and uploads then waited for all of
// its catch-up (~0.3-0.5 s each second at 10,000 measurements/s). The gate is first come, first served:
// the store's commit waiting for it runs right after the indexer's current transaction. Other processes
// still meet SQLite's lock and busy timeout, as before.
class WriteGate {
 public:
  void lock() {
    std::unique_lock guard(mutex_);
    const uint64_t ticket = next_++;
    turn_.wait(guard, [&] { return serving_ == ticket; });
  }
  void unlock() {
    {
      std::lock_guard guard(mutex_);
      ++serving_;
    }
    turn_.notify_all();
  }
  // Tickets taken and not yet done: the holder and the writers waiting behind it.
  uint64_t queued() {
    std::lock_guard guard(mutex_);
    return next_ - serving_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable turn_;
  uint64_t next_ = 0, serving_ = 0;
};

inline WriteGate& write_gate(const std::string& path) {
  static std::mutex registry_mutex;
  static std::map<std::string, WriteGate> gates;  // a few files per process; never erased
  std::error_code error;
  const auto canonical = std::filesystem::weakly_canonical(path, error);
  std::lock_guard lock(registry_mutex);
  return gates[error ? path : canonical.string()];
}

[[noreturn]] inline void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error(what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// sqlite3_open_v2 with its error as an exception ("<what> <path>: <reason>"); a failed open's handle is
// closed here, since SQLite returns one even then. Through the VFS that writes WAL appends at once
// (wal_buffer.hpp): the same files, readable by any SQLite.
inline sqlite3* open_database(const std::string& path, int flags, const std::string& what) {
  // Before SQLite initialises: without its memory statistics, which nothing here reads, each of its
  // allocations no longer takes a process-wide mutex (Debian builds it without lookaside, so a stored row is
  // dozens of them). Refused, harmlessly, when something in the process opened a database first.
  [[maybe_unused]] static const int no_memory_statistics = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, flags, wal_buffer_vfs()) != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error(what + " " + path + ": " + message);
  }
  return db;
}

inline void exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("sqlite: " + message);
  }
}

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
      fail(db, "sqlite prepare");
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  void bind(int i, const std::string& text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  // Without SQLite's copy: `text` must stay unchanged until the next reset(), which unbinds it. An empty
  // view is "" (SQLite binds a null pointer as NULL, and a default string_view has one).
  void bind_borrowed(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.empty() ? "" : text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  void bind_blob(int i, const void* data, size_t size) {
    sqlite3_bind_blob(stmt_, i, data, static_cast<int>(size), SQLITE_TRANSIENT);
  }
  // true while rows come; false when done. Throws on errors.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, "sqlite step");
  }
  int64_t int_at(int col) { return sqlite3_column_int64(stmt_, col); }
  std::string text_at(int col) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  std::string blob_at(int col) {
    auto p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
  }
  bool is_null_at(int col) { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  // Into an existing string, reusing its buffer (no allocation per row).
  void text_into(int col, std::string& out) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    out.assign(p ? p : "", p ? static_cast<size_t>(sqlite3_column_bytes(stmt_, col)) : 0);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace kuzet::collector::sqlite
