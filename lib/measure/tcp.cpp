#include "measure/tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/time.hpp"
#include "core/vocabulary/failure.hpp"

namespace kuzet::measure {

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Socket::~Socket() {
  if (fd_ >= 0) ::close(fd_);
}

std::string classify_errno(int err, const std::string& layer) {
  switch (err) {
    case ECONNREFUSED:
      // A RST answering our SYN is "refused" at TCP; later in the exchange it is a reset of that layer.
      return layer == "tcp" ? std::string(core::failure::tcp_refused) : layer + ".reset";
    case ECONNRESET:
    case EPIPE:
      return layer + ".reset";
    case ETIMEDOUT:
      return layer + ".timeout";
    case ENETUNREACH:
    case EHOSTUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case EADDRNOTAVAIL:
      return layer == "tcp" ? std::string(core::failure::tcp_unreachable) : layer + ".error";
    default:
      return layer + ".error";
  }
}

namespace {
bool fill_sockaddr(const std::string& address, uint16_t port, sockaddr_storage& ss, socklen_t& len) {
  std::memset(&ss, 0, sizeof ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}
}  // namespace

TcpConnect tcp_connect(const std::string& address, uint16_t port, int timeout_ms, Socket* keep) {
  TcpConnect obs;
  obs.address = address;
  obs.port = port;
  core::Stopwatch sw;
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!fill_sockaddr(address, port, ss, len)) {
    obs.failure = core::failure::tcp_error;
    return obs;
  }
  Socket sock(::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!sock) {
    obs.failure = core::failure::tcp_error;
    return obs;
  }
  int rc = ::connect(sock.fd(), reinterpret_cast<sockaddr*>(&ss), len);
  if (rc != 0 && errno != EINPROGRESS) {
    obs.failure = classify_errno(errno, "tcp");
    obs.duration_ms = sw.elapsed_ms();
    return obs;
  }
  if (rc != 0) {
    pollfd pfd{sock.fd(), POLLOUT, 0};
    int remaining = timeout_ms;
    int pr;
    do {
      pr = ::poll(&pfd, 1, remaining);
      remaining = timeout_ms - static_cast<int>(sw.elapsed_ms());
    } while (pr < 0 && errno == EINTR && remaining > 0);
    if (pr == 0 || (pr < 0 && remaining <= 0)) {
      obs.failure = core::failure::tcp_timeout;
      obs.duration_ms = sw.elapsed_ms();
      return obs;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(sock.fd(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) {
      obs.failure = classify_errno(err, "tcp");
      obs.duration_ms = sw.elapsed_ms();
      return obs;
    }
  }
  obs.duration_ms = sw.elapsed_ms();
  int one = 1;
  ::setsockopt(sock.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (keep) *keep = std::move(sock);
  return obs;
}

}  // namespace kuzet::measure
