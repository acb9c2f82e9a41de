// Ingest throughput of the collector: N signed measurements (~3 KB each) in batches, through the same
// code path as POST /api/v1/measurements (split, parse, verify, store + COMMIT), then over HTTP on
// loopback. Prints measurements/s, batch latency p50/p99 and where the time goes. Not a test.
//   bench_collector_ingest [--single] [N] [BATCH] [MODE]
//     envelopes are batch-signed per upload batch, as the probe signs a run (docs/protocol.md); --single:
//     one signature per measurement (/1, what volunteers' queues still hold).
//     MODE none|nolog|log|http: one configuration alone, for callgrind (below); timelines: the in-process
//     ingest without and with the timeline index (its cost per measurement); serve: 3 runs of the real
//     kuzet-collector serve (SQLite, log on) with 1 and 2 loopback clients, and their medians; serve:C the
//     same with C clients (many probes uploading at once: the store's group commit).
//   bench_collector_ingest --db postgresql://… [N] [BATCH]   (PostgreSQL: in-process, then real kuzet-collector
//     processes, 1 and 2 on the same database, over HTTP; each run in a fresh schema of that database;
//     KUZET_COLLECTOR_BIN or the build tree's collector/kuzet-collector)
#include <httplib.h>
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <thread>

#include "collector/ingest/ingest.hpp"
#include "collector/log/checkpointer.hpp"
#include "collector/server.hpp"
#include "collector/timeline/index.hpp"
#include "envelope/envelope.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/collector/support/spawn.hpp"
#include "tests/collector/support/test_db.hpp"

using namespace kuzet;
using namespace kuzet::collector;
using namespace kuzet::collector::ingest;
using namespace kuzet::collector::testing;

namespace {

double process_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string load_average() {
  std::FILE* f = std::fopen("/proc/loadavg", "r");
  char buf[64] = {0};
  if (f) {
    if (!std::fgets(buf, sizeof buf, f)) buf[0] = 0;
    std::fclose(f);
  }
  std::string s(buf);
  return s.substr(0, s.find(' ', s.find(' ', s.find(' ') + 1) + 1));
}

struct RunFigures {
  double rate = 0, p50 = 0, p99 = 0;
};

RunFigures report(const char* name, size_t n, double total_ms, std::vector<double> latencies) {
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) { return latencies[std::min(latencies.size() - 1, size_t(p * latencies.size()))]; };
  std::printf("%-34s %8.0f measurements/s   batch p50 %7.1f ms   p99 %7.1f ms   (%zu in %.0f ms; load %s)\n", name,
              n / (total_ms / 1000.0), pct(0.50), pct(0.99), n, total_ms, load_average().c_str());
  return {n / (total_ms / 1000.0), pct(0.50), pct(0.99)};
}

