#include "probe/daemon/daemon.hpp"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <map>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

#include "core/log.hpp"
#include "core/crypto/signing.hpp"
#include "core/time.hpp"
#include "core/vocabulary/verdict.hpp"
#include "probe/uplink/collector_client.hpp"
#include "probe/uplink/collector_link.hpp"
#include "probe/config.hpp"
#include "probe/history/history.hpp"
#include "probe/identity/identity.hpp"
#include "probe/identity/network_memory.hpp"
#include "probe/page/status_page.hpp"
#include "probe/memory/memory.hpp"
#include "probe/daemon/queue.hpp"
#include "probe/run_setup.hpp"
#include "probe/daemon/status.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/consent.hpp"
#include "probe/ui/texts.hpp"
#include "probe/witness/collector_log_api.hpp"
#include "probe/witness/witness.hpp"
#include "spec/spec.hpp"

namespace kuzet::probe::daemon {

namespace {

using Clock = std::chrono::steady_clock;

using core::LogLevel;
using core::log_at;

std::string wall_time_of(Clock::time_point t) {
  const auto delta = t - Clock::now();
  return core::format_rfc3339(std::chrono::system_clock::now() +
                              std::chrono::duration_cast<std::chrono::system_clock::duration>(delta));
}

// Loads and checks everything a run needs, so a broken file is reported at startup or on SIGHUP, not
// at the next run. Throws ConfigError / spec::SpecError / std::invalid_argument.
ProbeConfig load_checked(const std::string& path) {
  ProbeConfig config = load_probe_config(path);
  auto options = run_options_from(config);
  if (options.targets.empty()) throw ConfigError(path + ": no targets: list spec files under 'specs:'");
  return config;
}

class Daemon {
 public:
  Daemon(const DaemonOptions& options, ProbeConfig config, const sigset_t& signals)
      : options_(options),
        config_(std::move(config)),
        signals_(signals),
        identity_(identity::Identity::load_or_create(config_.data_dir)),
        queue_(QueueOptions{config_.data_dir + "/queue", config_.limits.queue_max_bytes}),
        random_(std::random_device{}()) {
    status_.pid = ::getpid();
    status_.running = true;
    status_.started_at = core::now_rfc3339();
    status_.config = options_.config_path;
    // Keep what an earlier daemon knew (networks, last upload), so status survives restarts.
    std::string ignored;
    if (auto old = read_status(config_.data_dir, &ignored)) {
      status_.networks = old->networks;
      status_.last_upload = old->last_upload;
      status_.uploads = old->uploads;
      status_.clock_offset_s = old->clock_offset_s;
      status_.last_upload_ok_at = old->last_upload_ok_at;
      status_.last_run = old->last_run;
      status_.mode = old->mode;
    }
  }

