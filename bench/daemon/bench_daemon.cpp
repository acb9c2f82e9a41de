// Benchmark: the kuzet-probe daemon's steady-state memory and CPU over an accelerated schedule.
// One run a second stands for one run an hour: 24 runs = a day; the default 480 runs = 20 days hourly,
// or 5 days at the 15-minute shutdown pace. Targets and collector are on loopback (a web server in this
// process, closed ports, the real kuzet-collector binary). Samples /proc/PID/status VmRSS and
// smaps_rollup (private/anonymous: the daemon's own memory; shared library pages dominate VmRSS) and
// utime+stime. Prints figures; asserts nothing.
// The daemon gets the Environment= lines of the packaged systemd unit, as installed; the default settings otherwise: the local status page is on (on a free port), capture off. Sampled every
// 250 ms; "median" is what the daemon holds most of the time, "max" the peak of its runs.
//   usage: bench_daemon [RUNS=480] [TARGETS=20] [--shutdown] [--no-status-page] [--interval S] [--probe BIN]
//          [--no-unit-environment]
//   (--shutdown: collector and targets down; --interval: seconds between runs, default 1)
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "tests/daemon/daemon_fixture.hpp"

using namespace kuzet::daemon_testing;
using namespace std::chrono_literals;

namespace {

struct Sample {
  double t_s = 0;
  uint64_t runs = 0;
  long rss_kb = 0, private_kb = 0, anon_kb = 0, file_kb = 0;
  double cpu_s = 0;
};

long field_kb(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  std::string line;
  long total = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0) {
      total += std::atol(line.c_str() + name.size());
      found = true;
    }
  }
  return found ? total : -1;
}

double cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < text.size()) {
    size_t sp = text.find(' ', pos);
    if (sp == std::string::npos) sp = text.size();
    fields.push_back(text.substr(pos, sp - pos));
    pos = sp + 1;
  }
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  if (fields.size() < 13) return 0;
  return (std::stod(fields[11]) + std::stod(fields[12])) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Applies the unit's `Environment=NAME=VALUE` lines to this process, so the daemon it starts inherits them.
std::string apply_unit_environment(const std::string& unit_path) {
  std::ifstream in(unit_path);
  std::string line, applied;
  const std::string key = "Environment=";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const std::string assignment = line.substr(key.size());
    const auto eq = assignment.find('=');
    if (eq == std::string::npos) continue;
    ::setenv(assignment.substr(0, eq).c_str(), assignment.substr(eq + 1).c_str(), 1);
    applied += (applied.empty() ? "" : " ") + assignment;
  }
  return applied;
}

