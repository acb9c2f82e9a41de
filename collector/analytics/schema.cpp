#include "collector/analytics/schema.hpp"

#include <algorithm>
#include <stdexcept>

namespace kuzet::collector::analytics {

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

namespace {

// BIN: a measurement's base bin. The month partition of an aggregate row is its bin's, not its measurement's.
// LAST_AT: the latest started_at, shifted by 2^63 into UInt64 (the order of every Int64 kept), since 18.16's
// ReplacingMergeTree takes an unsigned version only.
std::string with_bin(std::string sql, int64_t base_bin_ms) {
  sql = replace_all(std::move(sql), "LAST_AT", "toUInt64(max(started_at)) + 9223372036854775808");
  return replace_all(std::move(sql), "BIN",
                     "intDiv(started_at, " + std::to_string(base_bin_ms) + ") * " + std::to_string(base_bin_ms));
}

// A materialized view over measurements_local: its table, its SELECT, and the schema version that added it.
struct View {
  const char* name;
  const char* table;
  const char* select;
  int version;
};

const View kViews[] = {
    {"probe_bins_targets", kProbeBinsLocal,
     "SELECT cc, asn, target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, key_id, source,"
     " argMaxState((verdict, method, vantage, decisive), (started_at, uid)) AS latest FROM measurements_local"
     " GROUP BY cc, asn, target, bin, key_id, source",
     1},
    {"probe_bins_networks", kProbeBinsLocal,
     "SELECT cc, asn, '*' AS target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, key_id, source,"
     " argMaxState((if(verdict = 'offline', 'offline', 'online'), '', vantage, decisive), (started_at, uid))"
     " AS latest FROM measurements_local GROUP BY cc, asn, target, bin, key_id, source",
     1},
    {"series_targets", kSeriesLocal,
     "SELECT cc, asn, target, source, maxState(category) AS category, minState(BIN) AS first_bin,"
     " maxState(BIN) AS last_bin FROM measurements_local GROUP BY cc, asn, target, source",
     1},
    {"series_networks", kSeriesLocal,
     "SELECT cc, asn, '*' AS target, source, maxState('') AS category, minState(BIN) AS first_bin,"
     " maxState(BIN) AS last_bin FROM measurements_local GROUP BY cc, asn, target, source",
     1},
    // Each measurement counts its probe twice: under its (verdict, method) and under the bin's whole (two
    // views: 18.16 pushes no subquery into a view, and an ARRAY JOIN would rename the source's columns).
    // A view's columns go to its table by name; the network state's source column is named in full.
    {"bin_probes_targets", kBinProbesLocal,
     "SELECT cc, asn, target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, source, toUInt8(0) AS whole, verdict,"
     " method, uniqExactState(key_id) AS probes FROM measurements_local"
     " GROUP BY cc, asn, target, bin, source, verdict, method",
     2},
    {"bin_probes_targets_whole", kBinProbesLocal,
     "SELECT cc, asn, target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, source, toUInt8(1) AS whole,"
     " '' AS verdict, '' AS method, uniqExactState(key_id) AS probes FROM measurements_local"
     " GROUP BY cc, asn, target, bin, source",
     2},
    {"bin_probes_networks", kBinProbesLocal,
     "SELECT cc, asn, '*' AS target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, source, toUInt8(0) AS whole,"
     " if(measurements_local.verdict = 'offline', 'offline', 'online') AS verdict, '' AS method,"
     " uniqExactState(key_id) AS probes FROM measurements_local GROUP BY cc, asn, target, bin, source, verdict",
     2},
    {"bin_probes_networks_whole", kBinProbesLocal,
     "SELECT cc, asn, '*' AS target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, source, toUInt8(1) AS whole,"
     " '' AS verdict, '' AS method, uniqExactState(key_id) AS probes FROM measurements_local"
     " GROUP BY cc, asn, target, bin, source",
     2},
    // Which states each probe reported per bin and when it last did, as plain columns: the state last reported
    // alone at its time is the probe's latest there, read without argMax states (schema 3). LAST_AT is
    // started_at as an order-keeping UInt64 (a ReplacingMergeTree version: the latest time of a state stays).
    {"probe_presence_targets", kProbePresenceLocal,
     "SELECT cc, asn, target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, key_id, source, verdict, vantage,"
     " decisive, LAST_AT AS last_at FROM measurements_local"
     " GROUP BY cc, asn, target, bin, key_id, source, verdict, vantage, decisive",
     3},
    {"probe_presence_networks", kProbePresenceLocal,
     "SELECT cc, asn, '*' AS target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, key_id, source,"
     " if(measurements_local.verdict = 'offline', 'offline', 'online') AS verdict, vantage, decisive,"
     " LAST_AT AS last_at FROM measurements_local GROUP BY cc, asn, target, bin, key_id, source, verdict, vantage,"
     " decisive",
     3},
    {"verdict_days_targets", kVerdictDaysLocal,
     "SELECT cc, asn, verdict, intDiv(BIN, 86400000) AS day_number, target, source FROM measurements_local"
     " GROUP BY cc, asn, verdict, day_number, target, source",
     2},
};

}  // namespace

std::vector<std::string> local_schema_sql(int64_t base_bin_ms) {
  std::vector<std::string> sql = {
      "CREATE TABLE IF NOT EXISTS measurements_local (uid String, source String, key_id String, started_at Int64,"
      " day Date, cc String, asn UInt32, target String, category String, verdict String, method String,"
      " vantage String, decisive UInt8) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(day)"
      " ORDER BY (cc, asn, target, started_at, uid)",
      "CREATE TABLE IF NOT EXISTS probe_bins_local (cc String, asn UInt32, target String, bin Int64, day Date,"
      " key_id String, source String, latest AggregateFunction(argMax, Tuple(String, String, String, UInt8),"
      " Tuple(Int64, String))) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(day)"
      " ORDER BY (cc, asn, target, bin, key_id, source)"
      // Reads are a series' few thousand rows: small granules spare decoding states no query asked for.
      " SETTINGS index_granularity = 1024",
      "CREATE TABLE IF NOT EXISTS series_local (cc String, asn UInt32, target String, source String,"
      " category AggregateFunction(max, String), first_bin AggregateFunction(min, Int64),"
      " last_bin AggregateFunction(max, Int64)) ENGINE = AggregatingMergeTree ORDER BY (cc, asn, target, source)",
      "CREATE TABLE IF NOT EXISTS bin_probes_local (cc String, asn UInt32, target String, bin Int64, day Date,"
      " source String, whole UInt8, verdict String, method String, probes AggregateFunction(uniqExact, String))"
      " ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(day)"
      " ORDER BY (cc, asn, target, bin, source, whole, verdict, method) SETTINGS index_granularity = 1024",
      // A day's verdicts of a network's series: a few rows, read whole (no partitions; a key only).
      "CREATE TABLE IF NOT EXISTS verdict_days_local (cc String, asn UInt32, verdict String, day_number Int64,"
      " target String, source String) ENGINE = ReplacingMergeTree"
      " ORDER BY (cc, asn, verdict, day_number, target, source)",
      // A state's rows become one after merges, with the latest time (its version); reads take the max anyway.
      "CREATE TABLE IF NOT EXISTS probe_presence_local (cc String, asn UInt32, target String, bin Int64, day Date,"
      " key_id String, source String, verdict String, vantage String, decisive UInt8, last_at UInt64)"
      " ENGINE = ReplacingMergeTree(last_at) PARTITION BY toYYYYMM(day)"
      " ORDER BY (cc, asn, target, bin, key_id, source, verdict, vantage, decisive) SETTINGS index_granularity = 1024",
  };
  for (const auto& v : kViews)
    sql.push_back(with_bin(std::string("CREATE MATERIALIZED VIEW IF NOT EXISTS ") + v.name + " TO " + v.table + " AS " +
                               v.select,
                           base_bin_ms));
  return sql;
}

std::vector<std::string> backfill_sql(int from_version, int64_t base_bin_ms, const std::string& day) {
  std::vector<std::string> sql;
  for (const auto& v : kViews) {
    if (v.version <= from_version) continue;
    std::string select = v.select;
    // One day's rows at a time: a table with a row per probe and bin (probe_presence) groups as many keys as
    // it reads rows, which for a whole table would not fit a server's memory.
    select.insert(select.find(" GROUP BY "), " WHERE day = " + clickhouse::sql_string(day));
    sql.push_back(with_bin(std::string("INSERT INTO ") + v.table + " " + select, base_bin_ms));
  }
  return sql;
}

std::vector<std::string> stored_incidents_schema_sql() {
  const auto table = [](const char* name, const char* columns_and_engine) {
    return std::string("CREATE TABLE IF NOT EXISTS ") + name + " " + columns_and_engine;
  };
  return {
      table(kSeriesIncidents,
            "(source String, cc String, asn UInt32, target String, watermark UInt64, made_at UInt64, options String,"
            " first_bin Int64, data_end Int64, runs String) ENGINE = ReplacingMergeTree(made_at)"
            " ORDER BY (source, cc, asn, target)"),
      // A network series' bins a day (kBinsPerChunk base bins) a row, as text: a later week's search reads 14 rows.
      table(kNetworkBins,
            "(source String, cc String, asn UInt32, chunk Int64, made_at UInt64, bins String)"
            " ENGINE = ReplacingMergeTree(made_at) ORDER BY (source, cc, asn, chunk)"),
      table(kIncidentsWatermark, "(watermark UInt64, made_at UInt64) ENGINE = MergeTree ORDER BY watermark"),
      // A series' states a day (bin: the day's start), the latest version's rows its counts; a state gone in a later
      // version keeps its old row (other key), which reads pass over.
      table(kDayCounts,
            "(source String, cc String, asn UInt32, target String, bin Int64, version UInt64, verdict String,"
            " method String, probes UInt32) ENGINE = ReplacingMergeTree(version)"
            " ORDER BY (source, cc, asn, target, bin, verdict, method)"),
      // Per day and kind (queries.hpp, DayMark) the latest mark.
      table(kDayMarks,
            "(bin Int64, kind UInt8, version UInt64, watermark UInt64) ENGINE = ReplacingMergeTree(version)"
            " ORDER BY (bin, kind)"),
  };
}

std::vector<std::string> distributed_schema_sql(const std::string& cluster, const std::string& database) {
  const std::string on =
      "Distributed(" + clickhouse::sql_identifier(cluster) + ", " + clickhouse::sql_identifier(database) + ", ";
  return {
      // A probe's measurements on one shard: its bins merge there (and across shards when queried).
      std::string("CREATE TABLE IF NOT EXISTS ") + kMeasurements + " AS " + kMeasurementsLocal + " ENGINE = " + on +
          kMeasurementsLocal + ", cityHash64(key_id))",
      std::string("CREATE TABLE IF NOT EXISTS ") + kProbeBins + " AS " + kProbeBinsLocal + " ENGINE = " + on +
          kProbeBinsLocal + ")",
      std::string("CREATE TABLE IF NOT EXISTS ") + kSeries + " AS " + kSeriesLocal + " ENGINE = " + on + kSeriesLocal + ")",
      std::string("CREATE TABLE IF NOT EXISTS ") + kBinProbes + " AS " + kBinProbesLocal + " ENGINE = " + on +
          kBinProbesLocal + ")",
      std::string("CREATE TABLE IF NOT EXISTS ") + kVerdictDays + " AS " + kVerdictDaysLocal + " ENGINE = " + on +
          kVerdictDaysLocal + ")",
      std::string("CREATE TABLE IF NOT EXISTS ") + kProbePresence + " AS " + kProbePresenceLocal + " ENGINE = " + on +
          kProbePresenceLocal + ")",
  };
}

void create_schema(const clickhouse::ClickHouseUrl& url, int64_t base_bin_ms, const clickhouse::ClientLimits& limits) {
  std::vector<clickhouse::Endpoint> servers = url.shards;
  bool query_is_shard = false;
  for (const auto& s : servers) query_is_shard = query_is_shard || s == url.query;
  if (!query_is_shard) servers.push_back(url.query);
  for (const auto& server : servers) {
    clickhouse::Client client(server, "default", limits);
    client.execute("CREATE DATABASE IF NOT EXISTS " + clickhouse::sql_identifier(url.database));
    clickhouse::Client db(server, url.database, limits);
    // The base bin first: views made for another bin would count wrongly.
    db.execute(std::string("CREATE TABLE IF NOT EXISTS ") + kMeta + " (base_bin_ms Int64) ENGINE = TinyLog");
    const auto meta = db.select(std::string("SELECT base_bin_ms FROM ") + kMeta);
    if (meta.empty()) {
      db.execute(std::string("INSERT INTO ") + kMeta + " VALUES (" + std::to_string(base_bin_ms) + ")");
    } else if (!meta[0][0].is_number_integer() || meta[0][0].get<int64_t>() != base_bin_ms) {
      throw std::runtime_error("ClickHouse " + server.host + ":" + std::to_string(server.port) + " database " +
                               url.database + " was made for another timeline bin (" + meta[0][0].dump() +
                               " ms); use another database or the same --timeline-bin");
    }
    db.execute(std::string("CREATE TABLE IF NOT EXISTS ") + kSchemaVersionTable +
               " (version UInt32, upgraded_at DateTime) ENGINE = TinyLog");
    const auto versions = db.select(std::string("SELECT toInt64(max(version)) FROM ") + kSchemaVersionTable);
    // No row: a database made before versions were recorded (1), or a new one (its backfill is empty).
    const int64_t version = versions.empty() || !versions[0][0].is_number_integer()
                                ? 1
                                : std::max<int64_t>(1, versions[0][0].get<int64_t>());
    if (version > kSchemaVersion)
      throw std::runtime_error("ClickHouse " + server.host + ":" + std::to_string(server.port) + " database " +
                               url.database + " has schema version " + std::to_string(version) +
                               ", newer than this Kuzet's (" + std::to_string(kSchemaVersion) + "): upgrade Kuzet");
    for (const auto& s : local_schema_sql(base_bin_ms)) db.execute(s);
    if (version < kSchemaVersion) {
      // The views now keep the new tables; what measurements_local held before is added once (a restart
      // in between adds it again, which the idempotent aggregates absorb).
      clickhouse::ClientLimits long_limits = limits;
      long_limits.timeout = std::max(limits.timeout, std::chrono::milliseconds(6 * 3600 * 1000));
      clickhouse::Client backfill(server, url.database, long_limits);
      for (const auto& day : backfill.select(std::string("SELECT DISTINCT toString(day) AS d FROM ") +
                                             kMeasurementsLocal + " ORDER BY d")) {
        if (!day.at(0).is_string()) throw std::runtime_error("ClickHouse reply: a day is not text");
        for (const auto& s : backfill_sql(static_cast<int>(version), base_bin_ms, day[0].get<std::string>()))
          backfill.execute(s);
      }
      db.execute(std::string("INSERT INTO ") + kSchemaVersionTable + " VALUES (" + std::to_string(kSchemaVersion) +
                 ", now())");
    }
    for (const auto& s : distributed_schema_sql(url.cluster, url.database)) db.execute(s);
  }
  clickhouse::Client query(url.query, url.database, limits);
  query.execute(std::string("CREATE TABLE IF NOT EXISTS ") + kExportProgress +
                " (next_log_index UInt64, exported_at DateTime) ENGINE = MergeTree ORDER BY next_log_index");
  for (const auto& s : stored_incidents_schema_sql()) query.execute(s);
}

}  // namespace kuzet::collector::analytics
