#include "collector/analytics/schema.hpp"

#include <stdexcept>

namespace kuzet::collector::analytics {

namespace {

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) s.replace(at, from.size(), to);
  return s;
}

}  // namespace

std::vector<std::string> local_schema_sql(int64_t base_bin_ms) {
  // BIN(x): x's base bin. The month partition of an aggregate row is its bin's, not its measurement's.
  const std::string bin = "intDiv(started_at, " + std::to_string(base_bin_ms) + ") * " + std::to_string(base_bin_ms);
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
      "CREATE MATERIALIZED VIEW IF NOT EXISTS probe_bins_targets TO probe_bins_local AS SELECT cc, asn, target,"
      " BIN AS bin, toDate(intDiv(bin, 1000)) AS day, key_id, source,"
      " argMaxState((verdict, method, vantage, decisive), (started_at, uid)) AS latest FROM measurements_local"
      " GROUP BY cc, asn, target, bin, key_id, source",
      "CREATE MATERIALIZED VIEW IF NOT EXISTS probe_bins_networks TO probe_bins_local AS SELECT cc, asn,"
      " '*' AS target, BIN AS bin, toDate(intDiv(bin, 1000)) AS day, key_id, source,"
      " argMaxState((if(verdict = 'offline', 'offline', 'online'), '', vantage, decisive), (started_at, uid))"
      " AS latest FROM measurements_local GROUP BY cc, asn, target, bin, key_id, source",
      "CREATE TABLE IF NOT EXISTS series_local (cc String, asn UInt32, target String, source String,"
      " category AggregateFunction(max, String), first_bin AggregateFunction(min, Int64),"
      " last_bin AggregateFunction(max, Int64)) ENGINE = AggregatingMergeTree ORDER BY (cc, asn, target, source)",
      "CREATE MATERIALIZED VIEW IF NOT EXISTS series_targets TO series_local AS SELECT cc, asn, target, source,"
      " maxState(category) AS category, minState(BIN) AS first_bin, maxState(BIN) AS last_bin"
      " FROM measurements_local GROUP BY cc, asn, target, source",
      "CREATE MATERIALIZED VIEW IF NOT EXISTS series_networks TO series_local AS SELECT cc, asn, '*' AS target,"
      " source, maxState('') AS category, minState(BIN) AS first_bin, maxState(BIN) AS last_bin"
      " FROM measurements_local GROUP BY cc, asn, target, source",
      "CREATE TABLE IF NOT EXISTS kuzet_meta (base_bin_ms Int64) ENGINE = TinyLog",
  };
  for (auto& s : sql) s = replace_all(s, "BIN", bin);
  return sql;
}

std::vector<std::string> distributed_schema_sql(const std::string& cluster, const std::string& database) {
  const std::string on = "Distributed(" + sql_identifier(cluster) + ", " + sql_identifier(database) + ", ";
  return {
      // A probe's measurements on one shard: its bins merge there (and across shards when queried).
      std::string("CREATE TABLE IF NOT EXISTS ") + kMeasurements + " AS " + kMeasurementsLocal + " ENGINE = " + on +
          kMeasurementsLocal + ", cityHash64(key_id))",
      std::string("CREATE TABLE IF NOT EXISTS ") + kProbeBins + " AS " + kProbeBinsLocal + " ENGINE = " + on +
          kProbeBinsLocal + ")",
      std::string("CREATE TABLE IF NOT EXISTS ") + kSeries + " AS " + kSeriesLocal + " ENGINE = " + on + kSeriesLocal + ")",
  };
}

void create_schema(const ClickHouseUrl& url, int64_t base_bin_ms, const ClientLimits& limits) {
  std::vector<Endpoint> servers = url.shards;
  bool query_is_shard = false;
  for (const auto& s : servers) query_is_shard = query_is_shard || s == url.query;
  if (!query_is_shard) servers.push_back(url.query);
  for (const auto& server : servers) {
    Client client(server, "default", limits);
    client.execute("CREATE DATABASE IF NOT EXISTS " + sql_identifier(url.database));
    Client db(server, url.database, limits);
    for (const auto& s : local_schema_sql(base_bin_ms)) db.execute(s);
    const auto meta = db.select(std::string("SELECT base_bin_ms FROM ") + kMeta);
    if (meta.empty()) {
      db.execute(std::string("INSERT INTO ") + kMeta + " VALUES (" + std::to_string(base_bin_ms) + ")");
    } else if (!meta[0][0].is_number_integer() || meta[0][0].get<int64_t>() != base_bin_ms) {
      throw std::runtime_error("ClickHouse " + server.host + ":" + std::to_string(server.port) + " database " +
                               url.database + " was made for another timeline bin (" + meta[0][0].dump() +
                               " ms); use another database or the same --timeline-bin");
    }
    for (const auto& s : distributed_schema_sql(url.cluster, url.database)) db.execute(s);
  }
  Client query(url.query, url.database, limits);
  query.execute(std::string("CREATE TABLE IF NOT EXISTS ") + kExportProgress +
                " (next_log_index UInt64, exported_at DateTime) ENGINE = MergeTree ORDER BY next_log_index");
}

}  // namespace kuzet::collector::analytics
