// Benchmark (not a test), issue 17: how long a run takes compared with its slowest target, with and without
// the collector's control, and where the probe's memory goes. Everything is on loopback: a fake DNS server
// answers 127.0.0.1 for *.bench.test, one HTTPS server (test PKI) answers site i after waiting
// 50 + 50 i ms (i = 0..39: 50..2,000 ms, like the Kazakhstan-style lab), and "with control" a real
// kuzet-collector child (fresh database for every run, --allow-private-targets, the same resolver) measures
// the targets too. The probe checks chains against a public bundle of Debian's Mozilla set plus the benchmark's
// CA (the sites' certificates verify publicly, as real sites' do). The probe runs as a child process; peak
// RSS is its ru_maxrss, and /proc/PID/smaps is sampled every 20 ms to split the largest sample into library
// text, other file pages, and private memory.
//
// Usage: bench_probe_latency [--runs N] [--concurrency N] [--probe BIN] [--collector BIN]
//   (medians of N runs, default 3; concurrency: the probe's default unless given)
// Goals (issue 17): 40 targets <= 1.2 x the slowest single without control, <= 1.3 x with control; a single
// target's fixed cost <= 0.1 s over its server's delay; peak RSS <= 16 MB with default settings.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/probe/loopback_sites.hpp"
#include "probe/config.hpp"

namespace {

constexpr int kTargets = 40;
int delay_ms(int i) { return 50 + 50 * i; }

// Resident memory of one smaps sample, in KiB, by where it lives.
struct Memory {
  long rss = 0;
  long library_text = 0;     // r-x mappings of shared libraries (shareable with other processes)
  long library_other = 0;    // the libraries' data, relro, rodata
  long binary = 0;           // the probe executable's own pages
  long private_anon = 0;     // heap, malloc arenas, thread stacks
  long heap = 0;             // of which the main heap ([heap])
  long stacks = 0;           // of which thread stacks (anonymous 8 MiB mappings) and the main [stack]
  long other = 0;
  long library_private = 0;  // of the libraries' and the binary's pages, those written by this process
                             // (relocated data, .bss): the rest is page cache other processes share
  std::vector<std::pair<long, std::string>> top;  // the largest files by resident KiB, "perms path"
};

Memory read_smaps(pid_t pid, const std::string& binary) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  Memory m;
  std::map<std::string, long> by_file;
  std::string line, path, perms;
  unsigned long size_kb = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 17 && line.find(':') > 17) {
      // "start-end perms offset dev inode [path]"
      std::istringstream head(line);
      std::string range, offset, dev, inode;
      head >> range >> perms >> offset >> dev >> inode;
      path.clear();
      std::getline(head, path);
      path.erase(0, path.find_first_not_of(' '));
      continue;
    }
    if (line.rfind("Size:", 0) == 0) size_kb = std::stoul(line.substr(5));
    // Dirty private pages of a file mapping exist only in this process; clean ones are page cache that any
    // other process mapping the same library shares.
    if (line.rfind("Private_Dirty:", 0) == 0 && !path.empty() && path[0] == '/')
      m.library_private += std::stol(line.substr(14));
    if (line.rfind("Rss:", 0) != 0) continue;
    const long rss = std::stol(line.substr(4));
    m.rss += rss;
    by_file[perms + " " + (path.empty() ? "[anonymous]" : std::filesystem::path(path).filename().string())] += rss;
    if (path.find(".so") != std::string::npos) {
      (perms.find('x') != std::string::npos ? m.library_text : m.library_other) += rss;
    } else if (!path.empty() && std::filesystem::path(path).filename() == std::filesystem::path(binary).filename()) {
      m.binary += rss;
    } else if (path.empty() || path == "[heap]" || path == "[stack]") {
      m.private_anon += rss;
      if (path == "[heap]") m.heap += rss;
      if (path == "[stack]" || size_kb == 8188 || size_kb == 8192) m.stacks += rss;  // glibc: 8 MiB minus the guard
    } else {
      m.other += rss;
    }
  }
  for (const auto& [name, kb] : by_file) m.top.push_back({kb, name});
  std::sort(m.top.rbegin(), m.top.rend());
  if (m.top.size() > 12) m.top.resize(12);
  return m;
}

struct Sample {
  double wall_s = 0;
  long max_rss_kb = 0;
  int status = -1;
  Memory peak;  // the smaps sample with the largest RSS
};

