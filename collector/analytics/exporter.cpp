#include "collector/analytics/exporter.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <stdexcept>

#include "collector/analytics/schema.hpp"
#include "collector/vantage/vantage.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace kuzet::collector::analytics {

std::string export_rows(const std::vector<NewMeasurement>& rows,
                        const std::function<std::optional<int64_t>(const std::string& key_id)>& key_first_seen) {
  std::string out;
  for (const auto& r : rows) {
    nlohmann::json j = {
        {"uid", r.uid},
        {"source", r.source},
        {"key_id", r.key_id},
        {"started_at", r.started_at_ms},
        {"day", clickhouse::date_of(r.started_at_ms)},
        {"cc", r.cc},
        {"asn", r.asn},
        {"target", r.target},
        {"category", r.category},
        {"verdict", r.verdict},
        {"method", r.method},
        {"vantage", vantage::supporting_tag(r.vantage, r.network_check, r.started_at_ms, key_first_seen(r.key_id))},
        {"decisive", r.decisive ? 1 : 0},
    };
    // Names from uploads are UTF-8 (checked at upload); anything else is replaced rather than failing the batch.
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

Exporter::Exporter(Store& store, const clickhouse::ClickHouseUrl& url, ExporterOptions options,
                   const clickhouse::ClientLimits& limits)
    : store_(store), options_(options), client_(url.query, url.database, limits) {
  if (options_.batch_rows == 0) throw std::invalid_argument("the exporter's batch must hold at least one row");
  if (options_.incidents) materializer_.emplace(url, options_.base_bin_ms, *options_.incidents, limits);
}

Exporter::~Exporter() { stop(); }

uint64_t Exporter::watermark() {
  const auto rows = client_.select(std::string("SELECT max(next_log_index) FROM ") + kExportProgress);
  if (rows.size() != 1 || !rows[0][0].is_number_unsigned()) throw std::runtime_error("ClickHouse reply: no watermark");
  return rows[0][0].get<uint64_t>();
}

uint64_t Exporter::export_pending() {
  std::lock_guard lock(export_mutex_);
  uint64_t next = watermark(), sent = 0;
  auto first_seen = [this](const std::string& key_id) -> std::optional<int64_t> {
    auto it = key_first_seen_.find(key_id);
    if (it != key_first_seen_.end()) return it->second;
    auto key = store_.find_key(key_id);
    std::optional<int64_t> when = key ? std::optional<int64_t>(key->first_seen_ms) : std::nullopt;
    if (key) key_first_seen_.emplace(key_id, when);  // keys never change once registered; unknown ones may come
    return when;
  };
  const uint64_t first = next;
  std::set<timeline::SeriesKey> touched;
  for (;;) {
    const auto rows = store_.in_log_order(next, options_.batch_rows, false);
    if (rows.empty()) break;
    // The batch's days are marked before its rows go: their stored day counts stop answering before the data
    // they do not count is there (a crash in between only sends readers to the states until the next count).
    std::vector<int64_t> starts;
    for (const auto& r : rows) starts.push_back(r.started_at_ms);
    const auto days = days_of(starts);
    client_.execute(day_marks_insert_sql(days, DayMark::exported, next + rows.size(), next + rows.size()));
    if (materializer_) days_pending_.insert(days.begin(), days.end());
    client_.insert_json_rows(kMeasurements, export_rows(rows, first_seen));
    next += rows.size();
    sent += rows.size();
    client_.execute(std::string("INSERT INTO ") + kExportProgress + " VALUES (" + std::to_string(next) + ", now())");
    if (materializer_)
      for (const auto& r : rows) {
        touched.insert({r.cc, r.asn, r.target});
        touched.insert({r.cc, r.asn, std::string(timeline::kNetworkTarget)});
      }
    if (rows.size() < options_.batch_rows) break;
  }
  // Also with nothing sent when the stored incidents are behind (an upgrade, a failed pass): then all of them.
  if (materializer_ && (sent > 0 || materializer_->stored_watermark() != next))
    materializer_->materialize(sent > 0 ? std::optional(std::move(touched)) : std::nullopt, first, next);
  const auto now = std::chrono::steady_clock::now();
  if (materializer_ && (!days_counted_ || (!days_pending_.empty() && now - last_day_count_ >= options_.day_counts_every))) {
    // The days touched since the last count that went through; on this exporter's first pass (an upgrade, a
    // crash before) every day not counted.
    last_day_count_ = now;
    materializer_->count_days(days_counted_ ? std::optional(days_pending_) : std::nullopt, next);
    days_counted_ = true;
    days_pending_.clear();
  }
  return sent;
}

void Exporter::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    core::name_this_thread("export");
    for (;;) {
      try {
        export_pending();
      } catch (const std::exception& e) {  // ClickHouse down for a while: the next pass goes on from the watermark
        core::log_at(core::LogLevel::warning, "analytics export: %s (retrying)", e.what());
      }
      std::unique_lock lock(stop_mutex_);
      if (stop_cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) return;
    }
  });
}

void Exporter::stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kuzet::collector::analytics
