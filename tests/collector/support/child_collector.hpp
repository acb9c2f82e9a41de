#pragma once
// The real kuzet-collector binary as a child process, and raw loopback sockets from any 127.0.0.0/8
// source address (per-source limits and proxies are about where a connection comes from).
#include <doctest/doctest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/collector/support/spawn.hpp"
#include "tests/collector/support/test_db.hpp"

namespace kuzet::collector::testing {

inline std::string collector_binary() {
  const char* binary = std::getenv("KUZET_COLLECTOR_BIN");
  REQUIRE_MESSAGE(binary, "set KUZET_COLLECTOR_BIN to the kuzet-collector binary");
  return binary;
}

struct Child {
  pid_t pid = -1;
  uint16_t port = 0;
};

// Forks `binary args...` with stdout on a pipe; returns at once (no waiting for the start line).
inline pid_t spawn(const std::string& binary, const std::vector<std::string>& args, int* stdout_fd) {
  const pid_t pid = spawn_process(binary, args, stdout_fd);
  REQUIRE(pid >= 0);
  return pid;
}

// Starts `kuzet-collector serve --listen 127.0.0.1:0 --db DB [extra...]` and reads the port from its
// first line of output.
inline Child start_collector(const std::string& binary, const std::string& db,
                            const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--db", db};
  args.insert(args.end(), extra.begin(), extra.end());
  // A URL names no file for the log key: the tests keep one per database (tests/collector/support/test_db.hpp).
  if (pg::is_url(db) && std::find(extra.begin(), extra.end(), "--log-key") == extra.end())
    args.insert(args.end(), {"--log-key", test_log_key_path(db)});
  int out = -1;
  Child child;
  child.pid = spawn(binary, args, &out);
  std::string line;
  child.port = read_listen_port(out, &line);
  REQUIRE_MESSAGE(child.port != 0, "collector did not start: " << line);
  return child;
}

// Waits up to `limit` for the child to exit; its wait status, or nullopt if it is still running.
inline std::optional<int> wait_exit(pid_t pid, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// SIGKILL and reap; the wait status.
inline int kill_hard(pid_t pid) {
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Peak resident memory of a process in KiB (VmHWM), 0 if unknown.
inline long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmHWM:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    std::getline(in, key);
  }
  return 0;
}

// A TCP connection to 127.0.0.1:port from `source` (any 127.0.0.0/8 address). -1 on failure.
inline int connect_from(const std::string& source, uint16_t port, int timeout_s = 10) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{timeout_s, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads until the peer closes or the receive timeout passes.
inline std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// One request with "Connection: close" from `source`; the whole answer ("" if none).
inline std::string request_from(const std::string& source, uint16_t port, const std::string& head_and_body) {
  int fd = connect_from(source, port);
  if (fd < 0) return "";
  std::string answer = send_all(fd, head_and_body) ? read_all(fd) : "";
  close(fd);
  return answer;
}

inline int status_of(const std::string& answer) {
  if (answer.compare(0, 9, "HTTP/1.1 ") != 0 || answer.size() < 12) return 0;
  return std::atoi(answer.substr(9, 3).c_str());
}

}  // namespace kuzet::collector::testing
