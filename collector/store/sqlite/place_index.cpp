#include "collector/store/sqlite/place_index.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <vector>

#include "collector/store/sqlite/sqlite_util.hpp"
#include "core/background_turn.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace kuzet::collector::sqlite {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS place_meta (
  key TEXT PRIMARY KEY,
  value NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS by_target (
  target TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  uid TEXT NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY (target, started_at, uid)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS by_place (
  cc TEXT NOT NULL,
  asn INTEGER NOT NULL,
  target TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  uid TEXT NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY (cc, asn, target, started_at, uid)
) WITHOUT ROWID;
)sql";

struct Row {
  int64_t rid;
  std::string uid;
  int64_t started_at;
  std::string cc;
  int64_t asn;
  std::string target;
};

sqlite3* open_file(const std::string& path) {
  sqlite3* db = open_database(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                              "cannot open place index");
  sqlite3_busy_timeout(db, 10000);
  return db;
}

std::string meta_text(sqlite3* db, const char* key) {
  Statement st(db, "SELECT value FROM place_meta WHERE key = ?");
  st.bind(1, std::string(key));
  return st.step() ? st.text_at(0) : std::string();
}

int64_t meta_int(sqlite3* db, const char* key, int64_t missing) {
  Statement st(db, "SELECT value FROM place_meta WHERE key = ?");
  st.bind(1, std::string(key));
  return st.step() ? st.int_at(0) : missing;
}

// `value`: a std::string or an int64_t (Statement::bind's overloads).
template <class Value>
void set_meta(sqlite3* db, const char* key, const Value& value) {
  Statement st(db, "INSERT INTO place_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  st.bind(1, std::string(key));
  st.bind(2, value);
  st.step();
}

}  // namespace

