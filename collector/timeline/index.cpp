#include "collector/timeline/index.hpp"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "collector/store/sqlite/sqlite_util.hpp"
#include "collector/vantage/vantage.hpp"
#include "core/background_turn.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace kuzet::timeline {

namespace {

using collector::sqlite::exec;
using collector::sqlite::Statement;

constexpr const char* kCannotOpen = "timeline index: cannot open";

// Binds "cc = ? AND asn = ? AND target = ? AND bin >= ? AND bin < ?" (parameters 1-5).
void bind_series_range(Statement& st, const SeriesKey& key, int64_t first, int64_t end) {
  st.bind(1, key.cc);
  st.bind(2, static_cast<int64_t>(key.asn));
  st.bind(3, key.target);
  st.bind(4, first);
  st.bind(5, end);
}

// The per-probe upsert: a probe's row in a bin keeps its latest measurement by (started_at, uid).
std::string probe_bin_upsert(const std::string& level, const std::string& values) {
  const std::string table = "timeline_probe_bins" + level;
  return "INSERT INTO " + table +
         "(cc, asn, target, bin, key_id, started_at, uid, verdict, method, vantage, decisive, source) " + values +
         " ON CONFLICT(cc, asn, target, bin, key_id) DO UPDATE SET started_at = excluded.started_at,"
         " uid = excluded.uid, verdict = excluded.verdict, method = excluded.method, vantage = excluded.vantage,"
         " decisive = excluded.decisive, source = excluded.source"
         " WHERE (excluded.started_at, excluded.uid) > (" + table + ".started_at, " + table + ".uid);";
}

// Table suffixes of the two levels: base bins, and coarse bins of kCoarseFactor base bins (1 hour by
// default) so that month-long views read ~6x fewer rows.
const std::string kBaseLevel = "", kCoarseLevel = "_coarse";

// A level's tables: per (place, bin, probe) its latest measurement, and per (place, bin, state) how many
// probes are in it, the latter kept by triggers on the former.
std::string level_sql(const std::string& level) {
  std::string s = R"sql(
CREATE TABLE timeline_probe_binsLEVEL (
  cc TEXT NOT NULL, asn INTEGER NOT NULL, target TEXT NOT NULL, bin INTEGER NOT NULL, key_id TEXT NOT NULL,
  started_at INTEGER NOT NULL, uid TEXT NOT NULL, verdict TEXT NOT NULL, method TEXT NOT NULL,
  vantage TEXT NOT NULL, decisive INTEGER NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (cc, asn, target, bin, key_id)) WITHOUT ROWID;
CREATE TABLE timeline_binsLEVEL (
  cc TEXT NOT NULL, asn INTEGER NOT NULL, target TEXT NOT NULL, bin INTEGER NOT NULL,
  verdict TEXT NOT NULL, method TEXT NOT NULL, probes INTEGER NOT NULL,
  PRIMARY KEY (cc, asn, target, bin, verdict, method)) WITHOUT ROWID;
CREATE TRIGGER timeline_probe_binLEVEL_added AFTER INSERT ON timeline_probe_binsLEVEL BEGIN
  INSERT INTO timeline_binsLEVEL VALUES (NEW.cc, NEW.asn, NEW.target, NEW.bin, NEW.verdict, NEW.method, 1)
    ON CONFLICT(cc, asn, target, bin, verdict, method) DO UPDATE SET probes = probes + 1;
END;
CREATE TRIGGER timeline_probe_binLEVEL_changed AFTER UPDATE ON timeline_probe_binsLEVEL
  WHEN OLD.verdict != NEW.verdict OR OLD.method != NEW.method BEGIN
  UPDATE timeline_binsLEVEL SET probes = probes - 1 WHERE cc = OLD.cc AND asn = OLD.asn AND target = OLD.target
    AND bin = OLD.bin AND verdict = OLD.verdict AND method = OLD.method;
  DELETE FROM timeline_binsLEVEL WHERE cc = OLD.cc AND asn = OLD.asn AND target = OLD.target
    AND bin = OLD.bin AND verdict = OLD.verdict AND method = OLD.method AND probes <= 0;
  INSERT INTO timeline_binsLEVEL VALUES (NEW.cc, NEW.asn, NEW.target, NEW.bin, NEW.verdict, NEW.method, 1)
    ON CONFLICT(cc, asn, target, bin, verdict, method) DO UPDATE SET probes = probes + 1;
END;
)sql";
  for (size_t at; (at = s.find("LEVEL")) != std::string::npos;) s.replace(at, 5, level);
  return s;
}

