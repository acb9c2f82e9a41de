// kuzet-collector: serve the probe API, or import JSON Lines of signed measurements.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <map>
#include <mutex>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>

#include "collector/analytics/exporter.hpp"
#include "collector/analytics/schema.hpp"
#include "collector/analytics/timelines.hpp"
#include "collector/network/asn_db.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/ingest/bundle.hpp"
#include "collector/ingest/upload.hpp"
#include "collector/log/checkpointer.hpp"
#include "collector/log/log_key.hpp"
#include "collector/feeds/webhooks.hpp"
#include "collector/log/routes.hpp"
#include "collector/pages/routes.hpp"
#include "collector/ooni/cli.hpp"
#include "collector/options.hpp"
#include "collector/server.hpp"
#include "collector/store/migrate.hpp"
#include "collector/store/pg_util.hpp"
#include "collector/store/store.hpp"
#include "collector/texts.hpp"
#include "collector/timeline/api/api.hpp"
#include "collector/timeline/index.hpp"
#include "core/version.hpp"
#include "core/log.hpp"
#include "files/line_reader.hpp"

using namespace kuzet::collector;
using namespace kuzet::collector::ingest;

namespace {

// Stop signals are taken by one thread for the process's whole life: during start-up one ends the
// process at once (nothing has been acknowledged yet; SQLite recovers an interrupted migration), later
// ones stop the server cleanly (repeated signals are harmless).
struct StopControl {
  sigset_t signals;
  std::mutex mutex;
  Server* server = nullptr;
  bool serving = false;
};
StopControl& stop_control() {
  static StopControl control;
  return control;
}

void start_signal_waiter() {
  auto& control = stop_control();
  sigemptyset(&control.signals);
  sigaddset(&control.signals, SIGINT);
  sigaddset(&control.signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &control.signals, nullptr);  // inherited by every thread made after this
  std::thread([&control] {
    for (;;) {
      int sig = 0;
      if (sigwait(&control.signals, &sig) != 0) continue;
      std::lock_guard lock(control.mutex);
      if (!control.serving) {
        static const char msg[] = "kuzet-collector: stopping\n";
        (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(0);
      }
      control.server->stop();
    }
  }).detach();
}

int serve(const ServeOptions& options) {
  // Lines from the running collector (checkpoints, timelines, vantage key) carry sd-daemon priorities under
  // journald and a timestamp elsewhere (lib/core/log.hpp), as the probe's daemon does.
  kuzet::core::configure_log("kuzet-collector", kuzet::core::LogLevel::info);
  start_signal_waiter();
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<Store> store;
  std::unique_ptr<log::Checkpointer> checkpointer;
  std::unique_ptr<network::AsnDatabase> asn;
  // Timelines from the SQLite index, or from ClickHouse (--analytics) filled by the exporter.
  std::unique_ptr<kuzet::timeline::TimelineSource> timelines;
  std::unique_ptr<analytics::Exporter> exporter;
  std::unique_ptr<Server> server;
  std::unique_ptr<kuzet::collector::feeds::WebhookNotifier> webhooks;
  uint16_t port = 0;
  try {
    store = open_store(options.db_path);
    // Refuses to start (status 2) when the stored log does not extend the last signed checkpoint.
    const std::string key_path =
        options.log_key_path.empty() ? log::default_log_key_path(options.db_path) : options.log_key_path;
    checkpointer = std::make_unique<log::Checkpointer>(
        *store, log::load_or_create_log_key(key_path, options.log_origin),
        std::chrono::seconds(options.checkpoint_interval_seconds));
    // After the store. The index is a file of its own fed from the store in log order (next to the SQLite
    // database, or the log key with PostgreSQL): its catch-ups then hold up none of the store's commits and
    // can be large (docs/benchmarks.md). `--timeline-db` naming the database itself keeps it in that file.
    const bool postgres = pg::is_url(options.db_path);
    const std::string state_base = postgres ? key_path + ".timelines" : options.db_path;
    const std::string timeline_db = !options.timeline_db.empty() ? options.timeline_db
                                    : postgres                   ? state_base
                                                                 : options.db_path + ".timelines";
    const int64_t bin_ms = int64_t{options.timeline_bin_minutes} * kuzet::timeline::kMinuteMs;
    if (!options.analytics.empty()) {
      const auto url = analytics::clickhouse::parse_clickhouse_url(options.analytics);
      analytics::create_schema(url, bin_ms);
      analytics::ExporterOptions exporter_options;
      // Incidents stored after each pass with the options the API searches with (below).
      exporter_options.incidents->min_vantage_points = static_cast<int>(options.min_vantage_points);
      exporter_options.base_bin_ms = bin_ms;
      exporter = std::make_unique<analytics::Exporter>(*store, url, exporter_options);
      timelines = std::make_unique<analytics::ClickHouseTimelines>(url, bin_ms);
    } else {
      const bool own_file = timeline_db != options.db_path;
      // An index an earlier version kept inside the SQLite database is a stale copy once it has moved out.
      if (own_file && !postgres) kuzet::timeline::TimelineIndex::drop_from(options.db_path);
      timelines = std::make_unique<kuzet::timeline::TimelineIndex>(timeline_db, bin_ms, std::chrono::seconds(1),
                                                                   own_file ? store.get() : nullptr);
    }
    asn = options.asn_db.empty() ? std::make_unique<network::EmptyAsnDatabase>() : network::load_asn_database(options.asn_db);
    server = std::make_unique<Server>(*store, *asn, options);
    kuzet::timeline::api::ApiOptions timeline_options;
    timeline_options.incidents.min_vantage_points = static_cast<int>(options.min_vantage_points);
    timeline_options.network_name = [&asn](uint32_t n) { return asn->as_name(n); };
    server->add_list_format(kuzet::ooni::jsonl_list_format());
    server->set_measurement_page(kuzet::collector::pages::measurement_page_handler(*store, *checkpointer));
    kuzet::timeline::api::register_timeline_routes(server->http_server(), *timelines, timeline_options);
    log::register_log_routes(server->http_server(), *store, *checkpointer);
    if (!options.webhooks_path.empty()) {
      // Subscriptions from the config; the delivery log next to the timeline index by default.
      std::ifstream in(options.webhooks_path, std::ios::binary);
      if (!in) throw std::runtime_error(say("error.cannot_read", {{"path", options.webhooks_path}}));
      std::ostringstream text;
      text << in.rdbuf();
      kuzet::collector::feeds::WebhookOptions webhook_options;
      webhook_options.poll_ms = int64_t{options.webhook_interval_seconds} * 1000;
      webhooks = std::make_unique<kuzet::collector::feeds::WebhookNotifier>(
          kuzet::collector::feeds::parse_subscriptions(text.str()),
          [&timelines, timeline_options](const kuzet::collector::feeds::Subscription& s) {
            return kuzet::timeline::api::recent_incidents(*timelines, timeline_options, s.cc, s.asn, s.target);
          },
          // Where it always was, so that a moved index does not make the deliveries start again.
          options.webhook_log_path.empty()
              ? (options.timeline_db.empty() ? state_base : options.timeline_db) + ".webhooks.jsonl"
              : options.webhook_log_path,
          webhook_options);
    }
    port = server->bind();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n", e.what());
    return 2;
  }
  {
    std::lock_guard lock(stop_control().mutex);
    stop_control().server = server.get();
    stop_control().serving = true;
  }
  std::printf("kuzet-collector listening on %s:%u (db %s, schema v%d)\n", options.listen_host.c_str(), port,
              pg::redacted(options.db_path).c_str(), store->schema_version());
  std::printf("transparency log %s (key %s)\n", checkpointer->verifier().name.c_str(),
              kuzet::tlog::verifier_key_text(checkpointer->verifier()).c_str());
  std::fflush(stdout);
  checkpointer->start();
  if (exporter) exporter->start();
  if (webhooks) webhooks->start();
  server->run();
  if (webhooks) webhooks->stop();
  if (exporter) exporter->stop();
  {
    // The waiter must not touch the server once it is gone; a late signal then just ends the process.
    std::lock_guard lock(stop_control().mutex);
    stop_control().serving = false;
    stop_control().server = nullptr;
  }
  return 0;
}

// One exporter pass: everything the store logged that ClickHouse does not have yet.
int analytics_export(const AnalyticsExportOptions& options) {
  try {
    auto store = open_store(options.db_path);
    const auto url = analytics::clickhouse::parse_clickhouse_url(options.analytics);
    analytics::create_schema(url, int64_t{options.timeline_bin_minutes} * kuzet::timeline::kMinuteMs);
    analytics::ExporterOptions exporter_options;
    exporter_options.batch_rows = options.batch_rows;
    exporter_options.base_bin_ms = int64_t{options.timeline_bin_minutes} * kuzet::timeline::kMinuteMs;
    analytics::Exporter exporter(*store, url, exporter_options);
    const uint64_t sent = exporter.export_pending();
    std::printf("%s\n", say("analytics_export.summary", {{"sent", std::to_string(sent)},
                                                        {"index", std::to_string(exporter.watermark())}})
                            .c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n", e.what());
    return 2;
  }
}

int import(const ImportOptions& options) {
  // No line of a bundle is longer than an upload's envelope may be; a longer one is refused unread.
  kuzet::files::LineReader in(options.file, kEnvelopeLimits.max_bytes);
  if (!in.is_open()) {
    std::fprintf(stderr, "kuzet-collector: %s\n", say("error.cannot_read", {{"path", options.file}}).c_str());
    return 2;
  }
  std::unique_ptr<Store> store;
  try {
    store = open_store(options.db_path);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n", e.what());
    return 2;
  }
  Metrics metrics;
  Ingestor ingestor(*store, metrics, IngestOptions{});
  std::map<std::string, size_t> reasons;
  size_t stored = 0, duplicate = 0, rejected = 0, keys = 0;
  std::vector<std::string> lines;
  size_t line_bytes = 0;
  auto flush = [&] {
    std::vector<std::string_view> views(lines.begin(), lines.end());
    auto outcome = ingestor.ingest_envelopes(views);
    for (const auto& item : outcome.items) {
      if (item.status == ItemStatus::stored) ++stored;
      else if (item.status == ItemStatus::duplicate) ++duplicate;
      else {
        ++rejected;
        ++reasons[item.reason];
      }
    }
    lines.clear();
    line_bytes = 0;
  };
  std::string line;
  try {
    for (auto read = in.next(line); read != kuzet::files::LineReader::Line::end; read = in.next(line)) {
      if (read == kuzet::files::LineReader::Line::too_long) {
        ++rejected;
        ++reasons[std::string(reason::too_large)];
        continue;
      }
      // A bundle from `kuzet-probe export` starts with the probe's key statements: checked like a
      // registration, so a collector that never saw the probe can verify the envelopes after them.
      auto classified = classify_bundle_line(line);
      if (classified.kind == BundleLine::Kind::blank) continue;
      if (classified.kind == BundleLine::Kind::key_statement) {
        if (!classified.refusal.empty()) {
          ++rejected;
          ++reasons["key_" + classified.refusal];
        } else {
          ++keys;
          store->register_key(classified.key);
        }
        continue;
      }
      lines.push_back(line);
      line_bytes += line.size();
      // A transaction holds 500 lines, or fewer when they are large: memory stays near what one upload may use.
      if (lines.size() == 500 || line_bytes >= kEnvelopeLimits.max_bytes) flush();
    }
    if (!lines.empty()) flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n", say("error.storage_failure", {{"error", e.what()}}).c_str());
    return 1;
  }
  if (keys > 0) std::printf("%s\n", say("import.keys", {{"keys", std::to_string(keys)}}).c_str());
  std::printf("%s\n", say("import.summary", {{"stored", std::to_string(stored)},
                                             {"duplicate", std::to_string(duplicate)},
                                             {"rejected", std::to_string(rejected)}})
                          .c_str());
  for (const auto& [reason, count] : reasons)
    std::printf("%s\n", say("import.rejected", {{"reason", reason}, {"count", std::to_string(count)}}).c_str());
  return rejected == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  // OONI interoperability commands parse their own options (collector/ooni/cli.cpp).
  if (argc >= 2 && std::string(argv[1]) == "export") return kuzet::ooni::export_command(argc - 1, argv + 1);
  if (argc >= 2 && std::string(argv[1]) == "import-ooni") return kuzet::ooni::import_ooni_command(argc - 1, argv + 1);
  CommandLine cl;
  try {
    cl = parse_command_line(argc, argv);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n%s", e.what(), usage_text().c_str());
    return 2;
  }
  switch (cl.command) {
    case Command::serve: return serve(cl.serve);
    case Command::import: return import(cl.import);
    case Command::migrate: return migrate_command(cl.migrate);
    case Command::analytics_export: return analytics_export(cl.analytics_export);
    case Command::help: std::printf("%s", usage_text().c_str()); return 0;
    case Command::version: std::printf("kuzet-collector %s\n", kuzet::core::kVersion); return 0;
  }
  return 2;
}