PlaceIndex::PlaceIndex(const std::string& store_path, std::string path, std::chrono::milliseconds interval,
                       RecentRows* recent)
    : path_(std::move(path)), recent_(recent) {
  try {
    db_ = open_file(path_);
    // Derived data: a crash may lose its last batches (they are applied again), never leave it inconsistent.
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8192;");
    store_ = open_file(store_path);
    std::lock_guard lock(mutex_);
    exec(db_, "BEGIN IMMEDIATE");
    try {
      exec(db_, kSchema);
      // Another format, or a file that indexed rows this store does not have (another database, a backup
      // restored under it): start again. The last indexed row's uid identifies what the file has seen.
      const int64_t next = meta_int(db_, "next_rowid", 1);
      bool matches = meta_int(db_, "format", kFormat) == kFormat;
      if (matches && next > 1) {
        Statement last(store_, "SELECT uid FROM measurements WHERE rowid = ?");
        last.bind(1, next - 1);
        matches = last.step() && last.text_at(0) == meta_text(db_, "last_uid");
      }
      if (!matches) reset_locked();
      set_meta(db_, "format", int64_t{kFormat});
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  } catch (...) {
    sqlite3_close(store_);
    sqlite3_close(db_);
    throw;
  }
  if (interval.count() > 0) thread_ = std::thread([this, interval] { run(interval); });
}

PlaceIndex::~PlaceIndex() {
  stop_.stop();
  if (thread_.joinable()) thread_.join();
  sqlite3_close(store_);
  sqlite3_close(db_);
}

void PlaceIndex::reset_locked() {
  // Dropped rather than emptied: quicker for a large file, and a later format may change the tables.
  exec(db_, "DROP TABLE by_target; DROP TABLE by_place; DELETE FROM place_meta;");
  exec(db_, kSchema);
}

int64_t PlaceIndex::stored_end_locked() {
  Statement st(store_, "SELECT coalesce(max(rowid), 0) + 1 FROM measurements");
  st.step();
  return st.int_at(0);
}

int64_t PlaceIndex::apply_batch_locked() {
  exec(db_, "BEGIN IMMEDIATE");
  try {
    // Read inside the write transaction: another connection to this file may have moved it meanwhile.
    const int64_t next = meta_int(db_, "next_rowid", 1);
    // In pieces, each its own read transaction of the store: a snapshot held for the whole batch would keep
    // the store's WAL checkpointer from copying past it (SqliteStore::in_log_order says more).
    std::vector<Row> rows;
    Statement read(store_,
                   "SELECT rowid, uid, started_at, cc, asn, target FROM measurements WHERE rowid >= ? AND rowid < ?"
                   " ORDER BY rowid LIMIT ?");
    for (int64_t from = next; static_cast<int64_t>(rows.size()) < kBatchRows;) {
      const int64_t piece = std::min(kReadPieceRows, kBatchRows - static_cast<int64_t>(rows.size()));
      // Rows the store's writer still holds come from memory; the file is read only up to where those begin.
      std::optional<int64_t> memory_from;
      if (recent_) {
        const size_t held = recent_->by_rowid(from, from + piece, [&](const RecentRows::PlaceView& v) {
          rows.push_back({v.rowid, std::string(v.uid), v.started_at_ms, std::string(v.cc), v.asn, std::string(v.target)});
        });
        if (held > 0) {
          from = rows.back().rid + 1;
          continue;
        }
        if (const auto first = recent_->first_rowid(); first && *first > from) memory_from = first;
      }
      const size_t before = rows.size();
      read.reset();
      read.bind(1, from);
      read.bind(2, memory_from.value_or(INT64_MAX));
      read.bind(3, piece);
      while (read.step())
        rows.push_back({read.int_at(0), read.text_at(1), read.int_at(2), read.text_at(3), read.int_at(4),
                        read.text_at(5)});
      read.reset();  // ends the read transaction
      const bool whole = static_cast<int64_t>(rows.size() - before) == piece;
      // Short of a whole piece: the store's end, or where memory begins (every row before one committed is
      // committed, whatever gaps its rowids have).
      if (!whole && !memory_from) break;
      from = whole ? rows.back().rid + 1 : *memory_from;
    }
    if (rows.empty()) {
      exec(db_, "COMMIT");
      return 0;
    }
    const int64_t end = rows.back().rid + 1;
    const std::string last_uid = rows.back().uid;
    // Each table in its own key order: consecutive inserts then land on the same leaf.
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return std::tie(a.target, a.started_at, a.uid) < std::tie(b.target, b.started_at, b.uid);
    });
    {
      Statement ins(db_, "INSERT OR IGNORE INTO by_target(target, started_at, uid, rid) VALUES(?,?,?,?)");
      for (const auto& r : rows) {
        ins.reset();
        ins.bind(1, r.target);
        ins.bind(2, r.started_at);
        ins.bind(3, r.uid);
        ins.bind(4, r.rid);
        ins.step();
      }
    }
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
      return std::tie(a.cc, a.asn, a.target, a.started_at, a.uid) < std::tie(b.cc, b.asn, b.target, b.started_at, b.uid);
    });
    {
      Statement ins(db_, "INSERT OR IGNORE INTO by_place(cc, asn, target, started_at, uid, rid) VALUES(?,?,?,?,?,?)");
      for (const auto& r : rows) {
        ins.reset();
        ins.bind(1, r.cc);
        ins.bind(2, r.asn);
        ins.bind(3, r.target);
        ins.bind(4, r.started_at);
        ins.bind(5, r.uid);
        ins.bind(6, r.rid);
        ins.step();
      }
    }
    set_meta(db_, "next_rowid", end);
    set_meta(db_, "last_uid", last_uid);
    exec(db_, "COMMIT");
    return static_cast<int64_t>(rows.size());
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

bool PlaceIndex::apply_noting_failure_locked() {
  try {
    const bool more = apply_batch_locked() == kBatchRows;
    if (failed_) core::log_at(core::LogLevel::warning, "place index %s: writing again", path_.c_str());
    failed_ = false;
    return more;
  } catch (const std::exception& e) {
    if (!failed_)
      core::log_at(core::LogLevel::error, "place index %s: %s (queries read the table meanwhile)", path_.c_str(), e.what());
    failed_ = true;
    throw;
  }
}

void PlaceIndex::catch_up() {
  // A batch at a time: a query waits for one batch, not for a rebuild of the whole file.
  for (bool more = true; more;) {
    if (stop_.stopped()) return;
    std::lock_guard turn(core::background_turn());
    std::lock_guard lock(mutex_);
    more = apply_noting_failure_locked();
  }
}

bool PlaceIndex::catch_up_within(int64_t max_rows) {
  std::lock_guard lock(mutex_);
  try {
    if (stored_end_locked() - meta_int(db_, "next_rowid", 1) > max_rows) return false;
    while (apply_noting_failure_locked()) {
    }
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

void PlaceIndex::run(std::chrono::milliseconds interval) {
  core::name_this_thread("place-index");
  do {
    try {
      catch_up();
    } catch (const std::exception&) {
      // Reported by catch_up; tried again next time.
    }
  } while (!stop_.wait_for(interval));
}

}  // namespace kuzet::collector::sqlite
