// Does the collector serve honest clients while attacked? Prints figures; not a test (docs/collector.md,
// "Staying up"). Starts the given kuzet-collector binary on loopback, opens SLOW slow clients from
// 127.0.0.2... (a head byte every second), then times /healthz and signed uploads of 100 measurements
// from 127.0.0.1. Run it on two builds to compare designs:
//   bench_collector_abuse BINARY [SLOW=64] [HEALTH=20] [UPLOADS=10]
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/collector/support/helpers.hpp"

using namespace kuzet;
using namespace kuzet::collector::testing;
using Clock = std::chrono::steady_clock;

namespace {

int connect_from(const std::string& source, uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{}, remote{};
  local.sin_family = remote.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  remote.sin_port = htons(port);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

void summary(const char* what, std::vector<double> ms, int failed) {
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))]; };
  std::printf("%-22s answered %zu, failed/timed out %d, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", what, ms.size(),
              failed, at(0.5), at(0.99), ms.empty() ? 0.0 : ms.back());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_collector_abuse BINARY [SLOW] [HEALTH] [UPLOADS]\n");
    return 2;
  }
  const std::string binary = argv[1];
  const int slow_count = argc > 2 ? std::atoi(argv[2]) : 64;
  const int health_count = argc > 3 ? std::atoi(argv[3]) : 20;
  const int upload_count = argc > 4 ? std::atoi(argv[4]) : 10;
  TempDir dir;
  const std::string db = dir.file("bench.db");

  int out[2];
  if (pipe(out) != 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    execl(binary.c_str(), binary.c_str(), "serve", "--listen", "127.0.0.1:0", "--db", db.c_str(), nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char ch;
  while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(out[0]);
  auto at = line.find("127.0.0.1:");
  if (at == std::string::npos) {
    std::fprintf(stderr, "collector did not start: %s\n", line.c_str());
    return 1;
  }
  const uint16_t port = static_cast<uint16_t>(std::stoi(line.substr(at + 10)));

  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(5, 0);  // "failed" below means no answer within 5 s
  auto key = core::generate_ed25519();
  c.Post("/api/v1/probes/register", register_body(key), "application/json");

  std::vector<int> slow;
  for (int i = 0; i < slow_count; ++i) {
    int fd = connect_from("127.0.0." + std::to_string(2 + i % 250), port);
    if (fd < 0) continue;
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: kuzet\r\nX-Slow: ";
    (void)send(fd, head.data(), head.size(), MSG_NOSIGNAL);
    slow.push_back(fd);
  }
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    while (!done) {
      for (int fd : slow) (void)send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      for (int t = 0; t < 10 && !done; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::printf("collector %s, %zu slow clients connected\n", binary.c_str(), slow.size());

  std::vector<double> health_ms, upload_ms;
  int health_failed = 0, upload_failed = 0;
  for (int i = 0; i < health_count; ++i) {
    auto t = Clock::now();
    auto r = c.Get("/healthz");
    if (r && r->status == 200) health_ms.push_back(ms_since(t));
    else ++health_failed;
  }
  for (int i = 0; i < upload_count; ++i) {
    std::vector<std::string> envelopes;
    for (int m = 0; m < 100; ++m) {
      MeasurementSpec s;
      s.uid = "bench-abuse-" + std::to_string(i) + "-" + std::to_string(m);
      s.started_at = now_plus(std::chrono::minutes(-1));
      s.padding = 1200;
      envelopes.push_back(signed_envelope(s, key));
    }
    const std::string body = upload_body(envelopes);
    auto t = Clock::now();
    auto r = c.Post("/api/v1/measurements", body, "application/json");
    if (r && r->status == 200) upload_ms.push_back(ms_since(t));
    else ++upload_failed;
  }
  summary("GET /healthz", health_ms, health_failed);
  summary("upload (100 meas.)", upload_ms, upload_failed);

  done = true;
  trickle.join();
  for (int fd : slow) close(fd);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return 0;
}
