// SQLite implementation of collector::Store: WAL, synchronous=FULL, versioned migrations.
#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <algorithm>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "collector/log/stored_log.hpp"
#include "collector/store/log_entry.hpp"
#include "collector/store/sqlite/sqlite_util.hpp"
#include "collector/store/store.hpp"
#include "collector/store/sqlite/place_index.hpp"
#include "collector/store/sqlite/recent_rows.hpp"
#include "collector/store/sqlite/wal_checkpointer.hpp"
#include "collector/vantage/vantage.hpp"
#include "core/log.hpp"
#include "tlog/entry.hpp"

namespace kuzet::collector {

namespace {

// Append-only: a released migration is never edited; new schema changes are new entries.
struct Migration {
  int version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE probe_keys (
  key_id TEXT PRIMARY KEY,
  public_key TEXT NOT NULL,
  first_seen INTEGER NOT NULL
);
CREATE TABLE measurements (
  uid TEXT PRIMARY KEY,
  envelope TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  key_id TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  cc TEXT NOT NULL,
  asn INTEGER NOT NULL,
  target TEXT NOT NULL,
  category TEXT NOT NULL,
  verdict TEXT NOT NULL,
  method TEXT NOT NULL
);
CREATE INDEX measurements_place ON measurements(cc, asn, target, started_at);
CREATE INDEX measurements_time ON measurements(started_at, uid);
)sql"},
    // Per-target timelines across networks.
    {2, R"sql(
CREATE INDEX measurements_target ON measurements(target, started_at);
)sql"},
    // The transparency log (docs/transparency-log.md): one entry per measurement, the subtree hashes that
    // proofs and tiles read, and every signed checkpoint. Rows are only ever inserted.
    {3, R"sql(
CREATE TABLE log_entries (
  idx INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  entry BLOB NOT NULL
);
CREATE TABLE log_hashes (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE log_checkpoints (
  id INTEGER PRIMARY KEY,
  size INTEGER NOT NULL,
  note TEXT NOT NULL,
  signed_at INTEGER NOT NULL
);
CREATE TRIGGER log_entries_append_only BEFORE UPDATE ON log_entries
  BEGIN SELECT RAISE(ABORT, 'log entries are never rewritten'); END;
CREATE TRIGGER log_entries_never_removed BEFORE DELETE ON log_entries
  BEGIN SELECT RAISE(ABORT, 'log entries are never removed'); END;
CREATE TRIGGER log_hashes_append_only BEFORE UPDATE ON log_hashes
  BEGIN SELECT RAISE(ABORT, 'log hashes are never rewritten'); END;
CREATE TRIGGER log_hashes_never_removed BEFORE DELETE ON log_hashes
  BEGIN SELECT RAISE(ABORT, 'log hashes are never removed'); END;
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE ON log_checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are never rewritten'); END;
CREATE TRIGGER log_checkpoints_never_removed BEFORE DELETE ON log_checkpoints
  BEGIN SELECT RAISE(ABORT, 'checkpoints are never removed'); END;
)sql"},
    // Measurements imported from OONI live beside Kuzet's own, labelled (docs/ooni.md).
    {4, R"sql(
ALTER TABLE measurements ADD COLUMN source TEXT NOT NULL DEFAULT 'kuzet';
)sql"},
    // Independent vantage points (collector/vantage, docs/timelines.md): never the source address.
    {5, R"sql(
ALTER TABLE measurements ADD COLUMN vantage TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN network_check TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN decisive INTEGER NOT NULL DEFAULT 0;
)sql"},
    // A country's measurements in time order (the list API's pages, kuzet-report's fetch): without it each
    // page sorted every matching row again (~2 s per 1,000-row page on the January 2022 replay).
    {6, R"sql(
CREATE INDEX measurements_cc_time ON measurements(cc, started_at, uid);
)sql"},
    // The place-keyed orderings moved to a file of their own, written off the upload path
    // (collector/store/sqlite/place_index.hpp): here each commit rewrote one leaf per place and index.
    {7, R"sql(
DROP INDEX IF EXISTS measurements_target;
DROP INDEX IF EXISTS measurements_place;
)sql"},
};
constexpr int kLogSchemaVersion = 3;
constexpr int kSourceSchemaVersion = 4;
constexpr int kVantageSchemaVersion = 5;
constexpr int kPlaceIndexSchemaVersion = 7;

using sqlite::exec;
using sqlite::fail;
using sqlite::Statement;

sqlite3* open_connection(const std::string& path) {
  sqlite3* db = sqlite::open_database(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                      "cannot open database");
  sqlite3_busy_timeout(db, 10000);
  try {
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  } catch (...) {
    sqlite3_close(db);
    throw;
  }
  return db;
}

int current_version(sqlite3* db) {
  exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at INTEGER NOT NULL)");
  Statement q(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
  q.step();
  return static_cast<int>(q.int_at(0));
}

void migrate(sqlite3* db, int target_version) {
  exec(db, "BEGIN IMMEDIATE");
  try {
    int version = current_version(db);
    for (const auto& m : kMigrations) {
      if (m.version <= version || m.version > target_version) continue;
      exec(db, m.sql);
      Statement ins(db, "INSERT INTO schema_version(version, applied_at) VALUES(?, ?)");
      ins.bind(1, static_cast<int64_t>(m.version));
      ins.bind(2, static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count()));
      ins.step();
    }
    exec(db, "COMMIT");
  } catch (...) {
    exec(db, "ROLLBACK");
    throw;
  }
}

// The summary columns, each after `prefix` (a table's alias and a dot, or nothing).
std::string summary_columns(const std::string& prefix) {
  std::string out;
  for (const char* c : {"uid", "key_id", "started_at", "received_at", "cc", "asn", "target", "category", "verdict", "method"})
    out += (out.empty() ? "" : ", ") + prefix + c;
  return out;
}

// A row selected with summary_columns first.
MeasurementSummary summary_at(sqlite::Statement& st) {
  MeasurementSummary s;
  s.uid = st.text_at(0);
  s.key_id = st.text_at(1);
  s.started_at_ms = st.int_at(2);
  s.received_at_ms = st.int_at(3);
  s.cc = st.text_at(4);
  s.asn = static_cast<uint32_t>(st.int_at(5));
  s.target = st.text_at(6);
  s.category = st.text_at(7);
  s.verdict = st.text_at(8);
  s.method = st.text_at(9);
  return s;
}

// A WHERE clause; binds in the order the placeholders appear.
struct Where {
  std::string clauses;
  std::vector<std::string> texts;  // bound first, in order
  std::vector<int64_t> ints;
  std::vector<bool> is_text;  // per placeholder

