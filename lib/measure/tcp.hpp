#pragma once
#include <cstdint>
#include <string>

#include "measure/observations.hpp"

namespace kuzet::measure {

// An owned socket descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.release()) {}
  Socket& operator=(Socket&& o) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();
  int fd() const { return fd_; }
  int release() { int f = fd_; fd_ = -1; return f; }
  explicit operator bool() const { return fd_ >= 0; }
 private:
  int fd_ = -1;
};

// Non-blocking connect with a timeout; classifies refused/reset/timeout/unreachable.
// On success and when `keep` is given, the connected socket is handed over for the TLS step.
TcpConnect tcp_connect(const std::string& address, uint16_t port, int timeout_ms, Socket* keep = nullptr);

// Maps an errno from connect/read/write to the failure vocabulary with the given layer prefix
// ("tcp", "tls", "http"): ECONNRESET -> "<layer>.reset", ETIMEDOUT -> "<layer>.timeout", ...
std::string classify_errno(int err, const std::string& layer);

}  // namespace kuzet::measure
