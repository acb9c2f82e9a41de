#pragma once
// Command line of kuzet-collector. Typed options; parse errors throw UsageError (exit status 2).
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kuzet::collector {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ServeOptions {
  std::string listen_host = "127.0.0.1";
  uint16_t port = 0;  // 0 = any free port (printed at startup)
  std::string db_path;
  std::string resolver;   // for control measurements; "" = system
  std::string ca_bundle;  // trust store for control TLS; "" = system
  std::string asn_db;     // iptoasn TSV or GeoLite2-ASN .mmdb; "" = every address unknown
  bool allow_private_targets = false;
  size_t control_concurrency = 48;  // a whole country list (kz.yaml: 46 targets) measured at once
  // Workers for uploads, reads and /healthz; control requests have their own pool (control_threads),
  // so a burst of them never takes these (docs/collector.md, "Staying up").
  size_t http_threads = 16;
  size_t control_threads = 4;
  size_t max_body_bytes = 16 * 1024 * 1024;
  size_t max_connections = 1024;
  size_t max_connections_per_source = 32;  // per IPv4 address / IPv6 /64; trusted proxies exempt
  double control_requests_per_minute = 10;        // per key, also its burst
  double control_global_per_minute = 30;          // all keys together
  double control_global_burst = 8;
  double registrations_per_minute = 10;           // per source /24 (IPv4) or /48 (IPv6)
  double registration_burst = 20;
  // Reverse proxies whose X-Real-IP / X-Forwarded-For is believed; from anyone else they are ignored.
  std::vector<std::string> trusted_proxies;
  uint32_t timeline_bin_minutes = 10;  // the timelines' base bin; coarser bins are multiples of it
  // The transparency log (docs/transparency-log.md).
  std::string log_key_path;              // "" = "<db>.log-key"
  std::string log_origin;                // "" = the key's name (a new key: "<hostname>/kuzet-log")
  uint32_t checkpoint_interval_seconds = 2;  // at most one signed checkpoint per interval
  // Independent vantage points (docs/timelines.md): where the day's tag key is kept ("" = memory only), and
  // how many an incident needs to be confirmed.
  std::string vantage_key_file;
  uint32_t min_vantage_points = 2;
  // Signed webhooks on incident events (collector/feeds/webhooks.hpp, docs/api.md "Alerts"): the subscriptions'
  // JSON file ("" = none), the delivery log ("" = "<db>.webhooks.jsonl", or beside the timeline index for a
  // PostgreSQL store), and how often incidents are looked at.
  std::string webhooks_path;
  std::string webhook_log_path;
  uint32_t webhook_interval_seconds = 30;
  // The timeline index's SQLite file: "" = the --db file itself; with PostgreSQL "" = "<log key>.timelines"
  // (each collector keeps its own index of the shared measurements; docs/deployment.md).
  std::string timeline_db;
  // Timelines and incidents from a ClickHouse cluster (clickhouse://HOST:PORT/DB?cluster=NAME&shard=HOST:PORT...,
  // collector/analytics): the store is exported there in the background and the timeline API answers from
  // it; "" = the SQLite index (docs/deployment.md, "ClickHouse").
  std::string analytics;
};

struct ImportOptions {
  std::string db_path;
  std::string file;  // JSON Lines of envelopes
};

// migrate: copies an SQLite store into PostgreSQL, verifying every envelope (docs/deployment.md).
struct MigrateOptions {
  std::string from;  // SQLite file
  std::string to;    // postgresql:// URL
};

// analytics-export: one pass of the ClickHouse exporter (a backfill, or a cron job instead of serve's thread).
struct AnalyticsExportOptions {
  std::string db_path;
  std::string analytics;  // clickhouse:// URL
  uint32_t timeline_bin_minutes = 10;
  size_t batch_rows = 5000;
};

enum class Command { serve, import, migrate, analytics_export, help, version };

struct CommandLine {
  Command command = Command::help;
  ServeOptions serve;
  ImportOptions import;
  MigrateOptions migrate;
  AnalyticsExportOptions analytics_export;
};

CommandLine parse_command_line(int argc, const char* const* argv);
// The usage of every command, in the environment's language (collector/texts.hpp).
const std::string& usage_text();

// "HOST:PORT" or "[IPv6]:PORT". Throws UsageError.
void parse_listen(const std::string& text, std::string* host, uint16_t* port);

}  // namespace kuzet::collector