  int loop() {
    // Capture first: opening it drops CAP_NET_RAW, which must happen before any other thread exists.
    if (config_.capture) capture_ = open_capture(config_);
    // The local status page, in its own threads (signals stay blocked there: the mask is inherited).
    if (config_.status_page != "off") {
      page_ = std::make_unique<page::StatusPage>(config_);
      if (auto e = page_->start(); !e.empty()) {
        log_at(LogLevel::warning, "status page: %s (the daemon runs without it)", e.c_str());
        page_.reset();
      } else {
        const auto colon = config_.status_page.rfind(':');
        log_at(LogLevel::notice, "status page on http://%s:%u/", config_.status_page.substr(0, colon).c_str(),
               static_cast<unsigned>(page_->port()));
      }
    }
    const auto start = Clock::now();
    next_run_ = start + jitter();
    next_upload_ = start;
    log_at(LogLevel::notice, "started: %zu collector(s), every %llds (+ up to %llds), queue %s (%llu results waiting)",
        config_.collectors.size(), static_cast<long long>(config_.schedule.interval_s),
        static_cast<long long>(config_.schedule.jitter_s), queue_.options().dir.c_str(),
        static_cast<unsigned long long>(queue_.stats().records));
    for (;;) {
      if (handle_signals(std::chrono::milliseconds(0))) break;
      const auto now = Clock::now();
      if (now >= next_run_) {
        measure_once();
        const int64_t pace = status_.mode == "shutdown" ? config_.schedule.shutdown_interval_s
                                                        : config_.schedule.interval_s;
        next_run_ = Clock::now() + std::chrono::seconds(pace) + jitter();
      }
      if (queue_.stats().records > 0 && Clock::now() >= next_upload_ && !config_.collectors.empty()) upload();
      write_state();
      if (options_.max_runs > 0 && status_.runs >= options_.max_runs) break;
      // Between runs the daemon idles for minutes to hours: give back to the system what the run's threads
      // freed (glibc keeps freed memory of every thread's arena otherwise; docs/benchmarks.md, issue 17).
      ::malloc_trim(0);
      // And the code and constants of the libraries, read back from the page cache at the next run
      // (probe/memory/memory.hpp).
      const size_t released_kb = memory::release_clean_file_pages();
      log_at(LogLevel::debug, "between runs: released %zu KiB of clean file pages", released_kb);
      auto wake = next_run_;
      if (queue_.stats().records > 0 && !config_.collectors.empty()) wake = std::min(wake, next_upload_);
      const auto wait = std::max(Clock::duration::zero(), wake - Clock::now());
      if (handle_signals(std::chrono::duration_cast<std::chrono::milliseconds>(wait) + std::chrono::milliseconds(1)))
        break;
    }
    status_.running = false;
    write_state();
    log_at(LogLevel::notice, "stopped: %llu results waiting in the queue", static_cast<unsigned long long>(queue_.stats().records));
    return consent_withdrawn_ ? ui::kExitNoConsent : 0;
  }

 private:
  std::chrono::milliseconds jitter() {
    std::uniform_int_distribution<int64_t> d(0, config_.schedule.jitter_s * 1000);
    return std::chrono::milliseconds(d(random_));
  }

  // Waits up to `timeout` for a signal. True when the daemon should stop.
  bool handle_signals(std::chrono::milliseconds timeout) {
    timespec ts{static_cast<time_t>(timeout.count() / 1000), static_cast<long>(timeout.count() % 1000) * 1000000};
    for (;;) {
      const int sig = ::sigtimedwait(&signals_, nullptr, &ts);
      if (sig < 0) return false;  // timeout or EINTR
      if (sig == SIGHUP) {
        reload();
        if (consent_withdrawn_) return true;
        ts = {0, 0};  // the schedule may have changed: recompute the wait
        continue;
      }
      log_at(LogLevel::notice, "signal %d: stopping", sig);
      return true;
    }
  }

  bool stop_requested() {
    sigset_t pending;
    ::sigpending(&pending);
    return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1;
  }

  void reload() {
    try {
      ProbeConfig fresh = load_checked(options_.config_path);
      if (!fresh.consent.given()) {  // withdrawn: measuring must stop, not go on with the old config
        log_at(LogLevel::error, "reload: %s has no recorded consent any more: stopping (kuzet-probe setup records it)",
               options_.config_path.c_str());
        consent_withdrawn_ = true;
        return;
      }
      if (fresh.data_dir != config_.data_dir || fresh.limits.queue_max_bytes != config_.limits.queue_max_bytes)
        log_at(LogLevel::warning, "reload: data_dir and queue_max_bytes take effect at the next restart");
      fresh.data_dir = config_.data_dir;
      fresh.limits.queue_max_bytes = config_.limits.queue_max_bytes;
      const bool pace_changed = fresh.schedule.interval_s != config_.schedule.interval_s ||
                                fresh.schedule.shutdown_interval_s != config_.schedule.shutdown_interval_s;
      config_ = std::move(fresh);
      registered_.clear();
      if (pace_changed) next_run_ = std::min(next_run_, Clock::now() + std::chrono::seconds(config_.schedule.interval_s));
      log_at(LogLevel::notice, "reloaded %s", options_.config_path.c_str());
    } catch (const std::exception& e) {
      log_at(LogLevel::error, "reload failed, keeping the previous configuration: %s", e.what());
    }
  }

