#pragma once
// The SQLite store's place-keyed orderings of its measurements (by target; by cc, asn and target), kept in
// a file of their own and written in large batches off the upload path. Kept as indexes on the measurements
// table they cost ~35-45 µs of each upload's commit at 20,000 measurements/s: a group commit inserts at one
// point per distinct place, so every commit rewrote one leaf page per place and index through the log and
// the checkpoint (docs/benchmarks.md). Here a thread copies (rowid, uid, started_at, cc, asn, target) of new
// rows every second, 20,000 rows to a transaction, so each leaf is rewritten once per many rows.
//
// Rows are taken by rowid past a watermark kept in the file: in SQLite rowids grow in commit order and the
// store never deletes, so a watermark never skips a row. The file is derived data: deleting it is safe (it is
// rebuilt), and it is rebuilt when it does not match the store (another database, a restored backup).
// Queries read it through the store's reader connection (ATTACH ... AS places) after catch_up_within().
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "collector/store/sqlite/recent_rows.hpp"
#include "core/stop_signal.hpp"

namespace kuzet::collector::sqlite {

class PlaceIndex {
 public:
  // Tables in the file, for the store's queries: places.by_target(target, started_at, uid, rid) and
  // places.by_place(cc, asn, target, started_at, uid, rid), each its own primary key in that order; rid is
  // the measurement's rowid.
  static constexpr int kFormat = 1;

  // Opens (or creates) `path` for the store at `store_path` and starts a thread that catches up every
  // `interval` (0: no thread; catch_up() and catch_up_within() still apply new rows). New rows the store's
  // writer still holds in `recent` (may be null; it must outlive this) are taken from there rather than
  // read back from the file. Throws std::runtime_error when the file cannot be opened or created.
  PlaceIndex(const std::string& store_path, std::string path, std::chrono::milliseconds interval,
             RecentRows* recent = nullptr);
  ~PlaceIndex();
  PlaceIndex(const PlaceIndex&) = delete;
  PlaceIndex& operator=(const PlaceIndex&) = delete;

  const std::string& path() const { return path_; }

  // Applies every row stored so far, a batch at a time, each in the process's background turn
  // (core::background_turn). Throws std::runtime_error on storage errors.
  void catch_up();
  // Applies what was stored since the last catch-up when at most `max_rows` rows wait, so that a query then
  // sees every row stored before it asked. False when more wait (the index is still being built) or when the
  // index failed: the caller then reads the measurements table itself, which is slower but as complete.
  bool catch_up_within(int64_t max_rows);

 private:
  // One batch of at most kBatchRows, in one transaction of the file. Returns the rows applied.
  int64_t apply_batch_locked();
  // apply_batch_locked, reporting a failure (once) and a recovery on stderr. True when more rows wait.
  bool apply_noting_failure_locked();
  int64_t stored_end_locked();  // the store's max rowid + 1
  void reset_locked();          // empties the file's tables
  void run(std::chrono::milliseconds interval);

  static constexpr int64_t kBatchRows = 20000;     // rows per transaction of the index file
  static constexpr int64_t kReadPieceRows = 2000;  // rows per read transaction of the store

  std::string path_;
  RecentRows* recent_;  // may be null
  sqlite3* db_ = nullptr;     // the index file, written only here
  sqlite3* store_ = nullptr;  // the store's file, read only here
  std::mutex mutex_;          // the two connections
  bool failed_ = false;       // the last batch failed: reported once; the thread tries again
  core::StopSignal stop_;
  std::thread thread_;
};

}  // namespace kuzet::collector::sqlite
