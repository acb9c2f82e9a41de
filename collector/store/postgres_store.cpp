// PostgreSQL implementation of collector::Store (docs/deployment.md): the SQLite store's contract on a
// server that several collector processes share. Writers serialize on the one row of log_head (SELECT ...
// FOR UPDATE inside the insert transaction), so the transparency log stays one append-only sequence whoever
// appends, a uid is stored once, and each process reloads the log's right edge when another one appended.
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "collector/store/log_entry.hpp"
#include "collector/store/pg_util.hpp"
#include "collector/store/store.hpp"
#include "tlog/entry.hpp"

namespace kuzet::collector {

namespace {

using pg::Param;

// Append-only, numbered like SQLite's migrations (collector/store/sqlite_store.cpp) so a version means the
// same schema on both engines. Text columns compare bytewise (COLLATE "C"), as SQLite's do: listing order and
// cursors do not depend on the server's locale.
struct Migration {
  int version;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    // seq: the order rows were stored (the log's backfill of rows older than the log follows it).
    {1, R"sql(
CREATE TABLE probe_keys (
  key_id TEXT COLLATE "C" PRIMARY KEY,
  public_key TEXT NOT NULL,
  first_seen BIGINT NOT NULL
);
CREATE TABLE measurements (
  seq BIGSERIAL NOT NULL UNIQUE,
  uid TEXT COLLATE "C" PRIMARY KEY,
  envelope TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  key_id TEXT COLLATE "C" NOT NULL,
  started_at BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  cc TEXT COLLATE "C" NOT NULL,
  asn BIGINT NOT NULL,
  target TEXT COLLATE "C" NOT NULL,
  category TEXT COLLATE "C" NOT NULL,
  verdict TEXT COLLATE "C" NOT NULL,
  method TEXT COLLATE "C" NOT NULL
);
CREATE INDEX measurements_place ON measurements(cc, asn, target, started_at);
CREATE INDEX measurements_time ON measurements(started_at, uid);
)sql"},
    {2, R"sql(
CREATE INDEX measurements_target ON measurements(target, started_at);
)sql"},
    // The transparency log. log_head's one row is the log's size and the writers' lock.
    {3, R"sql(
CREATE TABLE log_entries (
  idx BIGINT PRIMARY KEY,
  uid TEXT COLLATE "C" NOT NULL UNIQUE,
  entry BYTEA NOT NULL
);
CREATE TABLE log_hashes (
  level INTEGER NOT NULL,
  idx BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE log_checkpoints (
  id BIGSERIAL PRIMARY KEY,
  size BIGINT NOT NULL,
  note TEXT NOT NULL,
  signed_at BIGINT NOT NULL
);
CREATE TABLE log_head (
  one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
  size BIGINT NOT NULL
);
INSERT INTO log_head(one, size) VALUES (true, 0);
CREATE FUNCTION kuzet_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% rows are never rewritten or removed', TG_TABLE_NAME;
END $$;
CREATE TRIGGER log_entries_append_only BEFORE UPDATE OR DELETE ON log_entries
  FOR EACH ROW EXECUTE FUNCTION kuzet_log_refuse_change();
CREATE TRIGGER log_entries_never_truncated BEFORE TRUNCATE ON log_entries
  FOR EACH STATEMENT EXECUTE FUNCTION kuzet_log_refuse_change();
CREATE TRIGGER log_hashes_append_only BEFORE UPDATE OR DELETE ON log_hashes
  FOR EACH ROW EXECUTE FUNCTION kuzet_log_refuse_change();
CREATE TRIGGER log_hashes_never_truncated BEFORE TRUNCATE ON log_hashes
  FOR EACH STATEMENT EXECUTE FUNCTION kuzet_log_refuse_change();
CREATE TRIGGER log_checkpoints_append_only BEFORE UPDATE OR DELETE ON log_checkpoints
  FOR EACH ROW EXECUTE FUNCTION kuzet_log_refuse_change();
CREATE TRIGGER log_checkpoints_never_truncated BEFORE TRUNCATE ON log_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION kuzet_log_refuse_change();
)sql"},
    {4, R"sql(
ALTER TABLE measurements ADD COLUMN source TEXT COLLATE "C" NOT NULL DEFAULT 'kuzet';
)sql"},
    {5, R"sql(
ALTER TABLE measurements ADD COLUMN vantage TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN network_check TEXT NOT NULL DEFAULT '';
ALTER TABLE measurements ADD COLUMN decisive INTEGER NOT NULL DEFAULT 0;
)sql"},
    {6, R"sql(
CREATE INDEX measurements_cc_time ON measurements(cc, started_at, uid);
)sql"},
    // SQLite's schema 7 moved its place-keyed indexes to a file of their own (collector/store/sqlite/
    // place_index.hpp); PostgreSQL keeps them on the table, and only takes the version number.
    {7, R"sql(
COMMENT ON INDEX measurements_place IS 'kept on the table in PostgreSQL; SQLite moved it out at schema 7';
)sql"},
};
constexpr int kLogSchemaVersion = 3;
constexpr int kSourceSchemaVersion = 4;
constexpr int kVantageSchemaVersion = 5;
static_assert(std::size(kMigrations) == 7, "PostgreSQL's migrations follow SQLite's numbering");

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Several processes may open the same database at once: the first applies the migrations, the others wait
// for it (a transaction-scoped advisory lock per schema) and then find nothing to do.
void migrate(pg::Connection& db, int target_version) {
  db.exec("BEGIN");
  try {
    db.exec("SELECT pg_advisory_xact_lock(hashtext('kuzet.migrate.' || current_schema())::bigint)");
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at BIGINT NOT NULL)");
    const int version = static_cast<int>(db.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version").integer(0, 0));
    for (const auto& m : kMigrations) {
      if (m.version <= version || m.version > target_version) continue;
      db.exec(m.sql);
      db.exec("INSERT INTO schema_version(version, applied_at) VALUES($1, $2)",
              {Param(int64_t{m.version}), Param(now_ms())});
    }
    db.exec("COMMIT");
  } catch (...) {
    db.rollback_quietly();
    throw;
  }
}

const char* kSummaryColumns = "uid, key_id, started_at, received_at, cc, asn, target, category, verdict, method";

MeasurementSummary summary_at(const pg::Result& r, int row) {
  MeasurementSummary s;
  s.uid = r.text(row, 0);
  s.key_id = r.text(row, 1);
  s.started_at_ms = r.integer(row, 2);
  s.received_at_ms = r.integer(row, 3);
  s.cc = r.text(row, 4);
  s.asn = static_cast<uint32_t>(r.integer(row, 5));
  s.target = r.text(row, 6);
  s.category = r.text(row, 7);
  s.verdict = r.text(row, 8);
  s.method = r.text(row, 9);
  return s;
}

// WHERE clause for the optional filters, with numbered parameters.
struct Where {
  std::string sql;
  std::vector<Param> params;
  void add(const char* column_op, Param p) {
    sql += sql.empty() ? " WHERE " : " AND ";
    params.push_back(std::move(p));
    sql += std::string(column_op) + " $" + std::to_string(params.size());
  }
  std::string next() const { return "$" + std::to_string(params.size() + 1); }
};

Where build_where(const SummaryQuery& q) {
  Where w;
  if (!q.source.empty()) w.add("source =", q.source);
  if (!q.cc.empty()) w.add("cc =", q.cc);
  if (q.asn) w.add("asn =", int64_t{*q.asn});
  if (!q.target.empty()) w.add("target =", q.target);
  if (!q.category.empty()) w.add("category =", q.category);
  if (!q.verdict.empty()) w.add("verdict =", q.verdict);
  if (q.method) w.add("method =", *q.method);
  if (q.from_ms) w.add("started_at >=", *q.from_ms);
  if (q.until_ms) w.add("started_at <", *q.until_ms);
  if (q.confirmed) w.add("decisive =", int64_t{*q.confirmed ? 1 : 0});
  return w;
}

std::vector<tlog::Hash> read_log_hashes(pg::Connection& db, const std::vector<tlog::Subtree>& subtrees) {
  std::vector<tlog::Hash> out;
  out.reserve(subtrees.size());
  for (size_t i = 0; i < subtrees.size();) {
    size_t run = 1;
    while (i + run < subtrees.size() && subtrees[i + run].level == subtrees[i].level &&
           subtrees[i + run].index == subtrees[i].index + run)
      ++run;
    auto r = db.exec_prepared(
        "log_hashes", "SELECT idx, hash FROM log_hashes WHERE level = $1 AND idx >= $2 AND idx <= $3 ORDER BY idx",
        {Param(int64_t{subtrees[i].level}), Param(static_cast<int64_t>(subtrees[i].index)),
         Param(static_cast<int64_t>(subtrees[i].index + run - 1))});
    size_t got = 0;
    for (int row = 0; row < r.rows(); ++row) {
      const std::string hash = r.bytes(row, 1);
      if (static_cast<uint64_t>(r.integer(row, 0)) != subtrees[i].index + got || hash.size() != 32) break;
      out.emplace_back();
      std::copy(hash.begin(), hash.end(), out.back().begin());
      ++got;
    }
    if (got != run)
      throw std::runtime_error("log hash missing: level " + std::to_string(subtrees[i].level) + " index " +
                               std::to_string(subtrees[i].index + got));
    i += run;
  }
  return out;
}

class PgHashes : public tlog::HashSource {
 public:
  explicit PgHashes(pg::Connection& db) : db_(db) {}
  std::vector<tlog::Hash> read(const std::vector<tlog::Subtree>& subtrees) override {
    return read_log_hashes(db_, subtrees);
  }

