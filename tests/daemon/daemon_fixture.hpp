#pragma once
// Helpers for driving the real kuzet-probe daemon and kuzet-collector binaries on loopback: processes,
// free ports, a target web server, config files, and reading back what the collector stored.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto/crypto.hpp"
#include "probe/daemon/queue.hpp"
#include "probe/daemon/status.hpp"
#include "tests/loopback_port.hpp"

namespace kuzet::daemon_testing {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("kuzet-daemon-" + core::random_hex(6));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// A child process with stdout/stderr in files. Killed (SIGKILL) if still running at destruction.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log_prefix) : log_prefix_(log_prefix) {
    // Everything that allocates happens before fork: the test has other threads (servers).
    const std::string out_path = log_prefix + ".out", err_path = log_prefix + ".err";
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(30));
    }
  }
  pid_t pid() const { return pid_; }
  bool running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      status_ = status;
      return false;
    }
    return true;
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // The wait status, or nullopt if it did not exit in time.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running()) {
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
  }
  std::string stderr_text() const { return read_text(log_prefix_ + ".err"); }
  std::string stdout_text() const { return read_text(log_prefix_ + ".out"); }

 private:
  std::string log_prefix_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
};

using testing::unused_loopback_port;

inline bool wait_for(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// The real collector binary on 127.0.0.1:port.
class CollectorProcess {
 public:
  CollectorProcess(uint16_t port, const std::string& db, const std::string& log_prefix)
      : port_(port),
        process_({KUZET_COLLECTOR_BIN, "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--db", db},
                 log_prefix) {
    ready_ = wait_for([&] {
      httplib::Client c("127.0.0.1", port_);
      c.set_connection_timeout(1, 0);
      auto r = c.Get("/healthz");
      return (r && r->status == 200) || !process_.running();
    }, std::chrono::seconds(60)) && process_.running();
  }
  bool ready() const { return ready_; }
  Process& process() { return process_; }
  // The stored envelope of a measurement, or nullopt.
  std::optional<nlohmann::json> measurement(const std::string& uid) const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    auto r = c.Get(("/api/v1/measurements/" + uid).c_str());
    if (!r || r->status != 200) return std::nullopt;
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  }

 private:
  uint16_t port_;
  Process process_;
  bool ready_ = false;
};

// A web server on loopback: "/" answers at once, "/slow" after `slow_ms` (and says it was reached).
class TargetServer {
 public:
  explicit TargetServer(int slow_ms = 3000) {
    server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html><title>target</title>hello</html>", "text/html");
    });
    server_.Get("/slow", [this, slow_ms](const httplib::Request&, httplib::Response& res) {
      slow_reached = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
      res.set_content("<html>slow</html>", "text/html");
    });
    port = static_cast<uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~TargetServer() {
    server_.stop();
    thread_.join();
  }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port) + path; }
  uint16_t port = 0;
  std::atomic<bool> slow_reached{false};

 private:
  httplib::Server server_;
  std::thread thread_;
};

struct DaemonConfig {
  std::vector<std::string> collectors;
  std::vector<std::string> targets;  // first is category "control" (an anchor), the rest "news"
  std::string data_dir;
  int interval_s = 1, jitter_s = 0, shutdown_interval_s = 1;
  int batch_size = 200;
  bool consent = true;  // the volunteer's recorded consent (probe/ui/consent.hpp): tests record it explicitly
  std::string status_page = "off";  // tests run many daemons at once: no fixed port each
};

inline std::string write_config(const TempDir& dir, const DaemonConfig& c, const std::string& name = "probe.yaml") {
  std::string spec = "targets:\n";
  for (size_t i = 0; i < c.targets.size(); ++i)
    spec += "  - {url: \"" + c.targets[i] + "\", category: " + (i == 0 ? "control" : "news") + "}\n";
  write_text(dir.file("spec.yaml"), spec);
  std::string yaml = "collectors:\n";
  for (const auto& url : c.collectors) yaml += "  - " + url + "\n";
  if (c.collectors.empty()) yaml = "collectors: []\n";
  yaml += "specs:\n  - spec.yaml\n";
  yaml += "data_dir: " + c.data_dir + "\n";
  yaml += "schedule:\n  interval: " + std::to_string(c.interval_s) + "\n  jitter: " + std::to_string(c.jitter_s) +
          "\n  shutdown_interval: " + std::to_string(c.shutdown_interval_s) + "\n";
  yaml += "upload:\n  batch_size: " + std::to_string(c.batch_size) + "\n";
  yaml += "timeouts:\n  dns: 2s\n  tcp: 3s\n  tls: 3s\n  http: 10s\n";
  if (c.consent) yaml += "consent: {version: 1, accepted_at: \"2026-01-01T00:00:00Z\", language: en}\n";
  yaml += "status_page: \"" + c.status_page + "\"\n";
  write_text(dir.file(name), yaml);
  return dir.file(name);
}

inline std::optional<probe::daemon::DaemonStatus> status_of(const std::string& data_dir) {
  std::string error;
  return probe::daemon::read_status(data_dir, &error);
}

inline uint64_t runs_of(const std::string& data_dir) {
  auto s = status_of(data_dir);
  return s ? s->runs : 0;
}

// uid -> envelope of every record waiting in a daemon's queue.
inline std::map<std::string, nlohmann::json> queued(const std::string& data_dir) {
  std::map<std::string, nlohmann::json> out;
  probe::daemon::scan_queue(data_dir + "/queue", [&](const std::string& payload) {
    auto env = nlohmann::json::parse(payload);
    out[env["measurement"]["measurement_uid"].get<std::string>()] = env;
  });
  return out;
}

}  // namespace kuzet::daemon_testing