// with_timelines: the timeline index, in its own file, runs its background indexer, as in kuzet-collector
// serve; the catch-up still pending at the end is inside the timed span.
// with_log false: the store at schema 2, before the transparency log (docs/transparency-log.md); with it,
// every row also gets its log entry and hashes, and a checkpointer signs every 2 s as in serve.
// server: a PostgreSQL URL (a fresh schema there) or "" (an SQLite file).
void direct(const char* name, const std::vector<std::string>& bodies, size_t n, const core::KeyPair& key,
            unsigned workers, bool with_timelines = false, bool with_log = true, const std::string& server = "") {
  TempDir dir;
  TestDb db(dir.file("bench.db"), server);
  auto store = open_store(db.location(), with_log ? latest_schema_version() : 2);
  std::unique_ptr<log::Checkpointer> checkpointer;
  if (with_log) {
    checkpointer = std::make_unique<log::Checkpointer>(
        *store, tlog::make_signer("bench.test/log", core::generate_ed25519()), std::chrono::seconds(2));
    checkpointer->start();
  }
  std::unique_ptr<timeline::TimelineIndex> timelines;
  if (with_timelines)
    timelines = std::make_unique<timeline::TimelineIndex>(dir.file("timelines.db"), timeline::kDefaultBinMs,
                                                          std::chrono::seconds(1), store.get());
  store->register_key({core::key_id(key.public_key), core::base64_encode(key.public_key), 0});
  Metrics metrics;
  IngestOptions options;
  options.workers = workers;
  options.phase_timings = true;  // the breakdown below
  Ingestor ingestor(*store, metrics, options);
  std::vector<double> latencies;
  double start = now_ms();
  double cpu_start = process_cpu_ms();
  for (const auto& body : bodies) {
    double t = now_ms();
    auto outcome = ingestor.ingest_body(body);
    latencies.push_back(now_ms() - t);
    if (outcome.http_status != 200) {
      std::fprintf(stderr, "unexpected status %d\n", outcome.http_status);
      std::exit(1);
    }
  }
  if (timelines) timelines->catch_up();  // the index work still pending counts too
  if (checkpointer) checkpointer->sign_if_grown();  // the last checkpoint counts too
  double total = now_ms() - start;
  double cpu = process_cpu_ms() - cpu_start;
  report(name, n, total, latencies);
  auto t = ingestor.timings();
  const double parse_us = t.parse_ms * 1000 / n, verify_us = t.verify_ms * 1000 / n;
  const double store_cpu_us = t.store_cpu_ms * 1000 / n, store_wall_us = t.store_ms * 1000 / n;
  std::printf("    per measurement: parse+checks %.1f us CPU, verify %.1f us CPU, store+commit %.1f us CPU "
              "(%.1f us wall); process CPU %.1f us\n",
              parse_us, verify_us, store_cpu_us, store_wall_us, cpu * 1000 / n);
  // What 2 idle cores could do: parse and verify split over both, the transaction serial.
  std::printf("    CPU-bound estimate on 2 idle cores: %.0f measurements/s\n",
              1e6 / ((parse_us + verify_us) / 2 + store_cpu_us));
}