 private:
  pg::Connection& db_;
};

class PostgresStore : public Store {
 public:
  PostgresStore(const std::string& url, int target_version) : writer_(url) {
    migrate(writer_, target_version);
    reader_ = std::make_unique<pg::Connection>(url);
    has_log_ = target_version >= kLogSchemaVersion;
    has_source_ = target_version >= kSourceSchemaVersion;
    has_vantage_ = target_version >= kVantageSchemaVersion;
    std::string columns =
        "uid, envelope, content_hash, key_id, started_at, received_at, cc, asn, target, category, verdict, method";
    if (has_source_) columns += ", source";
    if (has_vantage_) columns += ", vantage, network_check, decisive";
    // The columns' array types, in the order of `columns`.
    std::vector<const char*> types{"text", "text", "text", "text", "bigint", "bigint", "text", "bigint",
                                   "text", "text", "text", "text"};
    if (has_source_) types.push_back("text");
    if (has_vantage_) types.insert(types.end(), {"text", "text", "integer"});
    std::string arrays;
    for (size_t c = 0; c < types.size(); ++c)
      arrays += (c ? ", $" : "$") + std::to_string(c + 1) + "::" + types[c] + "[]";
    insert_columns_ = types.size();
    insert_sql_ = "INSERT INTO measurements(" + columns + ") SELECT * FROM unnest(" + arrays +
                  ") ON CONFLICT(uid) DO NOTHING RETURNING uid";
    if (has_log_) open_log();
  }