  uplink::CollectorClientOptions client_options() const { return collector_client_options(config_); }

  void measure_once() {
    RunOptions options;
    try {
      options = run_options_from(config_);
    } catch (const std::exception& e) {  // a spec file changed under us: keep the daemon alive, say why
      log_at(LogLevel::error, "run skipped: %s", e.what());
      return;
    }
    options.capture = capture_;
    if (!config_.collectors.empty())
      options.collector = std::make_shared<uplink::HttpCollectorLink>(uplink::CollectorClient(config_.collectors.front(), client_options()),
                                                              identity_, options.network_override,
                                                              /*ask_whoami=*/config_.upload.proxy.empty());
    if (options.collector && config_.upload.proxy.empty())
      options.last_known_network = identity::load_last_network(config_.data_dir);
    RunResult result = run_probe(options);
    if (result.network.source == "collector") {
      if (auto error = identity::save_last_network(config_.data_dir, result.network); !error.empty())
        log_at(LogLevel::warning, "cannot remember the network: %s", error.c_str());
    }

    // Into the queue before anything else: this is what makes the run's results survive anything after.
    std::vector<std::string> payloads;
    payloads.reserve(result.records.size());
    RunSummary summary;
    summary.run_id = result.run_id;
    summary.started_at = result.started_at;
    summary.targets = result.records.size();
    summary.cc = result.network.cc;
    summary.asn = result.network.asn;
    summary.collector_reachable = result.collector_reachable;
    summary.collector_configured = !config_.collectors.empty();
    for (const auto& envelope : uplink::sign_records(result.records, identity_))
      payloads.push_back(envelope.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    for (const auto& record : result.records) ++summary.verdicts[record.verdict.verdict];
    const auto appended = queue_.append(payloads);
    summary.queued = appended.appended;
    summary.refused_full = appended.refused_full;
    summary.finished_at = core::now_rfc3339();
    if (!appended.error.empty()) log_at(LogLevel::error, "queue write failed: %s", appended.error.c_str());
    if (appended.refused_full > 0)
      log_at(LogLevel::warning, "queue full: %zu results of run %s refused (older evidence kept)", appended.refused_full,
          result.run_id.c_str());
    // The local history keeps what was found after the queue forgets it (kuzet-probe results).
    if (auto e = history::append(config_.data_dir, history::entries_of(result), history::Limits{}, core::now_rfc3339());
        !e.empty())
      log_at(LogLevel::warning, "local history not written: %s", e.c_str());
    summary.all_offline = !result.records.empty() && summary.verdicts[std::string(core::verdict::offline)] == result.records.size();
    const std::string mode = summary.all_offline ? "shutdown" : "normal";
    if (mode != status_.mode)
      log_at(LogLevel::warning, mode == "shutdown" ? "every target offline: shutdown suspected, measuring every %llds"
                             : "connectivity is back: measuring every %llds",
          static_cast<long long>(mode == "shutdown" ? config_.schedule.shutdown_interval_s
                                                    : config_.schedule.interval_s));
    {
      std::string counts;
      for (const auto& [v, n] : summary.verdicts) counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " + v;
      log_at(LogLevel::info, "run %s: %llu targets (%s), %llu queued", summary.run_id.c_str(),
             static_cast<unsigned long long>(summary.targets), counts.c_str(), static_cast<unsigned long long>(summary.queued));
    }
    status_.mode = mode;
    status_.last_run = summary;
    ++status_.runs;
    note_network(result.network.cc, result.network.asn);
    // A run that reached the collector is the best sign the link is back: upload now, whatever the backoff.
    if (result.collector_reachable) {
      next_upload_ = Clock::now();
    }
  }

  void note_network(const std::string& cc, uint32_t asn) {
    const std::string id = core::key_id(identity_.for_network(cc, asn).public_key);
    for (auto& n : status_.networks) {
      if (n.cc == cc && n.asn == asn) {
        n.last_seen = core::now_rfc3339();
        n.key_id = id;
        return;
      }
    }
    status_.networks.push_back(NetworkKey{cc, asn, id, core::now_rfc3339()});
  }

  // Uploads batch after batch until the queue is empty, a collector fails, or a stop is requested.
  void upload() {
    for (size_t c = 0; c < config_.collectors.size(); ++c) {
      const std::string& url = config_.collectors[(preferred_ + c) % config_.collectors.size()];
      // A collector caught forking or rewinding its log gets nothing more: its receipts mean nothing.
      if (!witness_trusts(url)) continue;
      const UploadEnd end = upload_to(url);
      if (end == UploadEnd::stopped) return;  // neither a success nor a failure: the counters stay as they are
      if (end == UploadEnd::emptied) {
        preferred_ = (preferred_ + c) % config_.collectors.size();
        status_.upload_failures_in_row = 0;
        status_.next_upload_at.clear();
        return;
      }
      if (stop_requested()) return;
    }
    // Every collector failed: exponential backoff with jitter, capped.
    ++status_.upload_failures_in_row;
    const double exp = std::min<double>(status_.upload_failures_in_row - 1, 30);
    const double ceiling = std::min(options_.retry_max_s, options_.retry_initial_s * std::pow(2.0, exp));
    std::uniform_real_distribution<double> d(0.5, 1.0);
    next_upload_ = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(ceiling * d(random_) * 1000));
    status_.next_upload_at = wall_time_of(next_upload_);
  }

