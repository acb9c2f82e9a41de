// SQLite implementation of collector::Store: WAL, synchronous=FULL, versioned migrations.
#include <sqlite3.h>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "collector/sqlite_util.hpp"
#include "collector/store.hpp"

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
    // Independent vantage points (collector/vantage, docs/timelines.md): never the source address.
    {3, R"sql(
ALTER TABLE measurements ADD COLUMN vantage TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN network_check TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN decisive INTEGER NOT NULL DEFAULT 0;
)sql"},
};

using sqlite::exec;
using sqlite::fail;
using sqlite::Statement;

sqlite3* open_connection(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open database " + path + ": " + message);
  }
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

const char* kSummaryColumns = "uid, key_id, started_at, received_at, cc, asn, target, category, verdict, method";

// A row selected with kSummaryColumns first.
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

// WHERE clause for the optional filters; binds in the order the placeholders appear.
struct Where {
  std::string sql;
  std::vector<std::string> texts;  // bound first, in order
  std::vector<int64_t> ints;
  std::vector<bool> is_text;  // per placeholder
};

Where build_where(const SummaryQuery& q) {
  Where w;
  auto add_text = [&](const char* clause, const std::string& v) {
    w.sql += w.sql.empty() ? " WHERE " : " AND ";
    w.sql += clause;
    w.texts.push_back(v);
    w.is_text.push_back(true);
  };
  auto add_int = [&](const char* clause, int64_t v) {
    w.sql += w.sql.empty() ? " WHERE " : " AND ";
    w.sql += clause;
    w.ints.push_back(v);
    w.is_text.push_back(false);
  };
  if (!q.cc.empty()) add_text("cc = ?", q.cc);
  if (q.asn) add_int("asn = ?", *q.asn);
  if (!q.target.empty()) add_text("target = ?", q.target);
  if (!q.category.empty()) add_text("category = ?", q.category);
  if (!q.verdict.empty()) add_text("verdict = ?", q.verdict);
  if (q.method) add_text("method = ?", *q.method);
  if (q.from_ms) add_int("started_at >= ?", *q.from_ms);
  if (q.until_ms) add_int("started_at < ?", *q.until_ms);
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
  SqliteStore(const std::string& path, int target_version) {
    writer_ = open_connection(path);
    try {
      migrate(writer_, target_version);
      reader_ = open_connection(path);
      // A store held at an older schema (migration tests) writes the columns it has.
      const bool has_vantage = target_version >= 3;
      insert_ = std::make_unique<Statement>(
          writer_,
          std::string("INSERT INTO measurements(uid, envelope, content_hash, key_id, started_at, received_at, cc, asn,"
                      " target, category, verdict, method") +
              (has_vantage ? ", vantage, network_check, decisive) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                           : ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?)") +
              " ON CONFLICT(uid) DO NOTHING");
      has_vantage_ = has_vantage;
      existing_ = std::make_unique<Statement>(writer_, "SELECT content_hash, envelope FROM measurements WHERE uid = ?");
    } catch (...) {
      insert_.reset();
      existing_.reset();
      sqlite3_close(reader_);
      sqlite3_close(writer_);
      throw;
    }
  }
  ~SqliteStore() override {
    insert_.reset();
    existing_.reset();
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

  std::vector<InsertResult> insert_batch(const std::vector<NewMeasurement>& rows) override {
    std::vector<InsertResult> results(rows.size());
    std::lock_guard lock(write_mutex_);
    exec(writer_, "BEGIN IMMEDIATE");
    try {
      for (size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        auto& st = *insert_;
        st.reset();
        st.bind(1, r.uid);
        st.bind(2, r.envelope);
        st.bind(3, r.content_hash);
        st.bind(4, r.key_id);
        st.bind(5, r.started_at_ms);
        st.bind(6, r.received_at_ms);
        st.bind(7, r.cc);
        st.bind(8, static_cast<int64_t>(r.asn));
        st.bind(9, r.target);
        st.bind(10, r.category);
        st.bind(11, r.verdict);
        st.bind(12, r.method);
        if (has_vantage_) {
          st.bind(13, r.vantage);
          st.bind(14, r.network_check);
          st.bind(15, int64_t{r.decisive});
        }
        st.step();
        if (sqlite3_changes(writer_) > 0) {
          results[i].inserted = true;
          continue;
        }
        auto& ex = *existing_;
        ex.reset();
        ex.bind(1, r.uid);
        if (ex.step()) {
          results[i].existing_hash = ex.text_at(0);
          results[i].existing_envelope = ex.text_at(1);
        }
        ex.reset();
      }
      insert_->reset();
      exec(writer_, "COMMIT");
    } catch (...) {
      insert_->reset();
      existing_->reset();
      sqlite3_exec(writer_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    return results;
  }

  std::optional<std::string> envelope(const std::string& uid) override {
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, "SELECT envelope FROM measurements WHERE uid = ?");
    st.bind(1, uid);
    if (!st.step()) return std::nullopt;
    return st.text_at(0);
  }

  std::vector<ListedMeasurement> list(const ListQuery& query) override {
    Where w = build_where(query.filter);
    std::string sql = std::string("SELECT ") + kSummaryColumns + ", envelope FROM measurements" + w.sql;
    if (query.after) {
      sql += w.sql.empty() ? " WHERE " : " AND ";
      sql += "(started_at > ? OR (started_at = ? AND uid > ?))";
    }
    sql += " ORDER BY started_at, uid";
    if (query.filter.limit > 0) sql += " LIMIT ?";
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, sql);
    int i = bind_where(st, w);
    if (query.after) {
      st.bind(i++, query.after->started_at_ms);
      st.bind(i++, query.after->started_at_ms);
      st.bind(i++, query.after->uid);
    }
    if (query.filter.limit > 0) st.bind(i++, static_cast<int64_t>(query.filter.limit));
    std::vector<ListedMeasurement> out;
    while (st.step()) {
      ListedMeasurement m;
      m.summary = summary_at(st);
      m.position = {m.summary.started_at_ms, m.summary.uid};
      m.envelope = st.text_at(10);
      out.push_back(std::move(m));
    }
    return out;
  }

  std::vector<MeasurementSummary> summaries(const SummaryQuery& query) override {
    Where w = build_where(query);
    std::string sql = std::string("SELECT ") + kSummaryColumns + " FROM measurements" + w.sql + " ORDER BY started_at, uid";
    if (query.limit > 0) sql += " LIMIT ?";
    std::lock_guard lock(read_mutex_);
    Statement st(reader_, sql);
    int i = bind_where(st, w);
    if (query.limit > 0) st.bind(i, static_cast<int64_t>(query.limit));
    std::vector<MeasurementSummary> out;
    while (st.step()) out.push_back(summary_at(st));
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
  std::mutex write_mutex_;
  std::mutex read_mutex_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, ProbeKey> known_keys_;
  sqlite3* writer_ = nullptr;
  sqlite3* reader_ = nullptr;
  std::unique_ptr<Statement> insert_;
  std::unique_ptr<Statement> existing_;
  bool has_vantage_ = true;
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