  bool register_key(const ProbeKey& key) override {
    std::lock_guard lock(write_mutex_);
    return writer_
               .exec("INSERT INTO probe_keys(key_id, public_key, first_seen) VALUES($1,$2,$3) ON CONFLICT DO NOTHING",
                     {key.key_id, key.public_key, key.first_seen_ms})
               .affected() > 0;
  }

  std::optional<ProbeKey> find_key(const std::string& key_id) override {
    {
      std::lock_guard cache(cache_mutex_);
      auto it = known_keys_.find(key_id);
      if (it != known_keys_.end()) return it->second;
    }
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec_prepared("find_key", "SELECT key_id, public_key, first_seen FROM probe_keys WHERE key_id = $1",
                                    {key_id});
    if (r.rows() == 0) return std::nullopt;
    ProbeKey key{r.text(0, 0), r.text(0, 1), r.integer(0, 2)};
    std::lock_guard cache(cache_mutex_);
    known_keys_.emplace(key_id, key);
    return key;
  }

  std::vector<ProbeKey> probe_keys() override {
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec("SELECT key_id, public_key, first_seen FROM probe_keys ORDER BY key_id");
    std::vector<ProbeKey> out;
    for (int row = 0; row < r.rows(); ++row) out.push_back({r.text(row, 0), r.text(row, 1), r.integer(row, 2)});
    return out;
  }