  // Checks the collector's latest checkpoint against the one we verified before (probe/witness). An
  // unreachable log API is not a reason to stop uploading; a proven conflict is.
  bool witness_trusts(const std::string& url) {
    std::string error;
    auto state = witness::load_state(config_.data_dir, url, &error);
    if (!state) {
      log_at(LogLevel::warning, "witness state of %s unreadable: %s", url.c_str(), error.c_str());
      return true;
    }
    const bool was_trusted = state->trusted();
    uplink::CollectorClient client(url, client_options());
    witness::CollectorLogApi api(client);
    witness::observe(*state, api, core::now_rfc3339());
    if (auto e = witness::save_state(config_.data_dir, *state); !e.empty()) log_at(LogLevel::warning, "witness: %s", e.c_str());
    if (was_trusted && !state->trusted())
      log_at(LogLevel::error, "collector %s %s its transparency log (%s): both signed checkpoints kept in %s; no more uploads to it",
          url.c_str(), state->conflict == "rewind" ? "rewound" : "forked", state->conflict_detail.c_str(),
          witness::state_path(config_.data_dir, url).c_str());
    return state->trusted();
  }

  // How one collector's upload ended. A stop between batches is not a success: counting it as one reset
  // the failure count of a collector that was down (seen in test_daemon_loopback under load).
  enum class UploadEnd { emptied, stopped, failed };
  UploadEnd upload_to(const std::string& url) {
    uplink::CollectorClient client(url, client_options());
    auto& known = registered_[url];
    const size_t batch = static_cast<size_t>(std::max(1, config_.upload.batch_size));
    for (;;) {
      if (stop_requested()) return UploadEnd::stopped;
      auto entries = queue_.peek(batch, 8u << 20);
      if (entries.empty()) return UploadEnd::emptied;
      UploadAttempt attempt;
      attempt.at = core::now_rfc3339();
      attempt.collector = url;
      attempt.sent = entries.size();
      std::vector<nlohmann::json> envelopes;
      envelopes.reserve(entries.size());
      for (const auto& e : entries) {
        auto parsed = nlohmann::json::parse(e.payload, nullptr, false);
        // Sent anyway when broken: the collector judges it "malformed" and it is kept in rejected/.
        envelopes.push_back(parsed.is_discarded() ? nlohmann::json(e.payload) : std::move(parsed));
        const nlohmann::json& env = envelopes.back();
        if (!env.is_object() || !env.contains("measurement") || !env["measurement"].is_object()) continue;
        const auto& m = env["measurement"];
        const nlohmann::json net = m.contains("network") && m["network"].is_object() ? m["network"] : nlohmann::json::object();
        const std::string cc = net.contains("cc") && net["cc"].is_string() ? net["cc"].get<std::string>() : "";
        const uint32_t asn = net.contains("asn") && net["asn"].is_number_unsigned() ? net["asn"].get<uint32_t>() : 0u;
        const auto key = identity_.for_network(cc, asn);
        const std::string id = core::key_id(key.public_key);
        if (known.count(id)) continue;
        auto reg = client.register_key(key);
        if (!reg.ok) {
          attempt.failure = reg.failure.empty() ? "upload.register_" + reg.error : reg.failure;
          return fail(attempt);
        }
        known.insert(id);
      }
      auto result = client.upload(envelopes);
      if (result.clock_offset_s) status_.clock_offset_s = result.clock_offset_s;
      // Items are judged in order; the judged prefix is acknowledged, the rest stays queued.
      size_t judged = 0;
      for (; judged < result.items.size(); ++judged) {
        const auto& item = result.items[judged];
        if (item.log_index) {
          const auto index = static_cast<int64_t>(std::min<uint64_t>(*item.log_index, INT64_MAX));
          if (attempt.first_log_index < 0 || index < attempt.first_log_index) attempt.first_log_index = index;
          attempt.last_log_index = std::max(attempt.last_log_index, index);
        }
        if (item.status == "stored") ++attempt.stored;
        else if (item.status == "duplicate") ++attempt.duplicate;
        else if (item.status == "rejected" && item.reason == "unknown_key") {
          known.clear();  // the collector forgot our key (new database?): register again, then resend
          if (attempt.failure.empty()) attempt.failure = "upload.unknown_key";
          break;
        } else if (item.status == "rejected") {
          if (auto e = keep_rejected(config_.data_dir + "/rejected", entries[judged].payload, item.reason); !e.empty()) {
            log_at(LogLevel::error, "cannot set a rejected result aside, keeping it queued: %s", e.c_str());
            attempt.failure = "queue.rejected_write";
            break;
          }
          ++attempt.rejected;
          log_at(LogLevel::warning, "collector %s rejected %s: %s (kept in %s/rejected/)", url.c_str(), item.measurement_uid.c_str(),
              item.reason.c_str(), config_.data_dir.c_str());
        } else break;  // "failed": not judged
      }
      if (judged > 0) {
        if (auto e = queue_.acknowledge(entries[judged - 1]); !e.empty()) log_at(LogLevel::error, "saving the queue cursor failed: %s", e.c_str());
      }
      if (judged < entries.size()) {
        if (attempt.failure.empty()) attempt.failure = result.failure.empty() ? "upload.incomplete" : result.failure;
        return fail(attempt);
      }
      record_upload(attempt);
      status_.last_upload_ok_at = attempt.at;
      write_state();
    }
  }