std::string series_upsert(const std::string& values) {
  return "INSERT INTO timeline_series(cc, asn, target, category, first_bin, last_bin) " + values +
         " ON CONFLICT(cc, asn, target) DO UPDATE SET category = max(category, excluded.category),"
         " first_bin = min(first_bin, excluded.first_bin), last_bin = max(last_bin, excluded.last_bin)"
         " WHERE excluded.category > category OR excluded.first_bin < first_bin OR excluded.last_bin > last_bin;";
}

// Per source, where each series has data: the series list and default windows of a source= query.
std::string series_source_upsert(const std::string& values) {
  return "INSERT INTO timeline_series_sources(cc, asn, target, source, first_bin, last_bin) " + values +
         " ON CONFLICT(cc, asn, target, source) DO UPDATE SET first_bin = min(first_bin, excluded.first_bin),"
         " last_bin = max(last_bin, excluded.last_bin)"
         " WHERE excluded.first_bin < first_bin OR excluded.last_bin > last_bin;";
}

std::string schema_sql(int64_t bin) {
  std::string s = R"sql(
CREATE TABLE timeline_meta (base_bin_ms INTEGER NOT NULL, indexed_rowid INTEGER NOT NULL);
CREATE TABLE timeline_series (
  cc TEXT NOT NULL, asn INTEGER NOT NULL, target TEXT NOT NULL, category TEXT NOT NULL,
  first_bin INTEGER NOT NULL, last_bin INTEGER NOT NULL,
  PRIMARY KEY (cc, asn, target)) WITHOUT ROWID;
CREATE TABLE timeline_series_sources (
  cc TEXT NOT NULL, asn INTEGER NOT NULL, target TEXT NOT NULL, source TEXT NOT NULL,
  first_bin INTEGER NOT NULL, last_bin INTEGER NOT NULL,
  PRIMARY KEY (cc, asn, target, source)) WITHOUT ROWID;
)sql";
  s += level_sql(kBaseLevel) + level_sql(kCoarseLevel);
  s += "INSERT INTO timeline_meta VALUES (" + std::to_string(bin) + ", 0);\n";
  return s;
}

// The four per-probe tables' rows a measurement lands in: per level (base, coarse), its target's and its
// network's ('*'). A set bit of feed_rows.levels: the row is its probe's latest there within its batch.
int level_bit(bool coarse, bool network) { return 1 << ((coarse ? 2 : 0) + (network ? 1 : 0)); }

// Applies measurement summaries to the index: per-probe rows (whose triggers keep timeline_bins), then the
// series' extents. `rows` is a FROM clause with a WHERE (which settles the parser's INSERT ... SELECT ... ON
// ambiguity) over summary rows `m` joined to their keys `k`. Upserts keep each probe's latest per bin
// whatever the order, so applying rows in batches gives what applying them one by one gives.
// marked_latest: `m` has a levels column (latest_in_batch), and a level's upsert takes only the rows marked
// for it; the others would lose to them anyway. The series' extents are then the caller's
// (upsert_series_extents), as they need every row.
std::string apply_sql(int64_t bin, const std::string& rows, bool marked_latest = false) {
  // The measurement's supporting vantage tag (docs/timelines.md, "Vantage points"): none when the source
  // contradicted the claimed network or the key did not exist yet when it was measured.
  const std::string support = ", CASE WHEN network_check = 'mismatch' OR started_at < coalesce(k.first_seen, 0) - " +
                              std::to_string(collector::vantage::kKeyBackdateGraceMs) + " THEN '' ELSE vantage END, decisive, source";
  auto bin_expr = [](int64_t size) {
    const std::string b = std::to_string(size);
    return "((started_at / " + b + ") * " + b + ")";
  };
  auto marked = [&](bool coarse, bool network) {
    return marked_latest ? rows + " AND (m.levels & " + std::to_string(level_bit(coarse, network)) + ") != 0" : rows;
  };
  std::string s;
  for (const bool coarse : {false, true}) {
    const std::string& level = coarse ? kCoarseLevel : kBaseLevel;
    const int64_t size = coarse ? bin * kCoarseFactor : bin;
    s += probe_bin_upsert(level, "SELECT cc, asn, target, " + bin_expr(size) +
                                     ", key_id, started_at, uid, verdict, method" + support + marked(coarse, false));
    s += probe_bin_upsert(level, "SELECT cc, asn, '*', " + bin_expr(size) +
                                     ", key_id, started_at, uid, CASE verdict WHEN 'offline' THEN 'offline' "
                                     "ELSE 'online' END, ''" + support + marked(coarse, true));
  }
  if (marked_latest) return s;
  const std::string m_bin = bin_expr(bin);
  s += series_upsert("SELECT cc, asn, target, max(category), min(" + m_bin + "), max(" + m_bin + ")" + rows +
                     " GROUP BY cc, asn, target");
  s += series_upsert("SELECT cc, asn, '*', '', min(" + m_bin + "), max(" + m_bin + ")" + rows + " GROUP BY cc, asn");
  s += series_source_upsert("SELECT cc, asn, target, source, min(" + m_bin + "), max(" + m_bin + ")" + rows +
                            " GROUP BY cc, asn, target, source");
  s += series_source_upsert("SELECT cc, asn, '*', source, min(" + m_bin + "), max(" + m_bin + ")" + rows +
                            " GROUP BY cc, asn, source");
  return s;
}

