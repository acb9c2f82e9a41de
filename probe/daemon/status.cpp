#include "probe/daemon/status.hpp"
#include "files/files.hpp"
#include "probe/witness/witness.hpp"
#include "tlog/note.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/encoding/json_struct.hpp"
#include "probe/config.hpp"
#include "probe/daemon/queue.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/texts.hpp"

namespace kuzet::probe::daemon {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RunSummary, run_id, started_at, finished_at, targets, queued,
                                                refused_full, verdicts, cc, asn, collector_reachable, collector_configured,
                                                all_offline)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(UploadAttempt, at, collector, sent, stored, duplicate, rejected,
                                                failure, first_log_index, last_log_index)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(QueueStatus, records, bytes, max_bytes, segments, corrupt_lines,
                                                refused_full, full_since, policy)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NetworkKey, cc, asn, key_id, last_seen)

nlohmann::json upload_to_json(const UploadAttempt& attempt) { return attempt; }

void to_json(nlohmann::json& j, const DaemonStatus& v) {
  j = {{"pid", v.pid},
       {"running", v.running},
       {"started_at", v.started_at},
       {"updated_at", v.updated_at},
       {"config", v.config},
       {"mode", v.mode},
       {"runs", v.runs},
       {"last_run", v.last_run ? nlohmann::json(*v.last_run) : nlohmann::json()},
       {"next_run_at", v.next_run_at},
       {"last_upload", v.last_upload ? nlohmann::json(*v.last_upload) : nlohmann::json()},
       {"last_upload_ok_at", v.last_upload_ok_at},
       {"upload_failures_in_row", v.upload_failures_in_row},
       {"next_upload_at", v.next_upload_at},
       {"queue", v.queue},
       {"networks", v.networks},
       {"uploads", v.uploads},
       {"clock_offset_s", v.clock_offset_s ? nlohmann::json(*v.clock_offset_s) : nlohmann::json()}};
}

void from_json(const nlohmann::json& j, DaemonStatus& v) {
  v = DaemonStatus{};
  v.pid = j.value("pid", int64_t{0});
  v.running = j.value("running", false);
  v.started_at = j.value("started_at", "");
  v.updated_at = j.value("updated_at", "");
  v.config = j.value("config", "");
  v.mode = j.value("mode", "normal");
  v.runs = core::json_value(j, "runs", uint64_t{0});
  if (j.contains("last_run") && j["last_run"].is_object()) v.last_run = j["last_run"].get<RunSummary>();
  v.next_run_at = j.value("next_run_at", "");
  if (j.contains("last_upload") && j["last_upload"].is_object()) v.last_upload = j["last_upload"].get<UploadAttempt>();
  if (j.contains("uploads") && j["uploads"].is_array()) v.uploads = j["uploads"].get<std::vector<UploadAttempt>>();
  if (j.contains("clock_offset_s") && j["clock_offset_s"].is_number_integer())
    v.clock_offset_s = j["clock_offset_s"].get<int64_t>();
  v.last_upload_ok_at = j.value("last_upload_ok_at", "");
  v.upload_failures_in_row = core::json_value(j, "upload_failures_in_row", uint64_t{0});
  v.next_upload_at = j.value("next_upload_at", "");
  if (j.contains("queue")) v.queue = j["queue"].get<QueueStatus>();
  if (j.contains("networks")) v.networks = j["networks"].get<std::vector<NetworkKey>>();
}

std::string status_path(const std::string& data_dir) { return data_dir + "/status.json"; }

std::string write_status(const std::string& data_dir, const DaemonStatus& status) {
  return files::write_file_atomically(status_path(data_dir), nlohmann::json(status).dump(2) + "\n", false);
}

std::optional<DaemonStatus> read_status(const std::string& data_dir, std::string* error) {
  // Not there and not readable are different answers: a normal user cannot read the service's 0700 state.
  const int fd = ::open(status_path(data_dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    *error = e == ENOENT ? ui::say("status.never_ran", {{"file", status_path(data_dir)}, {"dir", data_dir}})
                         : ui::say("status.cannot_read", {{"file", status_path(data_dir)}, {"reason", std::strerror(e)}});
    return std::nullopt;
  }
  std::string content;
  char buffer[8192];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0 && content.size() < (4u << 20);) content.append(buffer, n);
  ::close(fd);
  std::stringstream text(content);
  try {
    return nlohmann::json::parse(text.str()).get<DaemonStatus>();
  } catch (const nlohmann::json::exception& e) {
    *error = status_path(data_dir) + ": " + e.what();
    return std::nullopt;
  }
}

