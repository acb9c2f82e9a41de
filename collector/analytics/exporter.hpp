#pragma once
// The exporter: copies the store's measurements into ClickHouse, batch by batch in log order (the order
// rows were committed, on SQLite and PostgreSQL alike: Store::in_log_order), and after each batch records
// how far it got (export_progress, on the query server). Restartable and exactly-once by uid: a crash
// between a batch and its record sends that batch again, and the tables absorb it (measurements_local
// replaces by its key, which includes the uid; the aggregates keep each probe's latest by (started_at, uid),
// which a second copy does not change). Several exporters (collector processes sharing PostgreSQL) may
// run at once for the same reason.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/analytics/materializer.hpp"
#include "collector/store/store.hpp"

namespace kuzet::collector::analytics {

// One JSON object per line for INSERT ... FORMAT JSONEachRow into measurements (pure). A row's vantage is
// the tag it supports (vantage::supporting_tag: "" when its source contradicted the claimed network or it
// started well before its key was registered), as the SQLite index keeps it; key_first_seen gives a key's
// registration time (nullopt: unknown key).
std::string export_rows(const std::vector<NewMeasurement>& rows,
                        const std::function<std::optional<int64_t>(const std::string& key_id)>& key_first_seen);

struct ExporterOptions {
  size_t batch_rows = 5000;
  std::chrono::milliseconds interval{1000};  // the background thread's pause between passes
  // After each pass, the incidents of the series it touched are found and stored (materializer.hpp) with these
  // options (those serve --analytics searches with); nullopt: none are, every search reads the series.
  std::optional<timeline::IncidentOptions> incidents = timeline::IncidentOptions{};
  int64_t base_bin_ms = timeline::kDefaultBinMs;
  // The least time between counts of the days passes touched (each a read of a day's per-probe states: ~6 s at a
  // million measurements a day on 2 cores); meanwhile timelines read those days from the states.
  std::chrono::milliseconds day_counts_every{300000};
};

class Exporter {
 public:
  Exporter(Store& store, const clickhouse::ClickHouseUrl& url, ExporterOptions options = {},
           const clickhouse::ClientLimits& limits = {});
  ~Exporter();
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  // The next log index to export, as recorded in ClickHouse. Throws std::runtime_error.
  uint64_t watermark();
  // Exports everything the store logged since the watermark; returns how many rows it sent. Then brings the
  // stored incidents to the new watermark (the series it touched; every series when they were behind before), and
  // counts the days touched since the last count, at most every day_counts_every (on its first pass every day not
  // counted).
  // Throws std::runtime_error (ClickHouse or the store failing): what was recorded stays, the rest is sent
  // later; stored incidents left behind do not answer until a pass brings them up.
  uint64_t export_pending();

  // A background thread running export_pending every interval (failures logged and retried).
  void start();
  void stop();

 private:
  Store& store_;
  ExporterOptions options_;
  clickhouse::Client client_;
  std::optional<IncidentMaterializer> materializer_;
  std::mutex export_mutex_;  // one pass at a time
  std::unordered_map<std::string, std::optional<int64_t>> key_first_seen_;
  bool days_counted_ = false;        // every day was counted once by this exporter
  std::set<int64_t> days_pending_;  // days exported since the last count that went through
  std::chrono::steady_clock::time_point last_day_count_{};

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kuzet::collector::analytics