  void add_text(const std::string& clause, const std::string& v) {
    add(clause);
    bind_text(v);
  }
  void add_int(const std::string& clause, int64_t v) {
    add(clause);
    bind_int(v);
  }
  // A clause whose placeholders are bound next, in order.
  void add(const std::string& clause) { clauses += (clauses.empty() ? "" : " AND ") + clause; }
  void bind_text(const std::string& v) {
    texts.push_back(v);
    is_text.push_back(true);
  }
  void bind_int(int64_t v) {
    ints.push_back(v);
    is_text.push_back(false);
  }
  void append(const Where& other) {
    if (other.clauses.empty()) return;
    add(other.clauses);
    texts.insert(texts.end(), other.texts.begin(), other.texts.end());
    ints.insert(ints.end(), other.ints.begin(), other.ints.end());
    is_text.insert(is_text.end(), other.is_text.begin(), other.is_text.end());
  }
  std::string sql() const { return clauses.empty() ? "" : " WHERE " + clauses; }
};

// The optional filters, on columns named after `prefix`.
Where build_where(const SummaryQuery& q, const std::string& prefix = "") {
  Where w;
  auto text = [&](const char* column, const std::string& v) { w.add_text(prefix + column + " = ?", v); };
  if (!q.source.empty()) text("source", q.source);
  if (!q.cc.empty()) text("cc", q.cc);
  if (q.asn) w.add_int(prefix + "asn = ?", *q.asn);
  if (!q.target.empty()) text("target", q.target);
  if (!q.category.empty()) text("category", q.category);
  if (!q.verdict.empty()) text("verdict", q.verdict);
  if (q.method) text("method", *q.method);
  if (q.from_ms) w.add_int(prefix + "started_at >= ?", *q.from_ms);
  if (q.until_ms) w.add_int(prefix + "started_at < ?", *q.until_ms);
  if (q.confirmed) w.add_int(prefix + "decisive = ?", *q.confirmed ? 1 : 0);
  return w;
}

int bind_where(Statement& st, const Where& w) {
  size_t t = 0, n = 0;
  int i = 1;
  for (bool text : w.is_text) {
    if (text) st.bind(i++, w.texts[t++]);
    else st.bind(i++, w.ints[n++]);
  }
  return i;
}

class SqliteStore : public Store {
 public:
  SqliteStore(const std::string& path, int target_version) : gate_(sqlite::write_gate(path)) {
    writer_ = open_connection(path);
    try {
      migrate(writer_, target_version);
      reader_ = open_connection(path);
      // A store held at an older schema (migration tests) writes the columns it has: the log from v3,
      // the source from v4, the vantage columns from v5.
      has_source_ = target_version >= kSourceSchemaVersion;
      has_vantage_ = target_version >= kVantageSchemaVersion;
      std::string columns = "uid, envelope, content_hash, key_id, started_at, received_at, cc, asn, target, category, verdict, method";
      int count = 12;
      if (has_source_) columns += ", source", count += 1;
      if (has_vantage_) columns += ", vantage, network_check, decisive", count += 3;
      std::string marks = "?";
      for (int c = 1; c < count; ++c) marks += ",?";
      insert_ = std::make_unique<Statement>(
          writer_, "INSERT INTO measurements(" + columns + ") VALUES(" + marks + ") ON CONFLICT(uid) DO NOTHING");
      has_log_ = target_version >= kLogSchemaVersion;
      if (has_log_) {
        existing_ = std::make_unique<Statement>(
            writer_,
            "SELECT m.content_hash, m.envelope, l.idx FROM measurements m LEFT JOIN log_entries l ON l.uid = m.uid"
            " WHERE m.uid = ?");
        log_entry_insert_ = std::make_unique<Statement>(writer_, "INSERT INTO log_entries(idx, uid, entry) VALUES(?,?,?)");
        log_hash_insert_ = std::make_unique<Statement>(writer_, "INSERT INTO log_hashes(level, idx, hash) VALUES(?,?,?)");
        key_first_seen_ = std::make_unique<Statement>(writer_, "SELECT first_seen FROM probe_keys WHERE key_id = ?");
        open_log();
      } else {
        existing_ = std::make_unique<Statement>(writer_, "SELECT content_hash, envelope FROM measurements WHERE uid = ?");
      }
      checkpoints_ = std::make_unique<sqlite::WalCheckpointer>(writer_, open_connection(path));
      if (target_version >= kPlaceIndexSchemaVersion) open_place_index(path);
    } catch (...) {
      places_.reset();
      checkpoints_.reset();
      insert_.reset();
      existing_.reset();
      log_entry_insert_.reset();
      log_hash_insert_.reset();
      key_first_seen_.reset();
      sqlite3_close(reader_);
      sqlite3_close(writer_);
      throw;
    }
  }
  ~SqliteStore() override {
    places_.reset();
    checkpoints_.reset();
    insert_.reset();
    existing_.reset();
    log_entry_insert_.reset();
    log_hash_insert_.reset();
    key_first_seen_.reset();
    sqlite3_close(reader_);
    sqlite3_close(writer_);  // the last connection to close checkpoints the WAL
  }