// Applies the file's measurements with rowid in (lo, hi] and moves the watermark to hi.
std::string catch_up_sql(int64_t bin, int64_t lo, int64_t hi) {
  return apply_sql(bin, " FROM measurements m LEFT JOIN probe_keys k USING (key_id) WHERE m.rowid > " +
                            std::to_string(lo) + " AND m.rowid <= " + std::to_string(hi)) +
         "UPDATE timeline_meta SET indexed_rowid = " + std::to_string(hi) + ";\n";
}

const char* kDropSql = R"sql(
DROP TRIGGER IF EXISTS timeline_measurement_added;
DROP TRIGGER IF EXISTS timeline_probe_bin_added;
DROP TRIGGER IF EXISTS timeline_probe_bin_changed;
DROP TRIGGER IF EXISTS timeline_probe_bin_coarse_added;
DROP TRIGGER IF EXISTS timeline_probe_bin_coarse_changed;
DROP TABLE IF EXISTS timeline_meta;
DROP TABLE IF EXISTS timeline_probe_bins;
DROP TABLE IF EXISTS timeline_bins;
DROP TABLE IF EXISTS timeline_probe_bins_coarse;
DROP TABLE IF EXISTS timeline_bins_coarse;
DROP TABLE IF EXISTS timeline_series;
DROP TABLE IF EXISTS timeline_series_sources;
)sql";

// A fed index's tables: the keys' registration times, and timeline_feed, how far in the feed's log it has
// applied. The rows of each batch from the feed that can change a per-probe row pass through feed_rows, a
// table in memory, and are applied in the transaction that moves timeline_feed. `measurements` is where
// earlier versions kept a copy of every summary (applied by catch_up_sql); it stays empty now, and a copy
// left by them is applied once, then emptied (TimelineIndex's constructor).
constexpr const char* kFeedSchemaSql = R"sql(
PRAGMA temp_store=MEMORY;
CREATE TABLE IF NOT EXISTS measurements (
  uid TEXT PRIMARY KEY, key_id TEXT NOT NULL, started_at INTEGER NOT NULL, cc TEXT NOT NULL, asn INTEGER NOT NULL,
  target TEXT NOT NULL, category TEXT NOT NULL, verdict TEXT NOT NULL, method TEXT NOT NULL, source TEXT NOT NULL,
  vantage TEXT NOT NULL, network_check TEXT NOT NULL, decisive INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS probe_keys (key_id TEXT PRIMARY KEY, first_seen INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS timeline_feed (next_log_index INTEGER NOT NULL);
INSERT INTO timeline_feed SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM timeline_feed);
CREATE TEMP TABLE feed_rows (
  uid TEXT NOT NULL, key_id TEXT NOT NULL, started_at INTEGER NOT NULL, cc TEXT NOT NULL, asn INTEGER NOT NULL,
  target TEXT NOT NULL, category TEXT NOT NULL, verdict TEXT NOT NULL, method TEXT NOT NULL, source TEXT NOT NULL,
  vantage TEXT NOT NULL, network_check TEXT NOT NULL, decisive INTEGER NOT NULL, levels INTEGER NOT NULL);
)sql";

// A fed index's legacy copy (kFeedSchemaSql), once applied: emptied, and the watermark back to 0 so that an
// earlier version opening the file again applies the rows it copies from then on.
constexpr const char* kEmptyLegacyCopySql =
    "DELETE FROM measurements; UPDATE timeline_meta SET indexed_rowid = 0;";

// Applies the batch in feed_rows, then empties it.
std::string apply_feed_rows_sql(int64_t bin) {
  return apply_sql(bin, " FROM temp.feed_rows m LEFT JOIN probe_keys k USING (key_id) WHERE true", true) +
         "DELETE FROM temp.feed_rows;\n";
}

