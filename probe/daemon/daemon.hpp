#pragma once
// `kuzet-probe daemon`: runs the configured specs on a schedule, queues every result durably
// (probe/daemon/queue.hpp) before any upload, and uploads in batches with exponential backoff. See docs/daemon.md.
#include <cstdint>
#include <string>

#include "core/log.hpp"

namespace kuzet::probe::daemon {

struct DaemonOptions {
  std::string config_path;
  double retry_initial_s = 30;  // first wait after a failed upload; doubles up to retry_max_s, with jitter
  double retry_max_s = 3600;
  uint64_t max_runs = 0;        // stop after this many runs and one upload attempt (tests, benchmark); 0 = never
  core::LogLevel log_level = core::LogLevel::info;  // --log-level: the most verbose level written
};

// Blocks until SIGTERM/SIGINT (or max_runs). SIGHUP reloads the config. Returns the exit code; startup
// errors (config, spec, data directory) are printed and give 2; no recorded consent gives 3 (ui::kExitNoConsent),
// also when a reload finds it withdrawn.
int run_daemon(const DaemonOptions& options);

// `kuzet-probe daemon [--config FILE] [--retry-initial DUR] [--retry-max DUR] [--runs N] [--log-level LEVEL]`;
// throws ui::UsageError.
int daemon_command(int argc, char** argv);

}  // namespace kuzet::probe::daemon