  // The last attempt, and the latest few with their receipts for the status page.
  void record_upload(const UploadAttempt& attempt) {
    status_.last_upload = attempt;
    status_.uploads.push_back(attempt);
    if (status_.uploads.size() > kMaxUploadsKept)
      status_.uploads.erase(status_.uploads.begin(),
                            status_.uploads.begin() + static_cast<long>(status_.uploads.size() - kMaxUploadsKept));
  }

  UploadEnd fail(const UploadAttempt& attempt) {
    record_upload(attempt);
    if (status_.upload_failures_in_row == 0)
      log_at(LogLevel::warning, "upload to %s failed: %s; results stay queued", attempt.collector.c_str(), attempt.failure.c_str());
    return UploadEnd::failed;
  }

  void write_state() {
    const auto q = queue_.stats();
    status_.queue.records = q.records;
    status_.queue.bytes = q.bytes;
    status_.queue.max_bytes = queue_.options().max_bytes;
    status_.queue.segments = q.segments;
    status_.queue.corrupt_lines = q.corrupt_lines;
    status_.queue.refused_full = q.refused_full;
    status_.queue.full_since = q.full_since;
    status_.updated_at = core::now_rfc3339();
    status_.next_run_at = wall_time_of(next_run_);
    if (q.records == 0) status_.next_upload_at.clear();
    if (auto e = write_status(config_.data_dir, status_); !e.empty() && !status_write_failed_) {
      log_at(LogLevel::error, "cannot write status: %s", e.c_str());
      status_write_failed_ = true;
    }
  }