// Per row of a batch, the levels (level_bit) where it is its probe's latest in its place and bin within the
// batch, by (started_at, uid) as the upsert compares them (uid bytewise, as SQLite's BINARY collation). Only
// those rows can change the per-probe tables; a run over many targets has one network ('*') row per probe
// and bin, so most of the batch's upserts, and the triggers behind them, are spared.
std::vector<int> latest_in_batch(const std::vector<collector::NewMeasurement>& rows, int64_t base_bin_ms) {
  struct Place {
    int level_bit;
    std::string_view cc;
    uint32_t asn;
    std::string_view target;  // empty for the network's row
    int64_t bin;
    std::string_view key_id;
    bool operator==(const Place&) const = default;
  };
  struct PlaceHash {
    size_t operator()(const Place& p) const {
      size_t h = std::hash<std::string_view>{}(p.key_id);
      for (const size_t part : {std::hash<std::string_view>{}(p.cc), std::hash<std::string_view>{}(p.target),
                                std::hash<int64_t>{}(p.bin), size_t{p.asn}, size_t(p.level_bit)})
        h = h * 1000003 ^ part;
      return h;
    }
  };
  std::unordered_map<Place, size_t, PlaceHash> latest;
  latest.reserve(rows.size() * 2);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    for (const bool coarse : {false, true}) {
      const int64_t size = coarse ? base_bin_ms * kCoarseFactor : base_bin_ms;
      for (const bool network : {false, true}) {
        // The same bin expression as apply_sql's (SQLite's integer division truncates, as C++'s does).
        const Place place{level_bit(coarse, network), r.cc, r.asn,
                          network ? std::string_view{} : std::string_view{r.target}, (r.started_at_ms / size) * size,
                          r.key_id};
        auto [it, added] = latest.try_emplace(place, i);
        const auto& held = rows[it->second];
        if (!added && std::tie(r.started_at_ms, r.uid) > std::tie(held.started_at_ms, held.uid)) it->second = i;
      }
    }
  }
  std::vector<int> levels(rows.size(), 0);
  for (const auto& [place, i] : latest) levels[i] |= place.level_bit;
  return levels;
}