  bool register_key(const ProbeKey& key) override {
    std::lock_guard lock(write_mutex_);
    Statement st(writer_, "INSERT INTO probe_keys(key_id, public_key, first_seen) VALUES(?,?,?) ON CONFLICT DO NOTHING");
    st.bind(1, key.key_id);
    st.bind(2, key.public_key);
    st.bind(3, key.first_seen_ms);
    st.step();
    return sqlite3_changes(writer_) > 0;
  }

  // Keys are never removed, so a key once found stays valid in the cache (every upload item asks).
  std::optional<ProbeKey> find_key(const std::string& key_id) override {
    {
      std::lock_guard cache(cache_mutex_);
      auto it = known_keys_.find(key_id);
      if (it != known_keys_.end()) return it->second;
    }
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT key_id, public_key, first_seen FROM probe_keys WHERE key_id = ?");
    st.bind(1, key_id);
    if (!st.step()) return std::nullopt;
    ProbeKey key{st.text_at(0), st.text_at(1), st.int_at(2)};
    std::lock_guard cache(cache_mutex_);
    known_keys_.emplace(key_id, key);
    return key;
  }

  std::vector<ProbeKey> probe_keys() override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT key_id, public_key, first_seen FROM probe_keys ORDER BY key_id");
    std::vector<ProbeKey> out;
    while (st.step()) out.push_back({st.text_at(0), st.text_at(1), st.int_at(2)});
    return out;
  }