  // A few statements per batch, whatever its size: every row in one INSERT (a uid repeated in the batch is
  // sent once: its later copies are existing rows), the log's entries and hashes in one INSERT each, the
  // rows that were there in one SELECT.
  std::vector<InsertResult> insert_batch(const std::vector<NewMeasurement>& rows) override {
    std::vector<InsertResult> results(rows.size());
    std::lock_guard lock(write_mutex_);
    const tlog::Frontier before = frontier_;
    try {
      writer_.exec("BEGIN");
      if (has_log_) lock_log();
      std::unordered_set<std::string_view> sent;
      std::vector<pg::ArrayParam> columns(insert_columns_);
      for (const auto& r : rows) {
        if (!sent.insert(r.uid).second) continue;
        size_t c = 0;
        for (const std::string* text : {&r.uid, &r.envelope, &r.content_hash, &r.key_id}) columns[c++].add(*text);
        columns[c++].add(r.started_at_ms);
        columns[c++].add(r.received_at_ms);
        columns[c++].add(r.cc);
        columns[c++].add(int64_t{r.asn});
        for (const std::string* text : {&r.target, &r.category, &r.verdict, &r.method}) columns[c++].add(*text);
        if (has_source_) columns[c++].add(r.source);
        if (has_vantage_) {
          columns[c++].add(r.vantage);
          columns[c++].add(r.network_check);
          columns[c++].add(int64_t{r.decisive});
        }
      }
      std::vector<Param> params;
      for (const auto& column : columns) params.push_back(column.param());
      std::unordered_set<std::string> written;
      if (!rows.empty()) {
        auto inserted = writer_.exec_prepared("insert_many", insert_sql_, params);
        for (int i = 0; i < inserted.rows(); ++i) written.insert(inserted.text(i, 0));
      }
      LogRows log_rows;
      KeyTimes key_times = has_log_ ? key_times_of(rows, written) : KeyTimes{};
      pg::ArrayParam existing_uids;
      for (size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        if (written.erase(r.uid) > 0) {
          results[i].inserted = true;
          if (has_log_)
            results[i].log_index = append_to_log(entry_of(r.uid, r.content_hash, r.key_id, r.started_at_ms,
                                                          r.received_at_ms, r.vantage, r.network_check, key_times),
                                                 log_rows);
        } else {
          existing_uids.add(r.uid);
        }
      }
      write_log_rows(log_rows);
      if (!existing_uids.empty()) {
        // After the log's rows: a uid first written earlier in this batch is found with its entry.
        auto ex = writer_.exec_prepared(
            "existing_many",
            std::string("SELECT m.uid, m.content_hash, m.envelope, ") + (has_log_ ? "l.idx" : "NULL") +
                " FROM measurements m" + (has_log_ ? " LEFT JOIN log_entries l ON l.uid = m.uid" : "") +
                " WHERE m.uid = ANY($1::text[])",
            {existing_uids.param()});
        std::unordered_map<std::string, int> found;
        for (int i = 0; i < ex.rows(); ++i) found.emplace(ex.text(i, 0), i);
        for (size_t i = 0; i < rows.size(); ++i) {
          if (results[i].inserted) continue;
          auto it = found.find(rows[i].uid);
          if (it == found.end()) continue;
          results[i].existing_hash = ex.text(it->second, 1);
          results[i].existing_envelope = ex.text(it->second, 2);
          if (!ex.is_null(it->second, 3)) results[i].log_index = static_cast<uint64_t>(ex.integer(it->second, 3));
        }
      }
      if (has_log_)
        writer_.exec_prepared("log_size", "UPDATE log_head SET size = $1",
                              {Param(static_cast<int64_t>(frontier_.size()))});
      writer_.exec("COMMIT");  // synchronous_commit=on: durable when it returns
    } catch (...) {
      writer_.rollback_quietly();
      frontier_ = before;
      throw;
    }
    publish_head();
    return results;
  }

  LogHead log_head() override {
    if (!has_log_) return {};
    // Another process may have appended since: the committed size decides, the root follows it.
    std::lock_guard lock(read_mutex_);
    const auto size = static_cast<uint64_t>(reader_->exec("SELECT size FROM log_head").integer(0, 0));
    {
      std::lock_guard head(head_mutex_);
      if (head_.size == size) return head_;
    }
    PgHashes hashes(*reader_);
    const LogHead head{size, tlog::Frontier::load(size, hashes).root()};
    std::lock_guard head_lock(head_mutex_);
    if (head.size > head_.size) head_ = head;
    return head;
  }