Sample sample(pid_t pid, double t, uint64_t runs) {
  const std::string base = "/proc/" + std::to_string(pid);
  Sample s;
  s.t_s = t;
  s.runs = runs;
  s.rss_kb = field_kb(base + "/status", "VmRSS:");
  s.private_kb = field_kb(base + "/smaps_rollup", "Private_Clean:") + field_kb(base + "/smaps_rollup", "Private_Dirty:");
  s.anon_kb = field_kb(base + "/smaps_rollup", "Anonymous:");
  s.file_kb = field_kb(base + "/status", "RssFile:");
  s.cpu_s = cpu_seconds(pid);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t runs = 480;
  size_t targets = 20;
  bool shutdown = false, status_page = true;
  int64_t interval_s = 1;
  std::string probe_bin = KUZET_PROBE_BIN;  // --probe: another build, for before/after figures
  bool unit_environment = true;
  std::vector<std::string> numbers;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--shutdown") == 0) shutdown = true;
    else if (std::strcmp(argv[i], "--no-status-page") == 0) status_page = false;
    else if (std::strcmp(argv[i], "--interval") == 0 && i + 1 < argc) interval_s = std::stoll(argv[++i]);
    else if (std::strcmp(argv[i], "--probe") == 0 && i + 1 < argc) probe_bin = argv[++i];
    else if (std::strcmp(argv[i], "--no-unit-environment") == 0) unit_environment = false;
    else numbers.push_back(argv[i]);
  }
  if (numbers.size() > 0) runs = std::stoull(numbers[0]);
  if (numbers.size() > 1) targets = std::stoull(numbers[1]);

  const std::string environment = unit_environment ? apply_unit_environment(KUZET_PROBE_UNIT) : "";
  TempDir dir;
  TargetServer web;
  const uint16_t collector_port = unused_loopback_port();
  std::unique_ptr<CollectorProcess> collector;
  if (!shutdown) {
    collector = std::make_unique<CollectorProcess>(collector_port, dir.file("collector.db"), dir.file("collector"));
    if (!collector->ready()) {
      std::fprintf(stderr, "collector did not start\n");
      return 1;
    }
  }
  DaemonConfig c;
  c.collectors = {"http://127.0.0.1:" + std::to_string(collector_port) + "/"};
  c.data_dir = dir.file("data");
  c.interval_s = interval_s;
  c.shutdown_interval_s = interval_s;
  if (status_page) c.status_page = "127.0.0.1:" + std::to_string(unused_loopback_port());
  for (size_t i = 0; i < targets; ++i) {
    if (shutdown || i % 2 == 1) c.targets.push_back("http://127.0.0.1:" + std::to_string(unused_loopback_port()) + "/t" + std::to_string(i));
    else c.targets.push_back(web.url("/?t=" + std::to_string(i)));
  }
  const auto config = write_config(dir, c);
  Process daemon({probe_bin, "daemon", "--config", config, "--retry-initial", "1s", "--retry-max", "60s"},
                 dir.file("daemon"));
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::vector<Sample> samples;
  uint64_t done = 0;
  while (done < runs && daemon.running()) {
    std::this_thread::sleep_for(250ms);
    done = runs_of(c.data_dir);
    samples.push_back(sample(daemon.pid(), elapsed(), done));
  }
  const auto final_status = status_of(c.data_dir);
  daemon.signal(SIGTERM);
  daemon.wait_exit(180s);
  if (samples.size() < 4) {
    std::fprintf(stderr, "too few samples; daemon log:\n%s\n", daemon.stderr_text().c_str());
    return 1;
  }

  // Warm-up: the first tenth of the runs; steady state: the rest.
  const uint64_t warm = std::max<uint64_t>(5, runs / 10);
  std::vector<Sample> steady;
  for (const auto& s : samples)
    if (s.runs >= warm) steady.push_back(s);
  if (steady.size() < 2) steady = samples;
  auto max_of = [&](long Sample::*f) {
    long m = 0;
    for (const auto& s : steady) m = std::max(m, s.*f);
    return m;
  };
  auto median_of = [&](long Sample::*f) {
    std::vector<long> v;
    for (const auto& s : steady) v.push_back(s.*f);
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  // Growth: mean of the last quarter minus mean of the first quarter of the steady state.
  auto quarter_growth = [&](long Sample::*f) {
    const size_t q = std::max<size_t>(1, steady.size() / 4);
    double a = 0, b = 0;
    for (size_t i = 0; i < q; ++i) {
      a += steady[i].*f;
      b += steady[steady.size() - 1 - i].*f;
    }
    return (b - a) / q;
  };
  const auto& first = steady.front();
  const auto& last = steady.back();
  const double cpu_per_run_ms = (last.cpu_s - first.cpu_s) * 1000.0 / std::max<double>(1, last.runs - first.runs);
  std::printf("kuzet-probe daemon, %llu runs x %zu targets, one run every %lld s (%s), status page %s, %.0f s wall\n",
              static_cast<unsigned long long>(last.runs), targets, static_cast<long long>(interval_s),
              shutdown ? "shutdown: collector and targets down" : "collector up, half the targets answer",
              status_page ? "on" : "off", last.t_s);
  std::printf("  probe %s; environment from the unit: %s\n", probe_bin.c_str(), environment.empty() ? "none" : environment.c_str());
  std::printf("  VmRSS      steady max %6ld KiB, median %6ld KiB, first->last quarter %+7.1f KiB\n",
              max_of(&Sample::rss_kb), median_of(&Sample::rss_kb), quarter_growth(&Sample::rss_kb));
  std::printf("  RssFile    steady max %6ld KiB, median %6ld KiB  (mapped files: libraries and the binary)\n",
              max_of(&Sample::file_kb), median_of(&Sample::file_kb));
  std::printf("  private    steady max %6ld KiB, first->last quarter %+7.1f KiB  (smaps_rollup Private_*)\n",
              max_of(&Sample::private_kb), quarter_growth(&Sample::private_kb));
  std::printf("  anonymous  steady max %6ld KiB, median %6ld KiB, first->last quarter %+7.1f KiB  (heap + stacks)\n",
              max_of(&Sample::anon_kb), median_of(&Sample::anon_kb), quarter_growth(&Sample::anon_kb));
  std::printf("  CPU        %.1f ms per run (%zu targets); %.2f s total over %.0f s\n", cpu_per_run_ms, targets,
              last.cpu_s, last.t_s);
  std::printf("  CPU for 24 hourly runs: %.2f s per day\n", cpu_per_run_ms * 24 / 1000.0);
  if (final_status)
    std::printf("  queue at the end: %llu results (%llu bytes); last upload failure: %s\n",
                static_cast<unsigned long long>(final_status->queue.records),
                static_cast<unsigned long long>(final_status->queue.bytes),
                final_status->last_upload ? (final_status->last_upload->failure.empty() ? "none" : final_status->last_upload->failure.c_str()) : "-");
  std::printf("  samples (runs: VmRSS/private/anon KiB):");
  for (size_t i = 0; i < samples.size(); i += std::max<size_t>(1, samples.size() / 8))
    std::printf(" %llu:%ld/%ld/%ld", static_cast<unsigned long long>(samples[i].runs), samples[i].rss_kb,
                samples[i].private_kb, samples[i].anon_kb);
  std::printf(" %llu:%ld/%ld/%ld\n", static_cast<unsigned long long>(last.runs), last.rss_kb, last.private_kb, last.anon_kb);
  return 0;
}