  // Group commit: batches that arrive while another transaction commits wait, and the next of them to run
  // writes all the waiting ones (up to kGroupRows) in one transaction, so they share one fsync of the log.
  // Each batch's results are what it would get alone after the ones before it (a uid stored by an earlier
  // batch of the group is existing). When a group's transaction fails, its batches are written again one by
  // one, so a failure is only ever its own batch's.
  std::vector<InsertResult> insert_batch(const std::vector<NewMeasurement>& rows) override {
    PendingBatch me{&rows, {}, nullptr, false};
    std::unique_lock queue(group_mutex_);
    pending_.push_back(&me);
    while (!me.done) {
      group_done_.wait(queue, [&] { return me.done || !committing_; });
      if (me.done) break;
      committing_ = true;
      std::vector<PendingBatch*> group;
      size_t group_rows = 0;
      while (!pending_.empty() && (group.empty() || group_rows + pending_.front()->rows->size() <= kGroupRows)) {
        group_rows += pending_.front()->rows->size();
        group.push_back(pending_.front());
        pending_.pop_front();
      }
      queue.unlock();
      try {
        write_group(group);
      } catch (...) {  // e.g. bad_alloc before any transaction: the group fails, and the queue goes on
        for (auto* batch : group)
          if (!batch->error && batch->results.size() != batch->rows->size()) batch->error = std::current_exception();
      }
      queue.lock();
      committing_ = false;
      for (auto* batch : group) batch->done = true;
      group_done_.notify_all();
    }
    if (me.error) std::rethrow_exception(me.error);
    return std::move(me.results);
  }

  LogHead log_head() override {
    std::lock_guard lock(head_mutex_);
    return head_;
  }

  std::optional<uint64_t> log_index(const std::string& uid) override {
    if (!has_log_) return std::nullopt;
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT idx FROM log_entries WHERE uid = ?");
    st.bind(1, uid);
    if (!st.step()) return std::nullopt;
    return static_cast<uint64_t>(st.int_at(0));
  }

  std::vector<std::string> log_entries(uint64_t begin, uint64_t end) override {
    if (begin > end || end > log_head().size) throw std::out_of_range("log entries outside the log");
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT entry FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx");
    st.bind(1, static_cast<int64_t>(begin));
    st.bind(2, static_cast<int64_t>(end));
    std::vector<std::string> out;
    while (st.step()) out.push_back(st.blob_at(0));
    if (out.size() != end - begin) throw std::runtime_error("log entries missing from the database");
    return out;
  }

  std::vector<tlog::Hash> log_hashes(const std::vector<tlog::Subtree>& subtrees) override {
    std::lock_guard lock(read_mutex_);
    return log::read_log_hashes(reader_, subtrees);
  }

  void add_checkpoint(uint64_t size, const std::string& note, int64_t signed_at_ms) override {
    std::lock_guard lock(write_mutex_);
    Statement st(writer_, "INSERT INTO log_checkpoints(size, note, signed_at) VALUES(?,?,?)");
    st.bind(1, static_cast<int64_t>(size));
    st.bind(2, note);
    st.bind(3, signed_at_ms);
    st.step();
  }

  std::optional<std::string> latest_checkpoint() override {
    if (!has_log_) return std::nullopt;
    std::lock_guard lock(read_mutex_);
    return log::read_latest_checkpoint(reader_);
  }