  std::optional<uint64_t> log_index(const std::string& uid) override {
    if (!has_log_) return std::nullopt;
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec_prepared("log_index", "SELECT idx FROM log_entries WHERE uid = $1", {uid});
    if (r.rows() == 0) return std::nullopt;
    return static_cast<uint64_t>(r.integer(0, 0));
  }

  std::vector<std::string> log_entries(uint64_t begin, uint64_t end) override {
    if (begin > end || end > log_head().size) throw std::out_of_range("log entries outside the log");
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec_prepared("log_entries", "SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                                    {static_cast<int64_t>(begin), static_cast<int64_t>(end)});
    std::vector<std::string> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) out.push_back(r.bytes(row, 0));
    if (out.size() != end - begin) throw std::runtime_error("log entries missing from the database");
    return out;
  }

  std::vector<tlog::Hash> log_hashes(const std::vector<tlog::Subtree>& subtrees) override {
    std::lock_guard lock(read_mutex_);
    return read_log_hashes(*reader_, subtrees);
  }

  void add_checkpoint(uint64_t size, const std::string& note, int64_t signed_at_ms) override {
    std::lock_guard lock(write_mutex_);
    writer_.exec("INSERT INTO log_checkpoints(size, note, signed_at) VALUES($1,$2,$3)",
                 {static_cast<int64_t>(size), note, signed_at_ms});
  }

  std::optional<std::string> latest_checkpoint() override {
    if (!has_log_) return std::nullopt;
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec("SELECT note FROM log_checkpoints ORDER BY id DESC LIMIT 1");
    if (r.rows() == 0) return std::nullopt;
    return r.text(0, 0);
  }

  std::optional<std::string> envelope(const std::string& uid) override {
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec_prepared("envelope", "SELECT envelope FROM measurements WHERE uid = $1", {uid});
    if (r.rows() == 0) return std::nullopt;
    return r.text(0, 0);
  }

  std::vector<ListedMeasurement> list(const ListQuery& query) override {
    Where w = build_where(query.filter);
    std::string sql = std::string("SELECT ") + kSummaryColumns + ", envelope, " + (has_vantage_ ? "decisive" : "0") +
                      " FROM measurements" + w.sql;
    if (query.after) {
      sql += w.sql.empty() ? " WHERE " : " AND ";
      const std::string at = w.next();
      w.params.emplace_back(query.after->started_at_ms);
      const std::string uid = w.next();
      w.params.emplace_back(query.after->uid);
      sql += "(started_at, uid) > (" + at + ", " + uid + ")";
    }
    sql += " ORDER BY started_at, uid";
    if (query.filter.limit > 0) {
      sql += " LIMIT " + w.next();
      w.params.emplace_back(static_cast<int64_t>(query.filter.limit));
    }
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec(sql, w.params);
    std::vector<ListedMeasurement> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      ListedMeasurement m;
      m.summary = summary_at(r, row);
      m.position = {m.summary.started_at_ms, m.summary.uid};
      m.envelope = r.text(row, 10);
      m.confirmed = r.integer(row, 11) != 0;
      out.push_back(std::move(m));
    }
    return out;
  }

