// Benchmark (not a test): how long a 40-target run takes compared with its slowest single target, and the
// probe's peak RSS. Everything is on loopback: a fake DNS server answers 127.0.0.1 for *.bench.test, one
// HTTPS server (test PKI) serves each site a 200 KB body dripped at a per-site pace, so site i takes about
// 10 * (20 + 5 i) ms and the last one is the slowest.
//
// Usage: bench_probe_run [RUNS] [CONCURRENCY]   (default 3 runs, the probe's default concurrency; medians)
// Goals (issue 2): wall <= 1.5 x the slowest single target; peak RSS <= 16 MB.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench/probe/loopback_sites.hpp"

namespace {

struct Sample {
  double wall_s = 0;
  long max_rss_kb = 0;
  int status = -1;
};

Sample run_probe(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string binary = KUZET_PROBE_BINARY;
  argv.push_back(binary.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    // Keep the benchmark's output readable: the probe's table and progress go to /dev/null.
    std::freopen("/dev/null", "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  Sample s;
  s.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  s.max_rss_kb = usage.ru_maxrss;
  s.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return s;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kuzet;
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  const std::string concurrency = argc > 2 ? argv[2] : "";
  constexpr int kTargets = 40;

  bench::LoopbackSites sites("kuzet-bench");
  const auto& dir = sites.dir();
  std::vector<std::string> paths;
  for (int i = 0; i < kTargets; ++i) paths.push_back("/drip/10/20000/" + std::to_string(20 + 5 * i));
  const std::vector<std::string> urls = sites.write_spec(paths);

  const std::vector<std::string> common = {"run", "--consent", "--resolver", sites.resolver(), "--ca-bundle", sites.ca(),
                                           "--quiet", "--out", (dir / "out.jsonl").string()};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = common;
    if (!concurrency.empty()) args.insert(args.end(), {"--concurrency", concurrency});
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };

  std::vector<double> single_wall, full_wall, single_rss, full_rss;
  for (int r = 0; r < runs; ++r) {
    auto single = run_probe(with({"--target", urls.back()}));
    auto full = run_probe(with({"--spec", (dir / "bench.yaml").string()}));
    if (single.status != 0 || full.status != 0) {
      std::fprintf(stderr, "probe failed: exit %d / %d\n", single.status, full.status);
      return 1;
    }
    single_wall.push_back(single.wall_s);
    full_wall.push_back(full.wall_s);
    single_rss.push_back(single.max_rss_kb / 1024.0);
    full_rss.push_back(full.max_rss_kb / 1024.0);
  }

  // Check the runs measured what we think: every line of the last full run reached HTTP 200.
  std::ifstream out(dir / "out.jsonl");
  std::string line;
  int lines = 0, ok200 = 0;
  while (std::getline(out, line)) {
    ++lines;
    if (line.find("\"status\":200") != std::string::npos) ++ok200;
  }
  std::printf("bench_probe_run: %d targets, %d runs (medians), concurrency %s\n", kTargets, runs,
              concurrency.empty() ? "default" : concurrency.c_str());
  std::printf("  slowest single target : %.2f s wall, peak RSS %.1f MB\n", median(single_wall), median(single_rss));
  std::printf("  full 40-target run    : %.2f s wall, peak RSS %.1f MB\n", median(full_wall), median(full_rss));
  std::printf("  wall ratio            : %.2f x the slowest target (goal <= 1.5)\n",
              median(full_wall) / median(single_wall));
  std::printf("  peak RSS goal         : <= 16 MB -> %s\n", median(full_rss) <= 16.0 ? "met" : "NOT met");
  std::printf("  result lines with HTTP 200: %d of %d written\n", ok200, lines);
  return 0;
}