// The series' extents of a batch, as apply_sql's GROUP BY upserts compute them over the same rows (category
// by SQLite's bytewise max, as std::string compares), aggregated here: over a fed batch of 20,000 rows those
// four sorts were a quarter of the indexer's time (docs/benchmarks.md, session 30). Upserted in key order.
void upsert_series_extents(sqlite3* db, const std::vector<collector::NewMeasurement>& rows, int64_t base_bin_ms) {
  struct Extent {
    std::string_view category;
    int64_t first = 0, last = 0;
    void add(std::string_view row_category, int64_t bin, bool added) {
      if (added || row_category > category) category = row_category;
      if (added || bin < first) first = bin;
      if (added || bin > last) last = bin;
    }
  };
  using Series = std::tuple<std::string_view, uint32_t, std::string_view>;  // cc, asn, target
  using SeriesSource = std::tuple<std::string_view, uint32_t, std::string_view, std::string_view>;  // + source
  std::map<Series, Extent> series;
  std::map<SeriesSource, Extent> sources;
  for (const auto& r : rows) {
    const int64_t bin = (r.started_at_ms / base_bin_ms) * base_bin_ms;  // apply_sql's bin_expr
    // Its target's series, then its network's (no category). A target named "*" shares the network's.
    for (const bool network : {false, true}) {
      const std::string_view target = network ? std::string_view(kNetworkTarget) : std::string_view(r.target);
      const std::string_view category = network ? std::string_view() : std::string_view(r.category);
      auto [s, s_added] = series.try_emplace(Series{r.cc, r.asn, target});
      s->second.add(category, bin, s_added);
      auto [x, x_added] = sources.try_emplace(SeriesSource{r.cc, r.asn, target, r.source});
      x->second.add({}, bin, x_added);
    }
  }
  // Both tables take (cc, asn, target, a fourth text, first bin, last bin): the category, or the source.
  auto upsert = [](Statement& st, const auto& key, std::string_view fourth, const Extent& extent) {
    st.reset();
    st.bind_borrowed(1, std::get<0>(key));
    st.bind(2, static_cast<int64_t>(std::get<1>(key)));
    st.bind_borrowed(3, std::get<2>(key));
    st.bind_borrowed(4, fourth);
    st.bind(5, extent.first);
    st.bind(6, extent.last);
    st.step();
  };
  Statement up(db, series_upsert("VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  for (const auto& [key, extent] : series) upsert(up, key, extent.category, extent);
  Statement up_source(db, series_source_upsert("VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  for (const auto& [key, extent] : sources) upsert(up_source, key, std::get<3>(key), extent);
}

}  // namespace

TimelineIndex::TimelineIndex(const std::string& db_path, int64_t base_bin_ms,
                             std::chrono::milliseconds catch_up_interval, collector::Store* feed)
    : base_bin_ms_(base_bin_ms), feed_(feed), gate_(&collector::sqlite::write_gate(db_path)) {
  if (base_bin_ms <= 0 || base_bin_ms % kMinuteMs != 0)
    throw std::runtime_error("timeline bin must be a positive number of whole minutes");
  // A fed index creates its own file; otherwise the file is the store's, which exists.
  const int create = feed ? SQLITE_OPEN_CREATE : 0;
  db_ = collector::sqlite::open_database(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | create, kCannotOpen);
  sqlite3_busy_timeout(db_, 60000);
  try {
    // This connection only reads after setup (under mutex_, hence NOMUTEX): a large page cache and memory
    // mapping keep month-long queries off pread.
    exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;");
    if (feed_) exec(db_, kFeedSchemaSql);
    exec(db_, "BEGIN IMMEDIATE");
    try {
      int64_t stored_bin = 0;
      {  // statements finished before any DROP (an active read locks the table)
        Statement has_meta(db_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'timeline_meta'");
        has_meta.step();
        // An index from before the background indexer (no indexed_rowid; a trigger on measurements) is
        // rebuilt like one with another bin.
        // Nor one from before vantage tags (no vantage column in the probe rows), nor before sources.
        Statement current(db_, "SELECT (SELECT count(*) FROM pragma_table_info('timeline_meta') WHERE name = 'indexed_rowid')"
                               " * (SELECT count(*) FROM sqlite_master WHERE name = 'timeline_bins_coarse')"
                               " * (SELECT count(*) FROM pragma_table_info('timeline_probe_bins') WHERE name = 'vantage')"
                               " * (SELECT count(*) FROM sqlite_master WHERE name = 'timeline_series_sources')");
        current.step();
        if (has_meta.int_at(0) > 0 && current.int_at(0) > 0) {
          Statement meta(db_, "SELECT base_bin_ms FROM timeline_meta");
          if (meta.step()) stored_bin = meta.int_at(0);
        }
      }
      if (stored_bin != base_bin_ms) {
        exec(db_, kDropSql);
        exec(db_, schema_sql(base_bin_ms));
        // A fed index applies the feed again from its start.
        if (feed_) exec(db_, std::string(kEmptyLegacyCopySql) + "UPDATE timeline_feed SET next_log_index = 0;");
      }
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    catch_up_locked();  // what is already stored (startup: errors throw)
    if (feed_) {
      std::lock_guard gate(*gate_);
      // EXISTS, not count(*): a legacy copy can hold millions of rows, and only whether it is empty matters.
      Statement copied(db_, "SELECT EXISTS (SELECT 1 FROM measurements)");
      copied.step();
      if (copied.int_at(0) != 0) {
        copied.reset();
        exec(db_, std::string("BEGIN IMMEDIATE; ") + kEmptyLegacyCopySql + " COMMIT;");
      }
    }
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
  if (catch_up_interval.count() > 0)
    indexer_ = std::thread([this, catch_up_interval] {
      core::name_this_thread("timelines");
      run_indexer(catch_up_interval);
    });
}

void TimelineIndex::drop_from(const std::string& db_path) {
  sqlite3* db = collector::sqlite::open_database(db_path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, kCannotOpen);
  sqlite3_busy_timeout(db, 60000);
  auto schema_entries = [db] {
    Statement st(db, "SELECT count(*) FROM sqlite_master");
    return st.step() ? st.int_at(0) : 0;
  };
  try {
    std::lock_guard gate(collector::sqlite::write_gate(db_path));
    exec(db, "BEGIN IMMEDIATE");
    const int64_t before = schema_entries();
    exec(db, kDropSql);
    const bool dropped = schema_entries() < before;
    exec(db, "COMMIT");
    if (dropped)
      core::log_at(core::LogLevel::info, "removed the timeline index kept inside %s (it has a file of its own now)",
                   db_path.c_str());
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    throw;
  }
  sqlite3_close(db);
}

TimelineIndex::~TimelineIndex() {
  stop_.stop();
  if (indexer_.joinable()) indexer_.join();
  sqlite3_close(db_);
}

void TimelineIndex::run_indexer(std::chrono::milliseconds interval) {
  for (;;) {
    if (stop_.wait_for(interval)) return;
    // A batch per turn (not beside the place index: core/background_turn.hpp), so that through a long
    // backlog (an import) the place index still gets its turns and its queries stay on the index.
    for (bool more = true; more && !stop_.stopped();) {
      std::lock_guard turn(core::background_turn());
      std::lock_guard lock(mutex_);
      try {
        more = catch_up_locked(1);
      } catch (const std::exception& e) {  // e.g. the database busy for a minute: try again next time
        core::log_at(core::LogLevel::warning, "%s (timelines will catch up later)", e.what());
        more = false;
      }
    }
  }
}

void TimelineIndex::catch_up() {
  std::lock_guard lock(mutex_);
  catch_up_locked();
}

bool TimelineIndex::pull_feed_locked(size_t& batches) {
  if (!feed_) return false;
  int64_t next = 0;
  {
    Statement st(db_, "SELECT next_log_index FROM timeline_feed");
    if (st.step()) next = st.int_at(0);
  }
  if (static_cast<uint64_t>(next) >= feed_->log_head().size) return false;
  std::unordered_map<std::string, bool> keys_seen;
  for (;;) {
    if (batches == 0) return true;
    --batches;
    const auto rows = feed_->in_log_order(static_cast<uint64_t>(next), batch_rows(), false);
    if (rows.empty()) return false;
    std::lock_guard gate(*gate_);
    exec(db_, "BEGIN IMMEDIATE");
    try {
      Statement ins(db_, "INSERT INTO temp.feed_rows(uid, key_id, started_at, cc, asn, target, category, verdict,"
                         " method, source, vantage, network_check, decisive, levels)"
                         " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
      Statement key(db_, "INSERT OR IGNORE INTO probe_keys(key_id, first_seen) VALUES(?, ?)");
      const std::vector<int> levels = latest_in_batch(rows, base_bin_ms_);
      for (size_t i = 0; i < rows.size(); ++i) {
        const auto& r = rows[i];
        // The key's registration time decides which vantage tags count (catch_up_sql); keys never change.
        if (keys_seen.emplace(r.key_id, true).second) {
          if (auto k = feed_->find_key(r.key_id)) {
            key.reset();
            key.bind(1, r.key_id);
            key.bind(2, k->first_seen_ms);
            key.step();
          }
        }
        // A row that is no probe's latest anywhere in the batch changes no per-probe row, and the series'
        // extents are taken from `rows` (upsert_series_extents): the SQL never needs it.
        if (levels[i] == 0) continue;
        ins.reset();  // `rows` outlives it: the strings are read in place
        ins.bind_borrowed(1, r.uid);
        ins.bind_borrowed(2, r.key_id);
        ins.bind(3, r.started_at_ms);
        ins.bind_borrowed(4, r.cc);
        ins.bind(5, static_cast<int64_t>(r.asn));
        ins.bind_borrowed(6, r.target);
        ins.bind_borrowed(7, r.category);
        ins.bind_borrowed(8, r.verdict);
        ins.bind_borrowed(9, r.method);
        ins.bind_borrowed(10, r.source);
        ins.bind_borrowed(11, r.vantage);
        ins.bind_borrowed(12, r.network_check);
        ins.bind(13, int64_t{r.decisive});
        ins.bind(14, int64_t{levels[i]});
        ins.step();
      }
      exec(db_, apply_feed_rows_sql(base_bin_ms_));
      upsert_series_extents(db_, rows, base_bin_ms_);
      next += static_cast<int64_t>(rows.size());
      Statement done(db_, "UPDATE timeline_feed SET next_log_index = ?");
      done.bind(1, next);
      done.step();
      exec(db_, "COMMIT");
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    if (rows.size() < static_cast<size_t>(batch_rows())) return false;
  }
}

bool TimelineIndex::catch_up_locked(size_t batches) {
  if (pull_feed_locked(batches)) return true;
  for (;;) {
    std::lock_guard gate(*gate_);  // the store's commits wait here, not in SQLite's busy handler
    exec(db_, "BEGIN IMMEDIATE");  // the one writer: every rowid up to max(rowid) is committed
    try {
      int64_t lo = 0, hi = 0;
      {
        Statement meta(db_, "SELECT base_bin_ms, indexed_rowid FROM timeline_meta");
        if (!meta.step() || meta.int_at(0) != base_bin_ms_)
          throw std::runtime_error("timeline index: the database's timelines were rebuilt with another bin "
                                   "by another process; restart this one");
        lo = meta.int_at(1);
        Statement last(db_, "SELECT coalesce(max(rowid), 0) FROM measurements");
        last.step();
        hi = std::min(last.int_at(0), lo + batch_rows());
      }
      if (hi > lo) {
        if (batches == 0) {
          exec(db_, "COMMIT");  // nothing written
          return true;
        }
        --batches;
        exec(db_, catch_up_sql(base_bin_ms_, lo, hi));
      }
      exec(db_, "COMMIT");
      if (hi - lo < batch_rows()) return false;
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

// Queries first apply what was stored since the last catch-up, so an answer includes every measurement
// stored before it was asked; a failure there leaves the answer as of the last catch-up.
void TimelineIndex::catch_up_before_query_locked() {
  try {
    size_t unlimited = SIZE_MAX;
    pull_feed_locked(unlimited);
    {  // a read first: a query takes SQLite's writer lock only when there is something to apply
      Statement behind(db_, "SELECT (SELECT indexed_rowid FROM timeline_meta) < "
                            "(SELECT coalesce(max(rowid), 0) FROM measurements)");
      if (behind.step() && behind.int_at(0) == 0) return;
    }
    catch_up_locked();
  } catch (const std::exception& e) {
    core::log_at(core::LogLevel::warning, "%s (answering from the timelines as they are)", e.what());
  }
}

void TimelineIndex::before_read_locked() {
  if (!in_consistent_reads_) catch_up_before_query_locked();
}

void TimelineIndex::consistent_reads(const std::function<void()>& reads) {
  std::lock_guard lock(mutex_);
  catch_up_before_query_locked();
  in_consistent_reads_ = true;
  try {
    reads();
  } catch (...) {
    in_consistent_reads_ = false;
    throw;
  }
  in_consistent_reads_ = false;
}

std::vector<SeriesInfo> TimelineIndex::series_list(const TimelineQuery& query) {
  std::lock_guard lock(mutex_);
  before_read_locked();
  return series_list_locked(query);
}

std::vector<SeriesInfo> TimelineIndex::series_list_locked(const TimelineQuery& q) {
  // One source: the series that have its data, over the bins where they do.
  std::string sql = q.source.empty()
                        ? "SELECT cc, asn, target, category, first_bin, last_bin FROM timeline_series WHERE 1"
                        : "SELECT cc, asn, target, s.category, x.first_bin, x.last_bin FROM timeline_series s"
                          " JOIN timeline_series_sources x USING (cc, asn, target) WHERE x.source = ?5";
  if (!q.cc.empty()) sql += " AND cc = ?1";
  if (q.asn) sql += " AND asn = ?2";
  if (!q.target.empty()) sql += " AND target = ?3";
  if (!q.category.empty()) sql += " AND (category = ?4 OR target = '*')";
  sql += " ORDER BY cc, asn, target";
  Statement st(db_, sql);
  if (!q.cc.empty()) st.bind(1, q.cc);
  if (q.asn) st.bind(2, static_cast<int64_t>(*q.asn));
  if (!q.target.empty()) st.bind(3, q.target);
  if (!q.category.empty()) st.bind(4, q.category);
  if (!q.source.empty()) st.bind(5, q.source);
  std::vector<SeriesInfo> out;
  while (st.step())
    out.push_back({{st.text_at(0), static_cast<uint32_t>(st.int_at(1)), st.text_at(2)}, st.text_at(3), st.int_at(4),
                   st.int_at(5)});
  return out;
}

Series TimelineIndex::series(const SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms,
                             const std::string& source) {
  std::lock_guard lock(mutex_);
  before_read_locked();
  return series_locked(key, from_ms, until_ms, bin_ms, source);
}

Series TimelineIndex::series_locked(const SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms,
                                    const std::string& source) {
  if (bin_ms <= 0 || bin_ms % base_bin_ms_ != 0)
    throw std::invalid_argument("bin must be a multiple of " + std::to_string(base_bin_ms_ / kMinuteMs) + " minutes");
  const int64_t first = bin_floor(from_ms, bin_ms);
  const int64_t end = bin_ceil(until_ms, bin_ms);
  Series s{key, "", bin_ms, {}, ""};
  if (end <= first) return s;
  s.bins.resize(static_cast<size_t>((end - first) / bin_ms));
  for (size_t i = 0; i < s.bins.size(); ++i) s.bins[i].start_ms = first + static_cast<int64_t>(i) * bin_ms;
  // A level's aggregates when the bin is the level's; else the finest level's per-probe rows that tile it.
  // The aggregates count every source: one source's series reads them only when no other source ever had
  // a row in this series (the usual case), else it is computed from that source's per-probe rows.
  const int64_t coarse_ms = base_bin_ms_ * kCoarseFactor;
  const bool other_sources = !source.empty() && series_has_other_source_locked(key, source);
  if (other_sources || (bin_ms != base_bin_ms_ && bin_ms != coarse_ms)) {
    stream_bins_locked(bin_ms % coarse_ms == 0 ? kCoarseLevel : kBaseLevel, key, first, end, bin_ms,
                       other_sources ? source : "", s);
    return s;
  }
  Statement st(db_,
               "SELECT bin, verdict, method, probes FROM timeline_bins" + (bin_ms == coarse_ms ? kCoarseLevel : kBaseLevel) +
               " WHERE cc = ? AND asn = ? AND target = ? AND bin >= ? AND bin < ? ORDER BY bin, verdict, method");
  bind_series_range(st, key, first, end);
  while (st.step()) {
    const int probes = static_cast<int>(st.int_at(3));
    if (probes <= 0) continue;
    Bin& bin = s.bins[static_cast<size_t>((st.int_at(0) - first) / bin_ms)];
    bin.counts.push_back({st.text_at(1), st.text_at(2), probes});
    bin.probes += probes;
  }
  return s;
}

bool TimelineIndex::series_has_other_source_locked(const SeriesKey& key, const std::string& source) {
  Statement st(db_, "SELECT EXISTS (SELECT 1 FROM timeline_series_sources WHERE cc = ? AND asn = ? AND target = ?"
                    " AND source != ?)");
  st.bind(1, key.cc);
  st.bind(2, static_cast<int64_t>(key.asn));
  st.bind(3, key.target);
  st.bind(4, source);
  return st.step() && st.int_at(0) != 0;
}

// Bins that are a multiple of a level's: each probe's latest per level bin, streamed in primary-key order
// (bin, key_id). A query bin's rows arrive together, and a probe's rows in it in increasing level bin; a
// level bin holds one row per probe and its started_at lies inside that level bin, so the probe's latest
// in the query bin is simply its last row. That is what build_series gives over the same rows
// (tests/timeline checks the equality), without materialising and sorting them.
void TimelineIndex::stream_bins_locked(const std::string& level, const SeriesKey& key, int64_t first, int64_t end,
                                       int64_t bin_ms, const std::string& source, Series& s) {
  Statement st(db_,
               "SELECT bin, key_id, verdict, method FROM timeline_probe_bins" + level +
               " WHERE cc = ? AND asn = ? AND target = ? AND bin >= ? AND bin < ?" +
               (source.empty() ? "" : " AND source = ?6") + " ORDER BY bin, key_id");
  bind_series_range(st, key, first, end);
  if (!source.empty()) st.bind(6, source);
  struct State {
    std::string verdict, method;
  };
  std::unordered_map<std::string, State> latest;  // key_id -> its state in the current coarse bin
  std::string key_id;                             // reused: no allocation per row
  size_t current = 0;
  auto flush = [&] {
    Bin& bin = s.bins[current];
    for (const auto& entry : latest) {
      const State& state = entry.second;  // not a structured binding: clang 14 cannot capture those
      ++bin.probes;
      auto it = std::find_if(bin.counts.begin(), bin.counts.end(), [&](const VerdictCount& c) {
        return c.verdict == state.verdict && c.method == state.method;
      });
      if (it != bin.counts.end()) ++it->probes;
      else bin.counts.push_back({state.verdict, state.method, 1});
    }
    std::sort(bin.counts.begin(), bin.counts.end(), [](const VerdictCount& a, const VerdictCount& b) {
      return std::tie(a.verdict, a.method) < std::tie(b.verdict, b.method);
    });
    latest.clear();
  };
  while (st.step()) {
    const size_t index = static_cast<size_t>((st.int_at(0) - first) / bin_ms);
    if (index != current) {
      flush();
      current = index;
    }
    st.text_into(1, key_id);
    State& state = latest[key_id];
    st.text_into(2, state.verdict);
    st.text_into(3, state.method);
  }
  flush();
}

// The probe rows behind an incident (base level), one per (probe, tag).
std::vector<VantageSample> TimelineIndex::vantage_samples(const SeriesKey& key, int64_t from, int64_t until,
                                                         const std::optional<std::string>& verdict,
                                                         const std::string& source) {
  std::lock_guard lock(mutex_);
  before_read_locked();
  Statement st(db_, std::string("SELECT key_id, vantage, sum(decisive) FROM timeline_probe_bins"
                                " WHERE cc = ? AND asn = ? AND target = ? AND bin >= ? AND bin < ?") +
                        (verdict ? " AND verdict = ?6" : "") + (source.empty() ? "" : " AND source = ?7") +
                        " GROUP BY key_id, vantage");
  bind_series_range(st, key, from, until);
  if (verdict) st.bind(6, *verdict);
  if (!source.empty()) st.bind(7, source);
  std::vector<VantageSample> out;
  while (st.step()) out.push_back({st.text_at(0), st.text_at(1), static_cast<int>(st.int_at(2))});
  return out;
}

int64_t TimelineIndex::data_end_ms(const std::string& source) {
  std::lock_guard lock(mutex_);
  before_read_locked();
  Statement last(db_, source.empty() ? "SELECT max(last_bin) FROM timeline_series"
                                     : "SELECT max(last_bin) FROM timeline_series_sources WHERE source = ?1");
  if (!source.empty()) last.bind(1, source);
  last.step();
  return last.int_at(0) + base_bin_ms_;
}

}  // namespace kuzet::timeline