  std::vector<MeasurementSummary> summaries(const SummaryQuery& query) override {
    Where w = build_where(query);
    std::string sql = std::string("SELECT ") + kSummaryColumns + (has_source_ ? ", source" : ", 'kuzet'") +
                      " FROM measurements" + w.sql + " ORDER BY started_at, uid";
    if (query.limit > 0) {
      sql += " LIMIT " + w.next();
      w.params.emplace_back(static_cast<int64_t>(query.limit));
    }
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec(sql, w.params);
    std::vector<MeasurementSummary> out;
    out.reserve(static_cast<size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      MeasurementSummary s = summary_at(r, row);
      s.source = r.text(row, 10);
      out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<NewMeasurement> in_log_order(uint64_t begin, size_t limit, bool with_envelopes) override {
    std::vector<NewMeasurement> out;
    if (!has_log_) return out;
    std::lock_guard lock(read_mutex_);
    auto r = reader_->exec(std::string("SELECT m.uid, ") + (with_envelopes ? "m.envelope" : "''") +
                               ", m.content_hash, m.key_id, m.started_at, m.received_at, m.cc, m.asn, m.target,"
                               " m.category, m.verdict, m.method, " +
                               (has_source_ ? "m.source" : "'kuzet'") + ", " +
                               (has_vantage_ ? "m.vantage, m.network_check, m.decisive" : "'', '', 0") +
                               " FROM log_entries l JOIN measurements m ON m.uid = l.uid"
                               " WHERE l.idx >= $1 AND l.idx < $2 ORDER BY l.idx",
                           {static_cast<int64_t>(begin), static_cast<int64_t>(begin + limit)});
    out.reserve(static_cast<size_t>(r.rows()));
    for (int row = 0; row < r.rows(); ++row) {
      NewMeasurement m;
      m.uid = r.text(row, 0);
      m.envelope = r.text(row, 1);
      m.content_hash = r.text(row, 2);
      m.key_id = r.text(row, 3);
      m.started_at_ms = r.integer(row, 4);
      m.received_at_ms = r.integer(row, 5);
      m.cc = r.text(row, 6);
      m.asn = static_cast<uint32_t>(r.integer(row, 7));
      m.target = r.text(row, 8);
      m.category = r.text(row, 9);
      m.verdict = r.text(row, 10);
      m.method = r.text(row, 11);
      m.source = r.text(row, 12);
      m.vantage = r.text(row, 13);
      m.network_check = r.text(row, 14);
      m.decisive = r.integer(row, 15) != 0;
      out.push_back(std::move(m));
    }
    return out;
  }

  // Every stored row has its log entry (open_log logs older ones), so the log's size is the count: COUNT(*)
  // reads the whole table, minutes at a billion rows, and the collector asks at every start.
  uint64_t measurement_count() override {
    std::lock_guard lock(read_mutex_);
    return static_cast<uint64_t>(
        reader_->exec(has_log_ ? "SELECT size FROM log_head" : "SELECT COUNT(*) FROM measurements").integer(0, 0));
  }

  int schema_version() override {
    std::lock_guard lock(read_mutex_);
    return static_cast<int>(reader_->exec("SELECT COALESCE(MAX(version), 0) FROM schema_version").integer(0, 0));
  }

 private:
  using KeyTimes = std::unordered_map<std::string, std::optional<int64_t>>;

  // Inside the writer's transaction: waits for the log's one writer slot (other processes' batches commit
  // first) and brings the right edge up to what they appended.
  void lock_log() {
    const auto size = static_cast<uint64_t>(
        writer_.exec_prepared("lock_log", "SELECT size FROM log_head FOR UPDATE", {}).integer(0, 0));
    if (size != frontier_.size()) {
      PgHashes hashes(writer_);
      frontier_ = tlog::Frontier::load(size, hashes);
    }
  }

  // As SqliteStore::entry_of: the entry with the vantage tag its key's registration time allows (looked up
  // once per key and batch).
  tlog::LogEntry entry_of(const std::string& uid, const std::string& content_hash, const std::string& key_id,
                          int64_t started_at_ms, int64_t received_at_ms, const std::string& tag,
                          const std::string& check, KeyTimes& key_times) {
    auto [it, added] = key_times.try_emplace(key_id);
    if (added) {
      auto r = writer_.exec_prepared("key_first_seen", "SELECT first_seen FROM probe_keys WHERE key_id = $1", {key_id});
      if (r.rows() > 0) it->second = r.integer(0, 0);
    }
    return measurement_log_entry(uid, content_hash, key_id, started_at_ms, received_at_ms, tag, check, it->second);
  }

  // A batch's log rows, written by write_log_rows in one statement per table.
  struct LogRows {
    pg::ArrayParam entry_idx, entry_uid, entry_bytes;
    pg::ArrayParam hash_level, hash_idx, hash_bytes;
  };

  uint64_t append_to_log(const tlog::LogEntry& log_entry, LogRows& out) {
    const std::string entry = tlog::encode_entry(log_entry);
    const uint64_t index = frontier_.size();
    out.entry_idx.add(static_cast<int64_t>(index));
    out.entry_uid.add(log_entry.measurement_uid);
    out.entry_bytes.add_bytes(entry);
    for (const auto& stored : frontier_.append(tlog::leaf_hash(entry))) {
      out.hash_level.add(int64_t{stored.subtree.level});
      out.hash_idx.add(static_cast<int64_t>(stored.subtree.index));
      out.hash_bytes.add_bytes(std::string_view(reinterpret_cast<const char*>(stored.hash.data()), stored.hash.size()));
    }
    return index;
  }

  void write_log_rows(const LogRows& rows) {
    if (!rows.entry_idx.empty())
      writer_.exec_prepared("log_entries_many",
                            "INSERT INTO log_entries(idx, uid, entry) SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[])",
                            {rows.entry_idx.param(), rows.entry_uid.param(), rows.entry_bytes.param()});
    if (!rows.hash_level.empty())
      writer_.exec_prepared("log_hashes_many",
                            "INSERT INTO log_hashes(level, idx, hash) SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[])",
                            {rows.hash_level.param(), rows.hash_idx.param(), rows.hash_bytes.param()});
  }

  // The registration times of the keys of the rows written, in one query.
  KeyTimes key_times_of(const std::vector<NewMeasurement>& rows, const std::unordered_set<std::string>& written) {
    KeyTimes times;
    pg::ArrayParam ids;
    for (const auto& r : rows)
      if (written.count(r.uid) && times.try_emplace(r.key_id).second) ids.add(r.key_id);
    if (ids.empty()) return times;
    auto r = writer_.exec_prepared("key_times", "SELECT key_id, first_seen FROM probe_keys WHERE key_id = ANY($1::text[])",
                                   {ids.param()});
    for (int i = 0; i < r.rows(); ++i) times[r.text(i, 0)] = r.integer(i, 1);
    return times;
  }

  void publish_head() {
    if (!has_log_) return;
    std::lock_guard lock(head_mutex_);
    if (frontier_.size() >= head_.size) head_ = {frontier_.size(), frontier_.root()};
  }

  // Loads the right edge, then logs rows stored before the log existed (schema < 3), in the order stored.
  void open_log() {
    std::lock_guard lock(write_mutex_);
    const tlog::Frontier before = frontier_;
    try {
      writer_.exec("BEGIN");
      lock_log();
      KeyTimes key_times;
      int64_t after = 0;
      const std::string columns = std::string("seq, uid, content_hash, key_id, started_at, received_at, ") +
                                  (has_vantage_ ? "vantage, network_check" : "'', ''");
      for (;;) {
        auto r = writer_.exec("SELECT " + columns +
                                  " FROM measurements m WHERE seq > $1 AND NOT EXISTS"
                                  " (SELECT 1 FROM log_entries l WHERE l.uid = m.uid) ORDER BY seq LIMIT 5000",
                              {after});
        if (r.rows() == 0) break;
        LogRows log_rows;
        for (int row = 0; row < r.rows(); ++row) {
          after = r.integer(row, 0);
          append_to_log(entry_of(r.text(row, 1), r.text(row, 2), r.text(row, 3), r.integer(row, 4),
                                 r.integer(row, 5), r.text(row, 6), r.text(row, 7), key_times),
                        log_rows);
        }
        write_log_rows(log_rows);
      }
      writer_.exec_prepared("log_size", "UPDATE log_head SET size = $1", {Param(static_cast<int64_t>(frontier_.size()))});
      writer_.exec("COMMIT");
    } catch (...) {
      writer_.rollback_quietly();
      frontier_ = before;
      throw;
    }
    publish_head();
  }

  std::mutex write_mutex_;
  std::mutex read_mutex_;
  std::mutex cache_mutex_;
  std::unordered_map<std::string, ProbeKey> known_keys_;
  pg::Connection writer_;
  std::unique_ptr<pg::Connection> reader_;
  std::string insert_sql_;
  size_t insert_columns_ = 0;
  bool has_log_ = false;
  bool has_source_ = false;
  bool has_vantage_ = false;
  tlog::Frontier frontier_;  // the log's right edge as of this process's last write
  std::mutex head_mutex_;
  LogHead head_;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url, int target_version) {
  if (target_version < 1 || target_version > latest_schema_version())
    throw std::invalid_argument("no schema version " + std::to_string(target_version));
  return std::make_unique<PostgresStore>(url, target_version);
}

std::unique_ptr<Store> open_postgres_store(const std::string& url) {
  return open_postgres_store(url, latest_schema_version());
}

std::unique_ptr<Store> open_store(const std::string& db, int target_version) {
  return pg::is_url(db) ? open_postgres_store(db, target_version) : open_sqlite_store(db, target_version);
}

std::unique_ptr<Store> open_store(const std::string& db) { return open_store(db, latest_schema_version()); }

}  // namespace kuzet::collector
