#pragma once
// The daemon's state file (<data_dir>/status.json, rewritten atomically after every run and upload) and
// `kuzet-probe status`, which reads it: last run, queue, last upload, next run, key per network.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kuzet::probe::daemon {

struct RunSummary {
  std::string run_id;
  std::string started_at, finished_at;
  uint64_t targets = 0;
  uint64_t queued = 0;        // records written to the queue
  uint64_t refused_full = 0;  // records the full queue refused
  std::map<std::string, uint64_t> verdicts;  // verdict -> count
  std::string cc;
  uint32_t asn = 0;
  bool collector_reachable = false;
  bool collector_configured = true;  // false: none in the config, so "unreachable" would be wrong
  bool all_offline = false;  // every target offline: a shutdown is suspected
};

struct UploadAttempt {
  std::string at;
  std::string collector;
  uint64_t sent = 0, stored = 0, duplicate = 0, rejected = 0;
  std::string failure;  // "" when every record sent was judged
  // The receipts: the lowest and highest transparency-log index the collector gave the records it stored
  // or already had (-1: none given). A witness checkpoint at least this large covers them (probe/witness).
  int64_t first_log_index = -1, last_log_index = -1;
};

struct QueueStatus {
  uint64_t records = 0, bytes = 0, max_bytes = 0, segments = 0, corrupt_lines = 0, refused_full = 0;
  std::string full_since;
  std::string policy = "when full, new results are refused and the oldest evidence is kept";
};

struct NetworkKey {
  std::string cc;
  uint32_t asn = 0;
  std::string key_id;
  std::string last_seen;
};

struct DaemonStatus {
  int64_t pid = 0;
  bool running = false;  // false once the daemon stopped cleanly
  std::string started_at, updated_at;
  std::string config;
  std::string mode = "normal";  // "normal" | "shutdown" (runs every schedule.shutdown_interval)
  uint64_t runs = 0;
  std::optional<RunSummary> last_run;
  std::string next_run_at;
  std::optional<UploadAttempt> last_upload;
  std::vector<UploadAttempt> uploads;  // the latest attempts, oldest first (kMaxUploadsKept)
  // The collector's clock minus ours at its last answer, in seconds (nullopt: never known).
  std::optional<int64_t> clock_offset_s;
  std::string last_upload_ok_at;
  uint64_t upload_failures_in_row = 0;
  std::string next_upload_at;  // "" when nothing waits
  QueueStatus queue;
  std::vector<NetworkKey> networks;
};

inline constexpr size_t kMaxUploadsKept = 20;

// One upload attempt as status.json writes it (the status page lists them in the same form).
nlohmann::json upload_to_json(const UploadAttempt& attempt);

void to_json(nlohmann::json& j, const DaemonStatus& v);
void from_json(const nlohmann::json& j, DaemonStatus& v);

std::string status_path(const std::string& data_dir);
// Atomic (rename) but not fsynced: it is a view, the queue is the record.
std::string write_status(const std::string& data_dir, const DaemonStatus& status);
std::optional<DaemonStatus> read_status(const std::string& data_dir, std::string* error);

// `kuzet-probe status [--config FILE] [--data-dir DIR] [--json]`; returns the exit code.
int status_command(int argc, char** argv);

}  // namespace kuzet::probe::daemon
