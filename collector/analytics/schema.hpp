#pragma once
// The ClickHouse tables of Kuzet's analytics (docs/deployment.md, "ClickHouse"). On every shard:
//   measurements_local  one row per stored measurement (its summary columns and the vantage tag it
//                       supports): ReplacingMergeTree ordered by (cc, asn, target, started_at, uid), so a
//                       row sent twice is one row after merges; partitioned by month.
//   probe_bins_local    per (cc, asn, target, base bin, probe, source) the probe's latest measurement there,
//                       argMaxState by (started_at, uid): AggregatingMergeTree kept by two materialized
//                       views, one for the target series and one for the network series (target "*",
//                       verdict offline/online). Latest-by is idempotent: duplicates change nothing.
//   series_local        per (cc, asn, target, source) the category and first and last base bin.
//   bin_probes_local    per (cc, asn, target, base bin, source, verdict, method) the distinct probes that
//                       reported it (uniqExactState of key_id), and per bin (whole = 1) the distinct probes at
//                       all: where the first add up to the second every probe had one state in the bin, so
//                       these are its latest-per-probe counts without reading the probes' states (schema 2).
//   verdict_days_local  which (cc, asn, target, verdict, day, source) have a measurement: which series the
//                       incident search must read at all (schema 2).
//   probe_presence_local per (cc, asn, target, base bin, probe, source) each distinct (verdict, vantage,
//                       decisive) the probe reported there (the network series' verdict offline/online) and the
//                       latest time it did: the state reported alone at the probe's latest time is its latest
//                       measurement's, so the incident search reads independence from plain columns; a probe
//                       with two states at that time (a tie only the uid breaks) it reads from probe_bins
//                       (schema 3).
// And on every shard, Distributed tables over the cluster (measurements sharded by probe key, so a
// probe's rows live on one shard): measurements, probe_bins, series, bin_probes, verdict_days,
// probe_presence. The query server also keeps export_progress (the exporter's watermark), series_incidents,
// network_bins and stored_watermark (incidents found when data arrives: materializer.hpp), and every shard
// kuzet_meta (the base bin the views use) and kuzet_schema (the schema version it was brought to: tables a
// version added are filled from measurements_local once, then kept by their views).
// Kept to what ClickHouse 18.16 (Debian 12) accepts: no DateTime64, no ON CLUSTER without ZooKeeper (each
// shard's tables are made one by one), no LowCardinality.
#include <cstdint>
#include <string>
#include <vector>

#include "collector/analytics/clickhouse/clickhouse.hpp"

namespace kuzet::collector::analytics {

inline constexpr const char* kMeasurementsLocal = "measurements_local";
inline constexpr const char* kMeasurements = "measurements";
inline constexpr const char* kProbeBinsLocal = "probe_bins_local";
inline constexpr const char* kProbeBins = "probe_bins";
inline constexpr const char* kSeriesLocal = "series_local";
inline constexpr const char* kSeries = "series";
inline constexpr const char* kBinProbesLocal = "bin_probes_local";
inline constexpr const char* kBinProbes = "bin_probes";
inline constexpr const char* kVerdictDaysLocal = "verdict_days_local";
inline constexpr const char* kVerdictDays = "verdict_days";
inline constexpr const char* kProbePresenceLocal = "probe_presence_local";
inline constexpr const char* kProbePresence = "probe_presence";
inline constexpr const char* kExportProgress = "export_progress";
inline constexpr const char* kSeriesIncidents = "series_incidents";
// The export watermarks the stored incidents and network bins were brought to (schema 5). Schema 4's
// incidents_watermark (stored incidents without network bins) is left unused: after the upgrade nothing stored
// answers until a pass has stored both.
inline constexpr const char* kIncidentsWatermark = "stored_watermark";
inline constexpr const char* kIncidentsWatermarkV4 = "incidents_watermark";
inline constexpr const char* kNetworkBins = "network_bins";
// Per-day counts of every series, for timelines at 1-day bins (schema 6, materializer.hpp): each probe counted once a
// day with its latest state, as a day bin counts it; day_marks says which days' counts are whole and current.
inline constexpr const char* kDayCounts = "day_counts";
inline constexpr const char* kDayMarks = "day_marks";
inline constexpr const char* kMeta = "kuzet_meta";
inline constexpr const char* kSchemaVersionTable = "kuzet_schema";
// 1: measurements, probe_bins, series (no kuzet_schema row). 2: bin_probes, verdict_days. 3: probe_presence.
// 4: series_incidents and incidents_watermark on the query server (empty after an upgrade: they answer once
// the exporter's next pass has filled them). 5: network_bins and stored_watermark on the query server (likewise:
// nothing stored answers until the exporter's next pass has stored runs and network bins). 6: day_counts and
// day_marks on the query server (empty after an upgrade: every day bin is read from the states until the
// exporter's first pass has counted the days).
inline constexpr int kSchemaVersion = 6;
// verdict_days_local's day_number: intDiv(base bin, kDayMs).
inline constexpr int64_t kDayMs = 86400000;

// Statements making a shard's local tables and views for a base bin (pure).
std::vector<std::string> local_schema_sql(int64_t base_bin_ms);
// Statements filling, from measurements_local's rows of one `day` (YYYY-MM-DD), the tables added after schema
// version `from_version` (pure): the same SELECTs as their views, for that day. Idempotent aggregates and
// presence rows, so rows the views add meanwhile count once.
std::vector<std::string> backfill_sql(int from_version, int64_t base_bin_ms, const std::string& day);
// Statements making the query server's tables of incidents found when data arrives (collector/analytics/
// materializer.hpp) (pure).
std::vector<std::string> stored_incidents_schema_sql();
// Statements making the Distributed tables over `cluster` (pure).
std::vector<std::string> distributed_schema_sql(const std::string& cluster, const std::string& database);

// Makes what is missing on every shard and the query server (idempotent), checks each shard's views were
// made for this base bin, and brings an older schema to kSchemaVersion (filling the new tables from
// measurements_local: minutes per 100 M measurements). Throws std::runtime_error (a shard down, another
// bin, a schema newer than this Kuzet's).
void create_schema(const clickhouse::ClickHouseUrl& url, int64_t base_bin_ms,
                   const clickhouse::ClientLimits& limits = {});

}  // namespace kuzet::collector::analytics