  std::optional<std::string> envelope(const std::string& uid) override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT envelope FROM measurements WHERE uid = ?");
    st.bind(1, uid);
    if (!st.step()) return std::nullopt;
    return st.text_at(0);
  }

  std::vector<ListedMeasurement> list(const ListQuery& query) override {
    const auto& f = query.filter;
    // A target's rows come from the place index, in order, when it is caught up to this query; otherwise
    // the table is read in time order (measurements_time, measurements_cc_time), as complete but slower.
    const bool indexed = places_ && !f.target.empty() && places_->catch_up_within(kPlaceCatchUpRows);
    const std::string m = indexed ? "m." : "";
    Where w;
    std::string from = " FROM measurements";
    if (indexed) {
      // The index's own order first, so that SQLite walks it and stops at the limit (CROSS JOIN keeps the
      // loops in this order); the uid check guards against a file that drifted from the table.
      const bool place = !f.cc.empty() && f.asn;
      from = place ? " FROM places.by_place p CROSS JOIN measurements m" : " FROM places.by_target p CROSS JOIN measurements m";
      if (place) {
        w.add_text("p.cc = ?", f.cc);
        w.add_int("p.asn = ?", *f.asn);
      }
      w.add_text("p.target = ?", f.target);
      if (f.from_ms) w.add_int("p.started_at >= ?", *f.from_ms);
      if (f.until_ms) w.add_int("p.started_at < ?", *f.until_ms);
      w.add("m.rowid = p.rid AND m.uid = p.uid");
    }
    const std::string order = indexed ? "p." : "";
    w.append(build_where(f, m));
    if (query.after) {
      w.add("(" + order + "started_at > ? OR (" + order + "started_at = ? AND " + order + "uid > ?))");
      w.bind_int(query.after->started_at_ms);
      w.bind_int(query.after->started_at_ms);
      w.bind_text(query.after->uid);
    }
    std::string sql = "SELECT " + summary_columns(m) + ", " + m + "envelope, " + (has_vantage_ ? m + "decisive" : "0") +
                      from + w.sql() + " ORDER BY " + order + "started_at, " + order + "uid";
    if (f.limit > 0) sql += " LIMIT ?";
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, sql);
    int i = bind_where(st, w);
    if (f.limit > 0) st.bind(i++, static_cast<int64_t>(f.limit));
    std::vector<ListedMeasurement> out;
    while (st.step()) {
      ListedMeasurement row;
      row.summary = summary_at(st);
      row.position = {row.summary.started_at_ms, row.summary.uid};
      row.envelope = st.text_at(10);
      row.confirmed = st.int_at(11) != 0;
      out.push_back(std::move(row));
    }
    return out;
  }

  std::vector<MeasurementSummary> summaries(const SummaryQuery& query) override {
    Where w = build_where(query);
    std::string sql = "SELECT " + summary_columns("") + (has_source_ ? ", source" : ", 'kuzet'") +
                      " FROM measurements" + w.sql() + " ORDER BY started_at, uid";
    if (query.limit > 0) sql += " LIMIT ?";
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, sql);
    int i = bind_where(st, w);
    if (query.limit > 0) st.bind(i, static_cast<int64_t>(query.limit));
    std::vector<MeasurementSummary> out;
    while (st.step()) {
      MeasurementSummary s = summary_at(st);
      s.source = st.text_at(10);
      out.push_back(std::move(s));
    }
    return out;
  }

  // Read in pieces of kReadPieceRows, each its own read transaction: a snapshot held for a whole 20,000-row
  // batch (~0.2 s on busy cores) kept the WAL checkpointer from copying past it, and the writer then had to
  // checkpoint a large log inside an upload's commit (docs/benchmarks.md, session 23). A piece shorter than
  // asked is the log's end then; reading on from there could skip entries committed meanwhile, so it stops.
  std::vector<NewMeasurement> in_log_order(uint64_t begin, size_t limit, bool with_envelopes) override {
    std::vector<NewMeasurement> out;
    if (!has_log_) return out;
    const std::string sql = std::string("SELECT m.uid, ") + (with_envelopes ? "m.envelope" : "''") +
                            ", m.content_hash, m.key_id, m.started_at, m.received_at, m.cc, m.asn, m.target,"
                            " m.category, m.verdict, m.method, " +
                            (has_source_ ? "m.source" : "'kuzet'") + ", " +
                            (has_vantage_ ? "m.vantage, m.network_check, m.decisive" : "'', '', 0") +
                            " FROM log_entries l JOIN measurements m ON m.uid = l.uid"
                            " WHERE l.idx >= ? AND l.idx < ? ORDER BY l.idx";
    // Room for every row at once, rather than moving every row at each doubling: no more than the log
    // holds past `begin`, and capped, since `limit` is a bound, not a size.
    if (const uint64_t logged = log_head().size; logged > begin)
      out.reserve(std::min<uint64_t>({limit, logged - begin, 50 * kReadPieceRows}));
    for (uint64_t piece = begin; piece < begin + limit;) {
      uint64_t end = std::min<uint64_t>(begin + limit, piece + kReadPieceRows);
      // Rows the writer committed lately come from memory; the file is read only up to where those begin.
      bool up_to_memory = false;
      if (!with_envelopes) {
        if (const size_t held = recent_.by_log_index(piece, end, out); held > 0) {
          piece += held;
          continue;
        }
        const auto first = recent_.first_log_index();
        if (first && static_cast<uint64_t>(*first) > piece && static_cast<uint64_t>(*first) < end) {
          end = static_cast<uint64_t>(*first);
          up_to_memory = true;  // every entry before a committed one is committed: this piece is whole
        }
      }
      const size_t before = out.size();
      {
        std::lock_guard lock(read_mutex_);
        Statement st(reader_, sql);
        st.bind(1, static_cast<int64_t>(piece));
        st.bind(2, static_cast<int64_t>(end));
        while (st.step()) {
          NewMeasurement m;
          m.uid = st.text_at(0);
          m.envelope = st.text_at(1);
          m.content_hash = st.text_at(2);
          m.key_id = st.text_at(3);
          m.started_at_ms = st.int_at(4);
          m.received_at_ms = st.int_at(5);
          m.cc = st.text_at(6);
          m.asn = static_cast<uint32_t>(st.int_at(7));
          m.target = st.text_at(8);
          m.category = st.text_at(9);
          m.verdict = st.text_at(10);
          m.method = st.text_at(11);
          m.source = st.text_at(12);
          m.vantage = st.text_at(13);
          m.network_check = st.text_at(14);
          m.decisive = st.int_at(15) != 0;
          out.push_back(std::move(m));
        }
      }
      if (!up_to_memory && out.size() - before < end - piece) break;
      piece = end;
    }
    return out;
  }

  uint64_t measurement_count() override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT COUNT(*) FROM measurements");
    st.step();
    return static_cast<uint64_t>(st.int_at(0));
  }

  int schema_version() override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    st.step();
    return static_cast<int>(st.int_at(0));
  }

 private:
  // A batch waiting for the group commit (insert_batch): its rows, and what became of them.
  struct PendingBatch {
    const std::vector<NewMeasurement>* rows;
    std::vector<InsertResult> results;
    std::exception_ptr error;
    bool done;
  };
  static constexpr size_t kGroupRows = 5000;  // rows of waiting batches written in one transaction, at most
  static constexpr uint64_t kReadPieceRows = 2000;  // rows per read transaction of in_log_order
  // Rows a list query lets the place index catch up on before it reads it (~1 s of its work); more means it
  // is being built, and the query reads the table instead.
  static constexpr int64_t kPlaceCatchUpRows = 100000;

  // The place index beside the database (`<path>.places`), attached to the reader. A store without one (it
  // cannot be created or attached: a read-only directory, a damaged file) still answers every query, from
  // the table; the reason goes to stderr.
  void open_place_index(const std::string& path) {
    try {
      auto places = std::make_unique<sqlite::PlaceIndex>(path, path + ".places", std::chrono::seconds(1), &recent_);
      Statement attach(reader_, "ATTACH DATABASE ? AS places");
      attach.bind(1, places->path());
      attach.step();
      places_ = std::move(places);
    } catch (const std::exception& e) {
      core::log_at(core::LogLevel::error, "place index for %s not used: %s", path.c_str(), e.what());
    }
  }

  // One transaction for `batches`, durable when it returns; results per batch, in input order. Under
  // write_mutex_. Throws (nothing written) when it does not commit.
  std::vector<std::vector<InsertResult>> write_batches_locked(const std::vector<const std::vector<NewMeasurement>*>& batches) {
    std::vector<std::vector<InsertResult>> all;
    for (const auto* rows : batches) all.emplace_back(rows->size());
    const tlog::Frontier before = frontier_;  // restored if the transaction does not commit
    KeyTimes key_times;
    std::vector<sqlite::RecentRows::Committed> committed;
    exec(writer_, "BEGIN IMMEDIATE");
    try {
      for (size_t b = 0; b < batches.size(); ++b) {
        const auto& rows = *batches[b];
        auto& results = all[b];
        for (size_t i = 0; i < rows.size(); ++i) {
          const auto& r = rows[i];
          // `rows` outlives the statement's next reset(): SQLite reads the envelope in place, uncopied.
          auto& st = *insert_;
          st.reset();
          st.bind_borrowed(1, r.uid);
          st.bind_borrowed(2, r.envelope);
          st.bind_borrowed(3, r.content_hash);
          st.bind_borrowed(4, r.key_id);
          st.bind(5, r.started_at_ms);
          st.bind(6, r.received_at_ms);
          st.bind_borrowed(7, r.cc);
          st.bind(8, static_cast<int64_t>(r.asn));
          st.bind_borrowed(9, r.target);
          st.bind_borrowed(10, r.category);
          st.bind_borrowed(11, r.verdict);
          st.bind_borrowed(12, r.method);
          int column = 13;
          if (has_source_) st.bind_borrowed(column++, r.source);
          if (has_vantage_) {
            st.bind_borrowed(column++, r.vantage);
            st.bind_borrowed(column++, r.network_check);
            st.bind(column++, int64_t{r.decisive});
          }
          st.step();
          if (sqlite3_changes(writer_) > 0) {
            results[i].inserted = true;
            const int64_t rowid = sqlite3_last_insert_rowid(writer_);
            if (has_log_) results[i].log_index = append_to_log(entry_of(r.uid, r.content_hash, r.key_id, r.started_at_ms,
                                                                        r.received_at_ms, r.vantage, r.network_check, key_times));
            committed.push_back({rowid, results[i].log_index ? static_cast<int64_t>(*results[i].log_index) : -1, &r});
            continue;
          }
          auto& ex = *existing_;
          ex.reset();
          ex.bind(1, r.uid);
          if (ex.step()) {
            results[i].existing_hash = ex.text_at(0);
            results[i].existing_envelope = ex.text_at(1);
            if (has_log_ && !ex.is_null_at(2)) results[i].log_index = static_cast<uint64_t>(ex.int_at(2));
          }
          ex.reset();
        }
      }
      insert_->reset();
      exec(writer_, "COMMIT");
    } catch (...) {
      insert_->reset();
      existing_->reset();
      if (log_entry_insert_) log_entry_insert_->reset();
      if (log_hash_insert_) log_hash_insert_->reset();
      if (key_first_seen_) key_first_seen_->reset();
      sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
      frontier_ = before;
      throw;
    }
    recent_.add_committed(committed);  // once committed, under write_mutex_: in commit order
    publish_head();
    return all;
  }

  // A group of waiting batches: one transaction, or each alone when that fails.
  void write_group(const std::vector<PendingBatch*>& group) {
    std::lock_guard lock(write_mutex_);
    std::lock_guard gate(gate_);  // after the timeline indexer's transaction, not a busy-handler sleep later
    std::vector<const std::vector<NewMeasurement>*> batches;
    for (const auto* batch : group) batches.push_back(batch->rows);
    try {
      auto results = write_batches_locked(batches);
      for (size_t b = 0; b < group.size(); ++b) group[b]->results = std::move(results[b]);
      return;
    } catch (...) {
      if (group.size() == 1) {
        group[0]->error = std::current_exception();
        return;
      }
    }
    for (auto* batch : group) {
      try {
        batch->results = std::move(write_batches_locked({batch->rows})[0]);
      } catch (...) {
        batch->error = std::current_exception();
      }
    }
  }

  // Keys' registration times, looked up once per batch.
  using KeyTimes = std::unordered_map<std::string, std::optional<int64_t>>;

  // The log entry of a stored row: with the vantage point it supports (vantage::supporting_tag), which
  // needs its key's registration time. Inside the caller's transaction, under write_mutex_.
  tlog::LogEntry entry_of(const std::string& uid, const std::string& content_hash, const std::string& key_id,
                          int64_t started_at_ms, int64_t received_at_ms, const std::string& tag,
                          const std::string& check, KeyTimes& key_times) {
    auto [it, added] = key_times.try_emplace(key_id);
    if (added) {
      auto& st = *key_first_seen_;
      st.reset();
      st.bind(1, key_id);
      if (st.step()) it->second = st.int_at(0);
      st.reset();
    }
    return measurement_log_entry(uid, content_hash, key_id, started_at_ms, received_at_ms, tag, check, it->second);
  }

  // Appends one entry and the hashes it completes. Inside the caller's transaction, under write_mutex_.
  uint64_t append_to_log(const tlog::LogEntry& log_entry) {
    const std::string entry = tlog::encode_entry(log_entry);
    const uint64_t index = frontier_.size();
    auto& e = *log_entry_insert_;
    e.reset();
    e.bind(1, static_cast<int64_t>(index));
    e.bind(2, log_entry.measurement_uid);
    e.bind_blob(3, entry.data(), entry.size());
    e.step();
    e.reset();
    auto& h = *log_hash_insert_;
    for (const auto& stored : frontier_.append(tlog::leaf_hash(entry))) {
      h.reset();
      h.bind(1, static_cast<int64_t>(stored.subtree.level));
      h.bind(2, static_cast<int64_t>(stored.subtree.index));
      h.bind_blob(3, stored.hash.data(), stored.hash.size());
      h.step();
    }
    h.reset();
    return index;
  }

  void publish_head() {
    if (!has_log_) return;
    std::lock_guard lock(head_mutex_);
    head_ = {frontier_.size(), frontier_.root()};
  }

  // Loads the log's right edge, then logs measurements stored before the log existed (schema < 3), in the
  // order they were stored.
  void open_log() {
    // The writer's view: the frontier is loaded inside the writer's own transactions.
    log::SqliteLogHashes hashes(writer_);
    frontier_ = tlog::Frontier::load(log::stored_log_size(writer_), hashes);
    Statement count(writer_, "SELECT COUNT(*) FROM measurements");
    count.step();
    if (static_cast<uint64_t>(count.int_at(0)) > frontier_.size()) {
      const tlog::Frontier before = frontier_;
      exec(writer_, "BEGIN IMMEDIATE");
      try {
        Statement missing(writer_, std::string("SELECT rowid, uid, content_hash, key_id, started_at, received_at, ") +
                                       (has_vantage_ ? "vantage, network_check" : "'', ''") +
                                       " FROM measurements WHERE rowid > ? AND uid NOT IN (SELECT uid FROM log_entries)"
                                       " ORDER BY rowid LIMIT 5000");
        struct Row {
          std::string uid, content_hash, key_id;
          int64_t started_at, received_at;
          std::string vantage, network_check;
        };
        KeyTimes key_times;
        int64_t after = 0;
        while (true) {
          std::vector<Row> rows;
          missing.reset();
          missing.bind(1, after);
          while (missing.step()) {
            after = missing.int_at(0);
            rows.push_back({missing.text_at(1), missing.text_at(2), missing.text_at(3), missing.int_at(4), missing.int_at(5),
                            missing.text_at(6), missing.text_at(7)});
          }
          if (rows.empty()) break;
          for (const auto& r : rows)
            append_to_log(entry_of(r.uid, r.content_hash, r.key_id, r.started_at, r.received_at, r.vantage,
                                   r.network_check, key_times));
        }
        exec(writer_, "COMMIT");
      } catch (...) {
        sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
        frontier_ = before;
        throw;
      }
    }
    publish_head();
  }

  sqlite::WriteGate& gate_;  // the file's in-process write gate (sqlite::write_gate)
  std::mutex write_mutex_;
  std::mutex group_mutex_;  // the group commit's queue (insert_batch)
  std::condition_variable group_done_;
  std::deque<PendingBatch*> pending_;
  bool committing_ = false;
  std::mutex read_mutex_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, ProbeKey> known_keys_;
  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
  std::unique_ptr<Statement> insert_;
  std::unique_ptr<Statement> existing_;
  // The transparency log (schema >= 3): its right edge is owned by the writer; the head is what readers see.
  bool has_log_ = false;
  bool has_source_ = false;
  tlog::Frontier frontier_;
  std::unique_ptr<Statement> log_entry_insert_;
  std::unique_ptr<Statement> log_hash_insert_;
  std::unique_ptr<Statement> key_first_seen_;
  std::mutex head_mutex_;
  LogHead head_;
  bool has_vantage_ = false;
  std::unique_ptr<sqlite::WalCheckpointer> checkpoints_;  // the log's checkpoints, off the writer's commits
  // What the writer committed last, for in_log_order and the place index, which follow it every second:
  // ~50,000 rows at most (2-3 s at full speed), none older than 10 s.
  sqlite::RecentRows recent_{16u << 20, std::chrono::seconds(10)};
  std::unique_ptr<sqlite::PlaceIndex> places_;  // null: list() reads the table for target filters too
};

}  // namespace

int latest_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

std::unique_ptr<Store> open_sqlite_store(const std::string& path, int target_version) {
  return std::make_unique<SqliteStore>(path, target_version);
}

std::unique_ptr<Store> open_sqlite_store(const std::string& path) {
  return open_sqlite_store(path, latest_schema_version());
}

}  // namespace kuzet::collector