  DaemonOptions options_;
  ProbeConfig config_;
  sigset_t signals_;
  identity::Identity identity_;
  DiskQueue queue_;
  std::mt19937_64 random_;
  DaemonStatus status_;
  Clock::time_point next_run_, next_upload_;
  size_t preferred_ = 0;
  std::map<std::string, std::set<std::string>> registered_;  // collector -> key ids registered there
  bool status_write_failed_ = false;
  bool consent_withdrawn_ = false;
  std::unique_ptr<page::StatusPage> page_;
  std::shared_ptr<capture::Recorder> capture_;  // opened once (config capture: true); null = off  // reads status.json and the history from disk: no shared state
};

}  // namespace

int run_daemon(const DaemonOptions& options) {
  // Signals are taken synchronously by the main loop; every thread the runs start inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  core::configure_log("kuzet-probe", options.log_level);
  std::optional<Daemon> daemon;
  try {
    ProbeConfig config = load_checked(options.config_path);
    if (int refused = ui::require_consent("daemon", config.consent, false, options.config_path); refused >= 0)
      return refused;
    if (!config.consent.given()) config = load_checked(options.config_path);  // just recorded on the terminal
    daemon.emplace(options, std::move(config), signals);
  } catch (const std::exception& e) {
    log_at(LogLevel::error, "%s", e.what());
    return ui::kExitUsage;
  }
  return daemon->loop();
}

int daemon_command(int argc, char** argv) {
  DaemonOptions options;
  options.config_path = kDefaultConfigPath;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto* info = ui::find_command("daemon");
    if (std::find(info->options.begin(), info->options.end(), arg) == info->options.end())
      throw ui::UsageError(ui::unknown_option_message("daemon", arg));
    if (i + 1 >= argc) throw ui::UsageError(ui::say("error.needs_value", {{"command", "daemon"}, {"option", arg}}));
    const std::string value = argv[++i];
    try {
      if (arg == "--config") options.config_path = value;
      else if (arg == "--retry-initial") options.retry_initial_s = parse_duration_ms(value) / 1000.0;
      else if (arg == "--retry-max") options.retry_max_s = parse_duration_ms(value) / 1000.0;
      else if (arg == "--runs") options.max_runs = std::stoull(value);
      else if (arg == "--log-level") {
        auto level = core::parse_log_level(value);
        if (!level) throw std::invalid_argument("'" + value + "' is not one of " + std::string(core::kLogLevelNames));
        options.log_level = *level;
      }
    } catch (const std::exception& e) {
      throw ui::UsageError("daemon: " + arg + ": " + e.what());
    }
  }
  if (options.retry_initial_s <= 0 || options.retry_max_s < options.retry_initial_s)
    throw ui::UsageError(ui::say("error.daemon_retry"));
  return run_daemon(options);
}

}  // namespace kuzet::probe::daemon