void over_http(const char* name, const std::vector<std::string>& bodies, size_t n, const core::KeyPair& key,
               int clients) {
  TempDir dir;
  auto store = open_sqlite_store(dir.file("bench.db"));
  store->register_key({core::key_id(key.public_key), core::base64_encode(key.public_key), 0});
  network::EmptyAsnDatabase asn;
  ServeOptions options;
  options.listen_host = "127.0.0.1";
  Server server(*store, asn, options);
  const uint16_t port = server.bind();
  std::thread thread([&] { server.run(); });
  server.wait_until_running();

  std::vector<std::vector<double>> latencies(clients);
  std::atomic<size_t> next{0};
  double start = now_ms();
  double cpu_start = process_cpu_ms();
  std::vector<std::thread> pool;
  for (int c = 0; c < clients; ++c) {
    pool.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(120, 0);
      client.set_keep_alive(true);
      for (size_t i = next++; i < bodies.size(); i = next++) {
        double t = now_ms();
        auto r = client.Post("/api/v1/measurements", bodies[i], "application/json");
        latencies[c].push_back(now_ms() - t);
        if (!r || r->status != 200) {
          std::fprintf(stderr, "upload failed: %d\n", r ? r->status : -1);
          std::exit(1);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  double total = now_ms() - start;
  double cpu = process_cpu_ms() - cpu_start;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  report(name, n, total, all);
  std::printf("    process CPU (server and client) %.1f us per measurement\n", cpu * 1000 / n);
  server.stop();
  thread.join();
}

// The fields after the name in a /proc/.../stat line (field 3 onwards); empty when unreadable.
std::vector<std::string> stat_fields(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return {};
  char buf[1024] = {0};
  const size_t got = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  std::string stat(buf, got);
  const size_t close = stat.rfind(')');  // the name may hold spaces; fields 3... follow it
  if (close == std::string::npos) return {};
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < stat.size()) {
    const size_t end = stat.find(' ', pos);
    fields.push_back(stat.substr(pos, end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return fields.size() < 13 ? std::vector<std::string>{} : fields;
}

double tick_ms() { return 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK)); }

// The host's speed, so figures from different machines can be compared: Ed25519 verifications per second
// of one thread's CPU (the host: ~12,400; a host half as fast halves every rate here).
double ed25519_verifications_per_cpu_second() {
  const auto key = core::generate_ed25519();
  const std::string message(200, 'm');
  const std::string signature = core::ed25519_sign(key, message);
  timespec a{}, b{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
  constexpr int kRounds = 2000;
  int good = 0;
  for (int i = 0; i < kRounds; ++i) good += core::ed25519_verify(key.public_key, message, signature);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
  const double seconds = double(b.tv_sec - a.tv_sec) + double(b.tv_nsec - a.tv_nsec) / 1e9;
  return good == kRounds && seconds > 0 ? kRounds / seconds : 0;
}

// User and system CPU time (ms) a running process has used so far (/proc/PID/stat, clock ticks).
std::pair<double, double> child_cpu_ms(pid_t pid) {
  const auto fields = stat_fields("/proc/" + std::to_string(pid) + "/stat");
  if (fields.empty()) return {0, 0};
  return {std::stod(fields[11]) * tick_ms(), std::stod(fields[12]) * tick_ms()};  // utime, stime (fields 14, 15)
}

// Minor page faults of a running process so far (field 10).
double child_minor_faults(pid_t pid) {
  const auto fields = stat_fields("/proc/" + std::to_string(pid) + "/stat");
  return fields.empty() ? 0 : std::stod(fields[7]);
}

// CPU time (ms) of a running process's live threads, summed per thread name (the collector names its
// threads: core::name_this_thread). Threads that already ended are in the process's total only.
std::map<std::string, double> child_cpu_by_thread_ms(pid_t pid) {
  std::map<std::string, double> out;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream comm_file(task.path() / "comm");
    std::string name;
    std::getline(comm_file, name);
    const auto fields = stat_fields((task.path() / "stat").string());
    if (!fields.empty()) out[name] += (std::stod(fields[11]) + std::stod(fields[12])) * tick_ms();
  }
  return out;
}

// A kuzet-collector serve child on 127.0.0.1, any port: its pid and port (read from its first line).
std::pair<pid_t, uint16_t> start_child(const std::string& binary, const std::vector<std::string>& args) {
  int out = -1;
  const pid_t pid = spawn_process(binary, args, &out);
  std::string line;
  const uint16_t port = pid < 0 ? 0 : read_listen_port(out, &line);
  if (port == 0) {
    std::fprintf(stderr, "collector did not start: %s\n", line.c_str());
    std::exit(1);
  }
  return {pid, port};
}

// `processes` kuzet-collector processes on one fresh schema of `server`, `clients_each` HTTP clients on each,
// uploading the bodies (each body once, whoever takes it). Wall time from the first upload to the last answer.
RunFigures processes_over_http(const char* name, const std::vector<std::string>& bodies, size_t n, const core::KeyPair& key,
                         const std::string& server, const std::string& binary, int processes, int clients_each) {
  TempDir dir;
  TestDb db(dir.file("bench.db"), server);  // the SQLite file when server is ""
  const std::string log_key = dir.file("log.key");
  {
    auto store = open_store(db.location());  // migrations before the processes race to them
    store->register_key({core::key_id(key.public_key), core::base64_encode(key.public_key), 0});
  }
  std::vector<std::pair<pid_t, uint16_t>> children;
  for (int p = 0; p < processes; ++p) {
    std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--db", db.location(), "--log-key", log_key};
    if (db.postgres()) {  // each process its own timeline index (with SQLite: the default, next to the database)
      args.push_back("--timeline-db");
      args.push_back(dir.file("timelines" + std::to_string(p)));
    }
    children.push_back(start_child(binary, args));
  }
  std::vector<std::vector<double>> latencies(static_cast<size_t>(processes * clients_each));
  std::vector<double> by_upload(bodies.size());  // each upload's latency, in the order they were taken
  std::atomic<size_t> next{0};
  const double client_cpu0 = process_cpu_ms();
  const double start = now_ms();
  std::vector<std::thread> pool;
  for (int c = 0; c < processes * clients_each; ++c) {
    pool.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", children[static_cast<size_t>(c % processes)].second);
      client.set_read_timeout(120, 0);
      client.set_keep_alive(true);
      for (size_t i = next++; i < bodies.size(); i = next++) {
        const double t = now_ms();
        auto r = client.Post("/api/v1/measurements", bodies[i], "application/json");
        latencies[static_cast<size_t>(c)].push_back(now_ms() - t);
        by_upload[i] = latencies[static_cast<size_t>(c)].back();
        if (!r || r->status != 200) {
          std::fprintf(stderr, "upload failed: %d\n", r ? r->status : -1);
          std::exit(1);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  const double total = now_ms() - start;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const RunFigures figures = report(name, n, total, all);
  // Which uploads were slowest (the p99 is one or two of them): a cold start shows as the first ones, a
  // stall of the writer as one in the middle (docs/benchmarks.md, "Collector ingest on idle cores").
  std::vector<size_t> order(by_upload.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return by_upload[a] > by_upload[b]; });
  std::printf("    slowest uploads:");
  for (size_t k = 0; k < std::min<size_t>(3, order.size()); ++k)
    std::printf(" #%zu of %zu %.1f ms", order[k] + 1, order.size(), by_upload[order[k]]);
  std::printf("\n");
  // The timeline index catches up in the background (every second): a series query makes each process
  // apply what is left, so the CPU below includes indexing every measurement of the run.
  for (const auto& [pid, port] : children) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(120, 0);
    auto r = client.Get("/api/v1/series");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "series query failed: %d\n", r ? r->status : -1);
      std::exit(1);
    }
  }
  // CPU of the collector processes (user, system) and of this process (the loopback clients): on a shared
  // machine the rate measures the neighbours too, CPU per measurement does not.
  double user_ms = 0, system_ms = 0, minor_faults = 0;
  std::map<std::string, double> by_thread;
  for (const auto& [pid, port] : children) {
    const auto [u, s] = child_cpu_ms(pid);
    user_ms += u;
    system_ms += s;
    minor_faults += child_minor_faults(pid);
    for (const auto& [name, ms] : child_cpu_by_thread_ms(pid)) by_thread[name] += ms;
  }
  std::printf("    collector CPU %.1f us per measurement (user %.1f, system %.1f); clients' process CPU %.1f us\n",
              (user_ms + system_ms) * 1000 / n, user_ms * 1000 / n, system_ms * 1000 / n,
              (process_cpu_ms() - client_cpu0) * 1000 / n);
  std::printf("    collector threads, us per measurement:");
  for (const auto& [name, ms] : by_thread) std::printf(" %s %.1f", name.c_str(), ms * 1000 / n);
  std::printf("; minor page faults %.1f per measurement\n", minor_faults / n);
  for (const auto& [pid, port] : children) {
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
  }
  auto store = open_store(db.location());
  if (store->log_head().size != n || store->measurement_count() != n) {
    std::fprintf(stderr, "expected %zu measurements and log entries, found %llu and %llu\n", n,
                 static_cast<unsigned long long>(store->measurement_count()),
                 static_cast<unsigned long long>(store->log_head().size));
    std::exit(1);
  }
  return figures;
}

// Three runs of the real collector on SQLite, log on, `clients` loopback clients; prints the medians.
void serve_medians(const std::vector<std::string>& bodies, size_t n, const core::KeyPair& key, const std::string& binary,
                   int clients) {
  std::vector<RunFigures> runs;
  const std::string name = "serve (SQLite), " + std::to_string(clients) + " client" + (clients > 1 ? "s" : "");
  for (int r = 0; r < 3; ++r) runs.push_back(processes_over_http(name.c_str(), bodies, n, key, "", binary, 1, clients));
  auto median = [&](double RunFigures::*field) {
    std::vector<double> v;
    for (const auto& r : runs) v.push_back(r.*field);
    std::sort(v.begin(), v.end());
    return v[1];
  };
  std::printf("  median of 3: %.0f measurements/s, batch p50 %.1f ms, p99 %.1f ms\n\n", median(&RunFigures::rate),
              median(&RunFigures::p50), median(&RunFigures::p99));
}

std::string default_collector_binary() {
  if (const char* bin = std::getenv("KUZET_COLLECTOR_BIN")) return bin;
  // build/bench/collector/bench_collector_ingest -> build/collector/kuzet-collector
  return (std::filesystem::canonical("/proc/self/exe").parent_path().parent_path().parent_path() / "collector" /
          "kuzet-collector")
      .string();
}

}  // namespace

int main(int argc, char** argv) {
  // The loopback clients share the collector's two cores. With glibc's adaptive thresholds their
  // 1.75 MB request buffers cost 13-28 us of client CPU per measurement from the second run on (kernel
  // time, page faults), against ~5 us with fixed ones: CPU taken from the collector under test.
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
  std::string server;  // --db postgresql://…: the PostgreSQL figures (issue 14)
  bool single = false;  // --single: /1 envelopes, one signature each
  while (argc > 1 && std::string(argv[1]).rfind("--", 0) == 0) {
    const std::string flag = argv[1];
    if (flag == "--single") {
      single = true;
      argv += 1;
      argc -= 1;
    } else if (flag == "--db" && argc > 2) {
      server = argv[2];
      argv += 2;
      argc -= 2;
      if (!pg::is_url(server)) return std::fprintf(stderr, "--db takes a postgresql:// URL\n"), 2;
    } else {
      return std::fprintf(stderr, "unknown option %s\n", flag.c_str()), 2;
    }
  }
  const size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 20000;
  const size_t batch = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 500;
  auto key = core::generate_ed25519();

  std::printf("generating %zu %s measurements...\n", n, single ? "singly signed (/1)" : "batch-signed");
  std::vector<nlohmann::json> measurements;
  for (size_t i = 0; i < n; ++i) {
    MeasurementSpec s;
    s.uid = "20220105T103000Z_" + std::to_string(1000000000000000 + i);
    s.started_at = core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(1641378600000 + i * 1000)));
    s.target = "site" + std::to_string(i % 200) + ".example.org";
    s.asn = i % 3 ? 9198 : 48503;
    s.padding = 1200;
    measurements.push_back(make_measurement(s));
  }
  std::vector<std::string> envelopes;
  size_t bytes = 0;
  for (size_t i = 0; i < n; i += batch) {
    // The probe signs what it uploads together (a run, one network's key) as one batch.
    std::vector<nlohmann::json> part(measurements.begin() + i, measurements.begin() + std::min(n, i + batch));
    if (single) {
      for (const auto& m : part) envelopes.push_back(envelope::sign(m, key).dump());
    } else {
      for (const auto& e : envelope::sign_batch(part, key)) envelopes.push_back(e.dump());
    }
  }
  for (const auto& e : envelopes) bytes += e.size();
  std::vector<std::string> bodies;
  for (size_t i = 0; i < n; i += batch) {
    std::vector<std::string> part(envelopes.begin() + i, envelopes.begin() + std::min(n, i + batch));
    bodies.push_back(upload_body(part));
  }
  std::printf("%zu measurements, %.0f bytes each on average, batches of %zu, %u hardware threads, load %s\n", n,
              double(bytes) / n, batch, std::thread::hardware_concurrency(), load_average().c_str());
  std::printf("host speed: %.0f Ed25519 verifications per CPU second on one thread\n\n",
              ed25519_verifications_per_cpu_second());

  // One configuration alone, for instruction counts that do not depend on the machine's load:
  //   valgrind --tool=callgrind bench_collector_ingest N BATCH none|nolog|log|http
  // "none" stops here (the generation above is the common part); the differences of the totals are the
  // ingest's instructions without and with the transparency log, and over HTTP (docs/benchmarks.md).
  if (argc > 3) {
    const std::string mode = argv[3];
    if (mode == "nolog" || mode == "log")
      direct(mode == "log" ? "ingest, log on" : "ingest, log off (schema 2)", bodies, n, key, 1, false, mode == "log");
    else if (mode == "http")
      over_http("HTTP loopback, in-process server, 1 client", bodies, n, key, 1);
    else if (mode == "timelines") {  // the timeline index's cost: the same ingest without, then with it
      direct("ingest path, 2 verify threads", bodies, n, key, 2);
      direct("same, timelines maintained", bodies, n, key, 2, true);
    }
    else if (mode == "serve") {
      const std::string binary = default_collector_binary();
      serve_medians(bodies, n, key, binary, 1);
      serve_medians(bodies, n, key, binary, 2);
    } else if (mode.rfind("serve:", 0) == 0 && std::atoi(mode.c_str() + 6) > 0) {
      serve_medians(bodies, n, key, default_collector_binary(), std::atoi(mode.c_str() + 6));
    } else if (mode != "none")
      return std::fprintf(stderr, "mode must be none, nolog, log, http, timelines, serve or serve:CLIENTS\n"), 2;
    return 0;
  }

  {
    // Inside "verify" of a /1 envelope: canonical JSON of the measurement vs the Ed25519 check itself.
    const size_t m = std::min<size_t>(n, 2000);
    std::vector<std::string> canonical;
    double c0 = process_cpu_ms();
    for (size_t i = 0; i < m; ++i) canonical.push_back(core::canonicalize(measurements[i]));
    double c1 = process_cpu_ms();
    const std::string signature = core::ed25519_sign(key, canonical[0]);
    size_t good = 0;
    for (size_t i = 0; i < m; ++i) good += core::ed25519_verify(key.public_key, canonical[0], signature);
    double c2 = process_cpu_ms();
    size_t fields = 0;
    for (size_t i = 0; i < m; ++i) fields += nlohmann::json::parse(envelopes[i]).size();
    double c3 = process_cpu_ms();
    std::printf("single-thread CPU per measurement: JSON parse %.1f us, JCS %.1f us, Ed25519 verify %.1f us (%zu/%zu good, %zu fields)\n\n",
                (c3 - c2) * 1000 / m, (c1 - c0) * 1000 / m, (c2 - c1) * 1000 / m, good, m, fields);
  }

  if (!server.empty()) {
    const std::string binary = default_collector_binary();
    // SQLite first, as the reference on the same machine at the same moment.
    direct("SQLite: ingest path, 2 verify threads", bodies, n, key, 2);
    direct("PostgreSQL: ingest path, 2 verify thr.", bodies, n, key, 2, false, true, server);
    direct("PostgreSQL: same, timelines fed", bodies, n, key, 2, true, true, server);
    processes_over_http("PostgreSQL: 1 process, 4 clients", bodies, n, key, server, binary, 1, 4);
    processes_over_http("PostgreSQL: 2 processes, 2 clients each", bodies, n, key, server, binary, 2, 2);
    processes_over_http("PostgreSQL: 1 process, 4 clients", bodies, n, key, server, binary, 1, 4);
    processes_over_http("PostgreSQL: 2 processes, 2 clients each", bodies, n, key, server, binary, 2, 2);
    return 0;
  }

  direct("ingest path, 1 verify thread", bodies, n, key, 1);
  // The transparency log's cost, back to back (the machine is shared: compare neighbours).
  direct("2 verify threads, no log (schema 2)", bodies, n, key, 2, false, false);
  direct("ingest path, 2 verify threads", bodies, n, key, 2);
  direct("same, timelines maintained", bodies, n, key, 2, true);
  over_http("HTTP loopback, 1 client", bodies, n, key, 1);
  over_http("HTTP loopback, 2 clients", bodies, n, key, 2);
  processes_over_http("serve (SQLite), 2 clients", bodies, n, key, "", default_collector_binary(), 1, 2);
  return 0;
}