namespace {

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

// Characters, not bytes: the labels are Cyrillic in ru and kk.
size_t display_width(const std::string& text) {
  size_t n = 0;
  for (const unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// `kuzet-probe status` prints "label:  value" lines whose values line up in every language.
class StatusLines {
 public:
  StatusLines() {
    for (const char* key : kLabels) width_ = std::max(width_, display_width(ui::say(key)) + 1);
  }
  // An empty label continues the line above.
  void print(const char* label_key, const std::string& value) const {
    const std::string label = *label_key ? ui::say(label_key) + ":" : "";
    std::printf("%s%s %s\n", label.c_str(), std::string(width_ - display_width(label), ' ').c_str(), value.c_str());
  }

 private:
  static constexpr const char* kLabels[] = {
      "status.label.daemon",      "status.label.mode",       "status.label.last_run",   "status.label.next_run",
      "status.label.queue",       "status.label.last_upload", "status.label.last_success", "status.label.collectors",
      "status.label.collector",   "status.label.next_upload", "status.label.key",        "status.label.log"};
  size_t width_ = 0;
};

std::string human_bytes(uint64_t b) {
  char text[32];
  if (b >= (1u << 20)) std::snprintf(text, sizeof text, "%.1f MiB", b / 1048576.0);
  else if (b >= 1024) std::snprintf(text, sizeof text, "%.1f KiB", b / 1024.0);
  else std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(b));
  return text;
}

}  // namespace

int status_command(int argc, char** argv) {
  std::string config_path = kDefaultConfigPath, data_dir;
  bool as_json = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--config" || arg == "--data-dir") && i + 1 < argc) {
      (arg == "--config" ? config_path : data_dir) = argv[++i];
    } else if (arg == "--json") {
      as_json = true;
    } else if (arg == "--config" || arg == "--data-dir") {
      throw ui::UsageError(ui::say("error.needs_value", {{"command", "status"}, {"option", arg}}));
    } else {
      throw ui::UsageError(ui::unknown_option_message("status", arg));
    }
  }
  // The config says which collectors there are and whether consent is recorded; with --data-dir only, it is
  // read when it is there.
  std::optional<ProbeConfig> config;
  try {
    std::error_code ec;
    if (data_dir.empty() || std::filesystem::exists(config_path, ec)) config = load_probe_config(config_path);
  } catch (const ConfigError& e) {
    if (data_dir.empty()) {
      std::fprintf(stderr, "kuzet-probe: %s\n", e.what());
      return 2;
    }
  }
  if (data_dir.empty()) data_dir = config->data_dir;
  if (config && !config->consent.given())
    std::fprintf(stderr, "kuzet-probe: %s\n", ui::say("status.no_consent", {{"file", config_path}}).c_str());
  std::string error;
  auto status = read_status(data_dir, &error);
  if (!status) {
    std::fprintf(stderr, "kuzet-probe: %s\n", error.c_str());
    return 1;
  }
  // The file says what the daemon last wrote; the process table says whether it is still there.
  const bool alive = status->running && status->pid > 0 && (::kill(static_cast<pid_t>(status->pid), 0) == 0 || errno == EPERM);
  // Count the queue now, so the figure is right even when the daemon is stopped.
  uint64_t live_records = 0;
  scan_queue(data_dir + "/queue", [&](const std::string&) { ++live_records; });
  const auto logs = witness::load_all_states(data_dir);
  if (as_json) {
    nlohmann::json j = *status;
    j["alive"] = alive;
    j["queue"]["records_now"] = live_records;
    j["witness"] = logs;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  using ui::say;
  const StatusLines lines;
  const auto count = [](uint64_t n) { return std::to_string(n); };
  const std::string state = alive ? say("status.state_running")
                                  : say(status->running ? "status.state_stale" : "status.state_stopped");
  lines.print("status.label.daemon", say("status.daemon", {{"state", state},
                                                          {"pid", std::to_string(status->pid)},
                                                          {"since", or_dash(status->started_at)},
                                                          {"runs", count(status->runs)}}));
  lines.print("status.label.mode", say(status->mode == "shutdown" ? "status.mode_shutdown" : "status.mode_normal"));
  if (status->last_run) {
    const auto& r = *status->last_run;
    std::string verdicts;
    for (const auto& [v, n] : r.verdicts) verdicts += (verdicts.empty() ? "" : ", ") + std::to_string(n) + " " + v;
    const char* collector = !r.collector_configured ? "status.collector_none"
                            : r.collector_reachable ? "status.collector_reachable"
                                                    : "status.collector_unreachable";
    lines.print("status.label.last_run", say("status.last_run", {{"at", r.started_at},
                                                                {"targets", count(r.targets)},
                                                                {"verdicts", verdicts},
                                                                {"cc", or_dash(r.cc)},
                                                                {"asn", std::to_string(r.asn)},
                                                                {"collector", say(collector)}}));
  } else {
    lines.print("status.label.last_run", "-");
  }
  lines.print("status.label.next_run", alive ? or_dash(status->next_run_at) : say("status.next_run_stopped"));
  lines.print("status.label.queue",
              say("status.queue", {{"count", count(live_records)},
                                   {"bytes", human_bytes(status->queue.bytes)},
                                   {"max", human_bytes(status->queue.max_bytes)}}) +
                  (status->queue.full_since.empty() ? "" : say("status.queue_full")));
  if (!status->queue.full_since.empty() || status->queue.refused_full > 0)
    lines.print("", say("status.queue_full_since", {{"since", or_dash(status->queue.full_since)},
                                                     {"refused", count(status->queue.refused_full)},
                                                     {"policy", status->queue.policy}}));
  if (status->last_upload) {
    const auto& u = *status->last_upload;
    lines.print("status.label.last_upload",
                say("status.last_upload", {{"at", u.at},
                                           {"collector", u.collector},
                                           {"sent", count(u.sent)},
                                           {"stored", count(u.stored)},
                                           {"duplicate", count(u.duplicate)},
                                           {"rejected", count(u.rejected)}}) +
                    (u.failure.empty() ? "" : say("status.upload_failed", {{"failure", u.failure}})));
  } else {
    lines.print("status.label.last_upload", "-");
  }
  lines.print("status.label.last_success", or_dash(status->last_upload_ok_at));
  if (config && config->collectors.empty())
    lines.print("status.label.collectors", say("status.no_collector"));
  else if (config)
    for (const auto& url : config->collectors) lines.print("status.label.collector", url);
  if (status->upload_failures_in_row > 0)
    lines.print("status.label.next_upload", say("status.next_upload", {{"at", or_dash(status->next_upload_at)},
                                                                      {"count", count(status->upload_failures_in_row)}}));
  for (const auto& n : status->networks)
    lines.print("status.label.key", say("status.key", {{"cc", or_dash(n.cc)},
                                                      {"asn", std::to_string(n.asn)},
                                                      {"key", n.key_id},
                                                      {"at", n.last_seen}}));
  for (const auto& w : logs) {
    if (!w.trusted()) {
      lines.print("status.label.log", say("status.log_conflict", {{"collector", w.collector},
                                                                  {"kind", w.conflict == "rewind" ? "REWIND" : "FORK"},
                                                                  {"at", w.conflict_found_at},
                                                                  {"detail", w.conflict_detail},
                                                                  {"file", witness::state_path(data_dir, w.collector)}}));
      continue;
    }
    std::string error;
    const auto verifier = tlog::parse_verifier_key(w.log_key, &error);
    const auto checkpoint = verifier ? tlog::open_checkpoint(w.checkpoint, *verifier, &error) : std::nullopt;
    lines.print("status.label.log",
                say("status.log_ok", {{"collector", w.collector},
                                      {"size", checkpoint ? std::to_string(checkpoint->size) : "-"},
                                      {"at", or_dash(w.checked_at)}}) +
                    (w.last_error.empty() ? "" : say("status.log_check_failed", {{"error", w.last_error}})));
  }
  return 0;
}

}  // namespace kuzet::probe::daemon