Sample run_child(const std::string& binary, const std::vector<std::string>& args, bool quiet = true) {
  std::vector<std::string> copy = args;
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (quiet) {
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  Sample s;
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      Memory m = read_smaps(pid, binary);
      if (m.rss > s.peak.rss) s.peak = m;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  done = true;
  sampler.join();
  s.max_rss_kb = usage.ru_maxrss;
  s.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return s;
}

// kuzet-collector serve on 127.0.0.1:0; returns its pid and URL (read from its first line).
struct Collector {
  pid_t pid = -1;
  std::string url;
};

Collector start_collector(const std::string& binary, const std::vector<std::string>& args) {
  int out[2];
  if (pipe(out) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::freopen("/dev/null", "w", stderr);
    std::vector<std::string> copy = args;
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  close(out[0]);
  Collector col;
  col.pid = pid;
  const auto at = line.find("127.0.0.1:");
  if (at != std::string::npos) col.url = "http://127.0.0.1:" + std::to_string(std::stoi(line.substr(at + 10)));
  return col;
}

void stop_collector(const Collector& c) {
  if (c.pid <= 0) return;
  kill(c.pid, SIGTERM);
  int status = 0;
  waitpid(c.pid, &status, 0);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Series {
  std::vector<double> wall, rss_mb;
  Memory peak;  // of the median-RSS run
  void add(const Sample& s) {
    wall.push_back(s.wall_s);
    rss_mb.push_back(s.max_rss_kb / 1024.0);
    if (s.peak.rss > peak.rss) peak = s.peak;
  }
};

void print_memory(const char* what, const Memory& m) {
  auto mb = [](long kb) { return kb / 1024.0; };
  std::printf("  smaps at peak, %s: Rss %.1f MB = library text %.1f + library data %.1f + probe binary %.1f"
              " + private anonymous %.1f (main heap %.1f, stacks %.1f, thread arenas and other %.1f) + other %.1f\n",
              what, mb(m.rss), mb(m.library_text), mb(m.library_other), mb(m.binary), mb(m.private_anon),
              mb(m.heap), mb(m.stacks), mb(m.private_anon - m.heap - m.stacks), mb(m.other));
  std::printf("    of the files' pages %.1f MB are dirty, private to the probe (relocated data, .bss); %.1f MB shareable\n",
              mb(m.library_private), mb(m.library_text + m.library_other + m.binary + m.other - m.library_private));
  std::printf("    largest:");
  for (const auto& [kb, name] : m.top) std::printf(" %s %.2f;", name.c_str(), kb / 1024.0);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kuzet;
  int runs = 3;
  std::string concurrency;
  std::string probe = KUZET_PROBE_BINARY;
  std::string collector = KUZET_COLLECTOR_BINARY;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--runs") runs = std::max(1, std::atoi(argv[i + 1]));
    else if (a == "--concurrency") concurrency = argv[i + 1];
    else if (a == "--probe") probe = argv[i + 1];
    else if (a == "--collector") collector = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: bench_probe_latency [--runs N] [--concurrency N] [--probe BIN] [--collector BIN]\n");
      return 2;
    }
  }

  bench::LoopbackSites sites("kuzet-bench-latency");
  const auto& dir = sites.dir();
  const std::string ca = sites.ca();
  // The public bundle the probe checks chains against: Debian's Mozilla set, as on a volunteer's machine, with
  // the benchmark's CA added as the sites' public root (a real site's chain verifies against the public PKI).
  const std::string public_bundle = (dir / "public-bundle").string();
  {
    std::error_code ec;
    std::filesystem::create_directories(public_bundle);
    for (std::filesystem::directory_iterator it(kuzet::probe::kDefaultPublicCaBundle, ec), end; !ec && it != end;
         it.increment(ec))
      std::filesystem::create_symlink(it->path(), std::filesystem::path(public_bundle) / it->path().filename(), ec);
    std::filesystem::copy_file(ca, std::filesystem::path(public_bundle) / "bench-sites-root.crt",
                               std::filesystem::copy_options::overwrite_existing);
  }
  std::vector<std::string> paths;
  for (int i = 0; i < kTargets; ++i) paths.push_back("/delay/" + std::to_string(delay_ms(i)));
  const std::vector<std::string> urls = sites.write_spec(paths);
  const std::string out = (dir / "out.jsonl").string();

  auto probe_args = [&](const std::vector<std::string>& what, const std::string& collector_url) {
    std::vector<std::string> args = {"run", "--consent", "--resolver", sites.resolver(), "--ca-bundle", ca,
                                     "--public-ca-bundle", public_bundle, "--quiet", "--out", out, "--data-dir",
                                     (dir / "data").string()};
    if (!concurrency.empty()) args.insert(args.end(), {"--concurrency", concurrency});
    if (collector_url.empty()) args.push_back("--no-upload");  // and no collector configured
    else args.insert(args.end(), {"--collector", collector_url, "--no-upload"});
    args.insert(args.end(), what.begin(), what.end());
    return args;
  };
  auto one_run = [&](const std::vector<std::string>& what, bool with_control) {
    Collector c;
    if (with_control) {
      std::filesystem::remove(dir / "c.db");
      c = start_collector(collector, {"serve", "--listen", "127.0.0.1:0", "--db", (dir / "c.db").string(),
                                      "--resolver", sites.resolver(), "--ca-bundle", ca, "--allow-private-targets"});
      if (c.url.empty()) {
        std::fprintf(stderr, "collector did not start\n");
        std::exit(1);
      }
    }
    std::filesystem::remove(out);
    Sample s = run_child(probe, probe_args(what, c.url));
    stop_collector(c);
    if (s.status != 0) {
      std::fprintf(stderr, "probe failed: exit %d\n", s.status);
      std::exit(1);
    }
    return s;
  };
  // What the last run wrote: lines, HTTP 200s, and lines with control from the collector.
  auto check_out = [&](int* lines, int* ok200, int* controlled) {
    std::ifstream in(out);
    std::string line;
    *lines = *ok200 = *controlled = 0;
    while (std::getline(in, line)) {
      ++*lines;
      if (line.find("\"status\":200") != std::string::npos) ++*ok200;
      if (line.find("\"vantage\":\"collector\"") != std::string::npos) ++*controlled;
    }
  };

  // The target's own runtime_ms in the last run's output: its cost without the process's start and exit.
  auto runtime_s = [&] {
    std::ifstream in(out);
    std::string line;
    std::getline(in, line);
    const auto at = line.find("\"runtime_ms\":");
    return at == std::string::npos ? 0.0 : std::atof(line.c_str() + at + 13) / 1000.0;
  };

  const std::vector<std::string> slowest = {"--target", urls.back()};
  const std::vector<std::string> fastest = {"--target", urls.front()};
  const std::vector<std::string> all = {"--spec", sites.spec_path()};
  Series fast1, slow1, full, fast1_ctl, slow1_ctl, full_ctl;
  std::vector<double> fast1_own, slow1_own;
  int lines = 0, ok200 = 0, controlled = 0, lines_ctl = 0, ok200_ctl = 0, controlled_ctl = 0;
  for (int r = 0; r < runs; ++r) {
    fast1.add(one_run(fastest, false));
    fast1_own.push_back(runtime_s());
    slow1.add(one_run(slowest, false));
    slow1_own.push_back(runtime_s());
    full.add(one_run(all, false));
    check_out(&lines, &ok200, &controlled);
    fast1_ctl.add(one_run(fastest, true));
    slow1_ctl.add(one_run(slowest, true));
    full_ctl.add(one_run(all, true));
    check_out(&lines_ctl, &ok200_ctl, &controlled_ctl);
  }

  const double slowest_delay = delay_ms(kTargets - 1) / 1000.0, fastest_delay = delay_ms(0) / 1000.0;
  std::printf("bench_probe_latency: %d HTTPS targets waiting %d..%d ms, %d runs (medians), concurrency %s\n",
              kTargets, delay_ms(0), delay_ms(kTargets - 1), runs, concurrency.empty() ? "default" : concurrency.c_str());
  std::printf("  fastest target alone (%.2f s server delay): %.3f s wall -> fixed cost %.3f s\n", fastest_delay,
              median(fast1.wall), median(fast1.wall) - fastest_delay);
  std::printf("  slowest target alone (%.2f s server delay): %.3f s wall -> fixed cost %.3f s (goal <= 0.1)\n",
              slowest_delay, median(slow1.wall), median(slow1.wall) - slowest_delay);
  std::printf("  the same, the target's own runtime_ms     : fastest %.3f s (%.3f over its delay), slowest %.3f s (%.3f over)\n",
              median(fast1_own), median(fast1_own) - fastest_delay, median(slow1_own), median(slow1_own) - slowest_delay);
  std::printf("  fastest target alone, with control        : %.3f s wall -> %.3f s over its delay\n",
              median(fast1_ctl.wall), median(fast1_ctl.wall) - fastest_delay);
  std::printf("  slowest target alone, with control        : %.3f s wall\n", median(slow1_ctl.wall));
  std::printf("  40 targets, no collector                  : %.3f s wall = %.2f x the slowest alone (goal <= 1.2)\n",
              median(full.wall), median(full.wall) / median(slow1.wall));
  std::printf("  40 targets, with control                  : %.3f s wall = %.2f x the slowest alone (goal <= 1.3)\n",
              median(full_ctl.wall), median(full_ctl.wall) / median(slow1.wall));
  std::printf("  peak RSS (ru_maxrss): one target %.1f MB, 40 targets %.1f MB, 40 with control %.1f MB (goal <= 16)\n",
              median(slow1.rss_mb), median(full.rss_mb), median(full_ctl.rss_mb));
  print_memory("one target", slow1.peak);
  print_memory("40 targets", full.peak);
  print_memory("40 targets with control", full_ctl.peak);
  std::printf("  last runs wrote: %d lines, %d HTTP 200; with control %d lines, %d HTTP 200, %d with the collector's control\n",
              lines, ok200, lines_ctl, ok200_ctl, controlled_ctl);
  return 0;
}
