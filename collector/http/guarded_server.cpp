#include "collector/http/guarded_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "collector/http/framing.hpp"
#include "collector/http/source.hpp"
#include "core/thread_name.hpp"

namespace kuzet::collector::http {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kRecvChunk = 16 * 1024;
constexpr int kPollSliceMs = 200;  // blocking waits wake this often to notice stop()

int ms_until(Clock::time_point t) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

// Best effort, never blocks: the client may be gone or not reading.
void send_status_and_close(int fd, const char* status_line) {
  std::string msg = std::string("HTTP/1.1 ") + status_line + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  (void)::send(fd, msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_RDWR);
  ::close(fd);
}

void peer_of(int fd, std::string* ip, int* port, bool local) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int rc = local ? getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                 : getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ip->clear();
  *port = 0;
  if (rc != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    *port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], text, sizeof text);
    else inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    *port = ntohs(a->sin6_port);
  }
  *ip = text;
}

// Method and path (without the query) of the request line at buffer[pos..].
std::pair<std::string, std::string> request_route(const std::string& buffer, size_t pos) {
  const size_t line_end = buffer.find("\r\n", pos);
  const std::string line = buffer.substr(pos, line_end - pos);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  std::string target = sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
  return {line.substr(0, sp1), target.substr(0, target.find('?'))};
}

// Leaves httplib one Accept-Encoding line, `gzip`, when the client takes gzip, and none otherwise: httplib
// answers `br` with Brotli at its slowest setting (accepts_gzip, framing.hpp).
void offer_gzip_only(httplib::Headers& headers) {
  auto [first, end] = headers.equal_range("Accept-Encoding");
  if (first == end) return;
  std::string list;
  for (auto it = first; it != end; ++it) list.append(it->second).append(",");
  headers.erase(first, end);
  if (accepts_gzip(list)) headers.emplace("Accept-Encoding", "gzip");
}

}  // namespace

struct GuardedServer::Connection {
  int fd = -1;
  std::string ip;
  int port = 0;
  std::string source;  // network key the per-source limit counts
  bool counted_per_source = false;
  std::string buffer;  // received, not yet handed to httplib: buffer[pos..]
  size_t pos = 0;
  Clock::time_point deadline;
  size_t requests = 0;
  // After a complete head, while the reception thread still receives the body (framing.hpp).
  bool receiving_body = false;
  size_t head_end = 0;             // buffer offset just past the head's blank line
  size_t body_wanted = 0;          // Content-Length, or the wire cap of a chunked body
  bool chunked = false;
  ChunkScan chunks;
  size_t counted_body = 0;         // body bytes counted in Impl::buffered_body_bytes
  // The head's framing refused (framing.hpp): this status is answered, httplib never sees the request.
  const char* framing_refusal = nullptr;

  bool has_complete_head() const { return buffer.find("\r\n\r\n", pos) != std::string::npos; }
  size_t unread() const { return buffer.size() - pos; }
};

namespace {

// What httplib reads from and writes to: the connection's buffer first, then the socket, always with
// a total deadline and a byte budget for the current phase.
class GuardedStream : public httplib::Stream {
 public:
  GuardedStream(GuardedServer::Connection& c, const GuardLimits& limits, const std::atomic<bool>& stopping)
      : c_(c), limits_(limits), stopping_(stopping) {
    read_deadline_ = Clock::now() + std::chrono::milliseconds(limits.head_timeout_ms);
    read_budget_ = limits.max_head_bytes;
  }

  // The head is parsed: from now on reads are the body, with its own cap and deadline.
  void begin_body(size_t wire_budget, bool over_limit) {
    read_budget_ = over_limit ? 0 : wire_budget;
    too_large_ = over_limit;
    read_deadline_ = Clock::now() + std::chrono::milliseconds(limits_.body_timeout_ms);
  }
  // The request's whole body where the reception thread buffered it, taken as if read: a Content-Length
  // body within its cap, nothing left to receive, no transfer or content coding. nullopt otherwise (then
  // httplib reads it, with every check as before). The view lives until the handler returns.
  std::optional<std::string_view> take_buffered_body(const httplib::Request& req) {
    if (refusal_ || too_large_ || failed_ || req.has_header("Transfer-Encoding") ||
        req.get_header_value_count("Content-Length") != 1)
      return std::nullopt;
    const auto length = content_length_value(req.get_header_value("Content-Length"));
    if (!length || *length > read_budget_ || *length > c_.unread()) return std::nullopt;
    const std::string_view body(c_.buffer.data() + c_.pos, *length);
    c_.pos += *length;
    read_budget_ -= *length;
    return body;
  }
  void mark_too_large() { too_large_ = true; }
  bool too_large() const { return too_large_; }
  // The body is not read at all: its reads fail, and the guard answers `status` (e.g. 415) and closes.
  void refuse_body(int status) {
    read_budget_ = 0;
    refusal_ = status;
  }
  // The status of a refused body that httplib tried to read; 0 otherwise (a GET never reads one).
  int refused_status() const { return failed_ ? refusal_ : 0; }
  bool failed() const { return failed_; }

  bool is_readable() const override { return c_.unread() > 0 || wait_for(POLLIN, read_deadline_); }
  bool is_writable() const override {
    return wait_for(POLLOUT, Clock::now() + std::chrono::milliseconds(limits_.write_timeout_ms));
  }

  ssize_t read(char* ptr, size_t size) override {
    if (read_budget_ == 0) {
      too_large_ = refusal_ == 0;
      failed_ = true;
      return -1;
    }
    size = std::min(size, read_budget_);
    if (c_.unread() == 0) {
      c_.buffer.clear();
      c_.pos = 0;
      if (!fill()) {
        failed_ = true;
        return -1;
      }
    }
    const size_t n = std::min(size, c_.unread());
    std::memcpy(ptr, c_.buffer.data() + c_.pos, n);
    c_.pos += n;
    read_budget_ -= n;
    return static_cast<ssize_t>(n);
  }

  // Each write (httplib writes the head, then the body) has write_timeout_ms in total.
  ssize_t write(const char* ptr, size_t size) override {
    const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.write_timeout_ms);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::send(c_.fd, ptr + done, size - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) && wait_for(POLLOUT, deadline)) continue;
      failed_ = true;
      return done > 0 ? static_cast<ssize_t>(done) : -1;
    }
    return static_cast<ssize_t>(done);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.ip;
    port = c_.port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override { peer_of(c_.fd, &ip, &port, true); }
  socket_t socket() const override { return c_.fd; }

 private:
  // Waits for `events` until `deadline`, in slices so that stop() is noticed.
  bool wait_for(short events, Clock::time_point deadline) const {
    for (;;) {
      if (stopping_) return false;
      const int left = ms_until(deadline);
      pollfd p{c_.fd, events, 0};
      int rc = ::poll(&p, 1, std::min(left, kPollSliceMs));
      if (rc > 0) return (p.revents & (events | POLLHUP | POLLERR)) != 0;
      if (rc < 0 && errno != EINTR) return false;
      if (left == 0) return false;
    }
  }

  bool fill() {
    for (;;) {
      char chunk[kRecvChunk];
      ssize_t n = ::recv(c_.fd, chunk, sizeof chunk, 0);
      if (n > 0) {
        c_.buffer.append(chunk, static_cast<size_t>(n));
        return true;
      }
      if (n == 0) return false;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
      if (!wait_for(POLLIN, read_deadline_)) return false;
    }
  }

  GuardedServer::Connection& c_;
  const GuardLimits& limits_;
  const std::atomic<bool>& stopping_;
  Clock::time_point read_deadline_;
  size_t read_budget_ = 0;
  bool too_large_ = false;
  int refusal_ = 0;
  bool failed_ = false;
};

thread_local GuardedStream* tl_stream = nullptr;

using ConnectionPtr = std::unique_ptr<GuardedServer::Connection>;

// A bounded queue of connections with complete heads, served by its own threads.
struct Pool {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<ConnectionPtr> queue;
  std::vector<std::thread> threads;
  bool closing = false;
};

}  // namespace

struct GuardedServer::Impl {
  GuardedServer& server;
  std::atomic<bool> stopping{false};
  std::vector<std::pair<std::string, size_t>> body_limits;
  std::set<std::pair<std::string, std::string>> slow_routes;
  std::function<void(httplib::Request&)> setup;
  httplib::Server::Handler on_error;

  std::mutex admission_mutex;
  std::unordered_map<std::string, size_t> per_source;

  int epoll_fd = -1;
  int wake_fd = -1;
  std::mutex incoming_mutex;
  std::vector<ConnectionPtr> incoming;  // new connections, and kept-alive ones back from a worker
  std::thread reception;
  Pool fast, slow;
  bool started = false;

  explicit Impl(GuardedServer& s) : server(s) {}

  void close_connection(ConnectionPtr c) {
    if (!c || c->fd < 0) return;
    ::shutdown(c->fd, SHUT_RDWR);
    ::close(c->fd);
    c->fd = -1;
    release(*c);
  }
  // After refusing a body: stop sending, then read and drop what the client still sends for a moment, so
  // that our answer is not lost to a reset when we close with unread data (nginx's lingering close).
  void linger_and_close(ConnectionPtr c) {
    ::shutdown(c->fd, SHUT_WR);
    const auto until = Clock::now() + std::chrono::seconds(1);
    size_t dropped = 0;
    char sink[kRecvChunk];
    while (dropped < 8 * 1024 * 1024 && !stopping) {
      const int left = ms_until(until);
      pollfd p{c->fd, POLLIN, 0};
      if (left == 0 || ::poll(&p, 1, std::min(left, kPollSliceMs)) < 0) break;
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::recv(c->fd, sink, sizeof sink, 0);
      if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR))) break;
      if (n > 0) dropped += static_cast<size_t>(n);
    }
    close_connection(std::move(c));
  }
  void refuse(ConnectionPtr c, const char* status_line) {
    send_status_and_close(c->fd, status_line);
    c->fd = -1;
    release(*c);
  }
  void release(Connection& c) {
    std::lock_guard lock(admission_mutex);
    if (c.counted_per_source) {
      auto it = per_source.find(c.source);
      if (it != per_source.end() && --it->second == 0) per_source.erase(it);
      c.counted_per_source = false;
    }
    server.counters_.open_connections--;
  }

  void wake() {
    uint64_t one = 1;
    if (wake_fd >= 0) (void)!::write(wake_fd, &one, sizeof one);
  }

  void hand_to_reception(ConnectionPtr c) {
    {
      std::lock_guard lock(incoming_mutex);
      incoming.push_back(std::move(c));
    }
    wake();
  }

  // A complete head goes to the pool its route belongs to; a full queue is a 503.
  void dispatch(ConnectionPtr c) {
    forget_body(*c);
    if (c->framing_refusal) {
      server.counters_.refused_framing++;
      const char* status = c->framing_refusal;
      refuse(std::move(c), status);
      return;
    }
    const auto [method, path] = request_route(c->buffer, c->pos);
    Pool& pool = slow_routes.count({method, path}) ? slow : fast;
    {
      std::lock_guard lock(pool.mutex);
      if (!pool.closing && pool.queue.size() < server.limits_.max_queued) {
        pool.queue.push_back(std::move(c));
        pool.ready.notify_one();
        return;
      }
    }
    server.counters_.queue_full++;
    refuse(std::move(c), "503 Service Unavailable");
  }

  // Body bytes the reception thread holds for all connections together (reception thread only).
  size_t buffered_body_bytes = 0;

  void forget_body(Connection& c) {
    buffered_body_bytes -= c.counted_body;
    c.counted_body = 0;
    c.receiving_body = false;
  }

  // Called when a connection's head is complete, and again whenever more of it arrived: true while the
  // reception thread should keep receiving the body, false when a worker should take the request now
  // (no body, the body complete, a framing httplib must refuse, or the buffer budget spent).
  bool keep_receiving(Connection& c) {
    if (!c.receiving_body) {
      const size_t head_end = c.buffer.find("\r\n\r\n", c.pos) + 4;
      const BodyFraming f = body_framing(std::string_view(c.buffer).substr(c.pos, head_end - c.pos));
      const size_t cap = server.body_limit(request_route(c.buffer, c.pos).second);
      // Where the body ends must not be open to two readings (RFC 9112 6.3): a front proxy that took the
      // other would see our next request where we saw a body, or the reverse (request smuggling). httplib
      // 0.11 reads the first of several lengths, "5x" as 5, and only the first Transfer-Encoding line.
      if (f.ambiguous()) {
        c.framing_refusal = "400 Bad Request";
        return false;
      }
      // A transfer coding under chunked would be ours to decode, like a content coding (RFC 9112 6.1).
      if (f.coding == TransferCoding::unsupported) {
        c.framing_refusal = "501 Not Implemented";
        return false;
      }
      if (f.chunked()) {
        c.body_wanted = cap + cap / 8 + 4096;  // the wire cap of serve(): framing counted too
      } else {
        if (f.invalid_length || f.content_length.value_or(0) == 0 || *f.content_length > cap) return false;
        c.body_wanted = *f.content_length;
      }
      c.receiving_body = true;
      c.chunked = f.chunked();
      c.chunks = {};
      c.head_end = head_end;
      c.deadline = Clock::now() + std::chrono::milliseconds(server.limits_.body_timeout_ms);
      if (f.expect_continue) {
        // The client waits for this before it sends the body; httplib must not send it a second time.
        if (auto line = expect_line(std::string_view(c.buffer).substr(c.pos, head_end - c.pos))) {
          c.buffer.erase(c.pos + line->first, line->second);
          c.head_end -= line->second;
        }
        static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        (void)::send(c.fd, kContinue, sizeof kContinue - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      }
    }
    const size_t have = c.buffer.size() - c.head_end;
    buffered_body_bytes += have - c.counted_body;
    c.counted_body = have;
    if (buffered_body_bytes > server.limits_.max_buffered_body_bytes) return false;
    if (have >= c.body_wanted) return false;
    if (!c.chunked) return true;
    return scan_chunked(std::string_view(c.buffer).substr(c.head_end), c.chunks) == ChunkProgress::need_more;
  }

  // One thread receives the heads, and the bodies, of all connections: a slow client costs its buffer,
  // not a thread.
  void reception_loop() {
    std::unordered_map<int, ConnectionPtr> waiting;
    epoll_event events[64];
    while (!stopping) {
      std::vector<ConnectionPtr> arrived;
      {
        std::lock_guard lock(incoming_mutex);
        arrived.swap(incoming);
      }
      for (auto& c : arrived) {
        if (c->has_complete_head() && !keep_receiving(*c)) {
          dispatch(std::move(c));
          continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP;
        ev.data.fd = c->fd;
        if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
          close_connection(std::move(c));
          continue;
        }
        const int fd = c->fd;
        waiting[fd] = std::move(c);
      }
      const int n = epoll_wait(epoll_fd, events, 64, kPollSliceMs);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd) {
          uint64_t count;
          (void)!::read(wake_fd, &count, sizeof count);
          continue;
        }
        auto it = waiting.find(fd);
        if (it == waiting.end()) continue;
        Connection& c = *it->second;
        bool gone = false;
        const size_t limit =
            c.receiving_body ? c.head_end - c.pos + c.body_wanted : server.limits_.max_head_bytes;
        while (c.unread() < limit) {
          char chunk[kRecvChunk];
          const size_t room = std::min(sizeof chunk, limit - c.unread());
          ssize_t got = ::recv(fd, chunk, room, 0);
          if (got > 0) {
            c.buffer.append(chunk, static_cast<size_t>(got));
            continue;
          }
          gone = got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
          break;
        }
        if (c.has_complete_head() && !keep_receiving(c)) {
          epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
          ConnectionPtr owned = std::move(it->second);
          waiting.erase(it);
          dispatch(std::move(owned));
        } else if (gone) {
          epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
          forget_body(c);
          close_connection(std::move(it->second));
          waiting.erase(it);
        } else if (!c.receiving_body && c.unread() >= server.limits_.max_head_bytes) {
          server.counters_.too_large++;
          epoll_ctl(epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
          refuse(std::move(it->second), "431 Request Header Fields Too Large");
          waiting.erase(it);
        }
      }
      const auto now = Clock::now();
      for (auto it = waiting.begin(); it != waiting.end();) {
        if (it->second->deadline > now) {
          ++it;
          continue;
        }
        // Only a request that had begun gets an answer; an idle kept-alive connection is just closed.
        if (it->second->unread() > 0) server.counters_.head_timeouts++;
        forget_body(*it->second);
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, it->first, nullptr);
        if (it->second->unread() > 0) refuse(std::move(it->second), "408 Request Timeout");
        else close_connection(std::move(it->second));
        it = waiting.erase(it);
      }
    }
    for (auto& [fd, c] : waiting) {
      forget_body(*c);
      close_connection(std::move(c));
    }
  }

  void worker_loop(Pool& pool) {
    for (;;) {
      ConnectionPtr c;
      {
        std::unique_lock lock(pool.mutex);
        pool.ready.wait(lock, [&] { return pool.closing || !pool.queue.empty(); });
        if (pool.closing) return;
        c = std::move(pool.queue.front());
        pool.queue.pop_front();
      }
      serve(std::move(c));
    }
  }

  // One request on a worker: httplib parses the head (already buffered), reads the body and answers.
  void serve(ConnectionPtr c) {
    GuardedStream stream(*c, server.limits_, stopping);
    tl_stream = &stream;
    c->requests++;
    const bool last = c->requests >= server.limits_.max_requests_per_connection || stopping;
    bool connection_closed = false;
    server.process_request(stream, last, connection_closed, [&](httplib::Request& req) {
      const size_t cap = server.body_limit(req.path);
      const bool chunked = chunked_value(req.get_header_value("Transfer-Encoding"));
      // Chunked framing is counted too: allow it an eighth on top, plus room for the last lines.
      const size_t wire = chunked ? cap + cap / 8 + 4096 : cap;
      // The reception thread refused any Content-Length but one number.
      const size_t declared = content_length_value(req.get_header_value("Content-Length")).value_or(0);
      const bool over = declared > cap;
      // A declared length a little over httplib's own cap is read and dropped by httplib (no memory),
      // so that a client that does not wait for our answer still gets its 413; anything else over the
      // cap is answered at once.
      if (over && declared > server.payload_max_length_ && declared <= 2 * cap + (1 << 20)) {
        stream.begin_body(static_cast<size_t>(declared), false);
        stream.mark_too_large();
      } else {
        stream.begin_body(wire, over);
      }
      // httplib 0.11 answers a Range of several parts with a copy of the whole answer per part, built in
      // memory: "bytes=0-,0-,..." in one 8 KiB header line is ~2,700 copies (cpp-httplib issue 1766, fixed
      // after Debian 12's version). One range cannot amplify; for more, the whole answer (RFC 9110 14.2).
      if (req.ranges.size() > 1) req.ranges.clear();
      offer_gzip_only(req.headers);
      // Every Content-Encoding header, not only the first that httplib reads.
      for (auto [it, end] = req.headers.equal_range("Content-Encoding"); it != end; ++it)
        if (!identity_coding(it->second)) stream.refuse_body(415);
      if (setup) setup(req);
    });
    tl_stream = nullptr;
    if (stream.too_large()) {
      server.counters_.too_large++;
      return linger_and_close(std::move(c));
    }
    if (stream.refused_status()) return linger_and_close(std::move(c));
    if (last || connection_closed || stream.failed() || stream.too_large() || stopping) {
      close_connection(std::move(c));
      return;
    }
    // Kept alive: wait for the next head in the reception thread, not on this worker.
    c->buffer.erase(0, c->pos);
    c->pos = 0;
    c->deadline = Clock::now() + std::chrono::milliseconds(server.limits_.head_timeout_ms);
    hand_to_reception(std::move(c));
  }

  void start() {
    if (started) return;
    started = true;
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, wake_fd, &ev);
    reception = std::thread([this] {
      core::name_this_thread("http-reception");
      reception_loop();
    });
    for (size_t i = 0; i < std::max<size_t>(1, server.limits_.workers); ++i)
      fast.threads.emplace_back([this] {
        core::name_this_thread("http-worker");
        worker_loop(fast);
      });
    for (size_t i = 0; i < std::max<size_t>(1, server.limits_.slow_workers); ++i)
      slow.threads.emplace_back([this] {
        core::name_this_thread("http-slow");
        worker_loop(slow);
      });
  }

  void shutdown() {
    stopping = true;
    wake();
    if (reception.joinable()) reception.join();
    for (Pool* pool : {&fast, &slow}) {
      {
        std::lock_guard lock(pool->mutex);
        pool->closing = true;
      }
      pool->ready.notify_all();
      for (auto& t : pool->threads) t.join();
      pool->threads.clear();
      for (auto& c : pool->queue) close_connection(std::move(c));
      pool->queue.clear();
    }
    std::vector<ConnectionPtr> left;
    {
      std::lock_guard lock(incoming_mutex);
      left.swap(incoming);
    }
    for (auto& c : left) close_connection(std::move(c));
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (wake_fd >= 0) ::close(wake_fd);
    epoll_fd = wake_fd = -1;
  }
};

namespace {

// httplib's accept loop hands each accepted socket to enqueue(): admit it right there (cheap, no thread).
class InlineQueue : public httplib::TaskQueue {
 public:
  explicit InlineQueue(GuardedServer::Impl& impl) : impl_(impl) {}
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override { impl_.shutdown(); }

 private:
  GuardedServer::Impl& impl_;
};

}  // namespace

GuardedServer::GuardedServer(GuardLimits limits) : limits_(std::move(limits)), impl_(std::make_unique<Impl>(*this)) {
  new_task_queue = [this] {
    impl_->start();
    return new InlineQueue(*impl_);
  };
  // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, which lets a second server share the port.
  set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  set_payload_max_length(limits_.default_body_bytes);
  httplib::Server::set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (tl_stream && tl_stream->too_large()) {
      res.status = 413;
      res.body.clear();
    } else if (tl_stream && tl_stream->refused_status()) {
      res.status = tl_stream->refused_status();
      res.body.clear();
    }
    if (impl_->on_error) impl_->on_error(req, res);
  });
}

GuardedServer::~GuardedServer() {
  stop();
  if (impl_->started && impl_->epoll_fd >= 0) impl_->shutdown();
}

void GuardedServer::set_body_limit(const std::string& path_prefix, size_t bytes) {
  impl_->body_limits.emplace_back(path_prefix, bytes);
  size_t largest = limits_.default_body_bytes;
  for (const auto& [prefix, cap] : impl_->body_limits) largest = std::max(largest, cap);
  set_payload_max_length(largest);  // httplib's own check, a second line behind the per-route one
}

void GuardedServer::post_with_body(const std::string& pattern, BodyHandler handler) {
  Post(pattern, [this, handler = std::move(handler)](const httplib::Request& req, httplib::Response& res,
                                                     const httplib::ContentReader& read) {
    if (tl_stream) {
      if (auto body = tl_stream->take_buffered_body(req)) {
        counters_.bodies_in_place++;
        return handler(req, *body, res);
      }
    }
    std::string body;
    // On a failed read httplib has set the status (400, 413; the guard's 413 or 415 replace it).
    if (!read([&body](const char* data, size_t size) {
          body.append(data, size);
          return true;
        }))
      return;
    handler(req, body, res);
  });
}

void GuardedServer::set_slow_route(const std::string& method, const std::string& path) {
  impl_->slow_routes.emplace(method, path);
}

void GuardedServer::set_request_setup(std::function<void(httplib::Request&)> setup) { impl_->setup = std::move(setup); }

void GuardedServer::set_error_responder(Handler handler) { impl_->on_error = std::move(handler); }

size_t GuardedServer::body_limit(const std::string& path) const {
  size_t best_length = 0;
  size_t cap = limits_.default_body_bytes;
  for (const auto& [prefix, bytes] : impl_->body_limits) {
    if (path.compare(0, prefix.size(), prefix) == 0 && prefix.size() >= best_length) {
      best_length = prefix.size();
      cap = bytes;
    }
  }
  return cap;
}

int GuardedServer::bind(const std::string& host, int port) {
  int bound = port == 0 ? bind_to_any_port(host) : (bind_to_port(host, port) ? port : -1);
  if (bound <= 0) return -1;
  // httplib listens with a backlog of 5; listen() again on the same socket raises it.
  ::listen(svr_sock_, limits_.listen_backlog);
  return bound;
}

bool GuardedServer::run() {
  if (impl_->stopping) return true;
  return listen_after_bind();
}

void GuardedServer::stop() {
  impl_->stopping = true;
  // Closing the listening socket ends httplib's accept loop, also when it has not started yet.
  socket_t sock = svr_sock_.exchange(INVALID_SOCKET);
  if (sock != INVALID_SOCKET) {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  impl_->wake();
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  auto c = std::make_unique<Connection>();
  c->fd = sock;
  peer_of(sock, &c->ip, &c->port, false);
  const bool unlimited =
      std::find(limits_.unlimited_sources.begin(), limits_.unlimited_sources.end(), c->ip) != limits_.unlimited_sources.end();
  c->source = network_key(c->ip, 32, 64).value_or(c->ip);
  bool admitted = false;
  {
    std::lock_guard lock(impl_->admission_mutex);
    size_t& mine = impl_->per_source[c->source];
    if (!impl_->stopping && counters_.open_connections < limits_.max_connections &&
        (unlimited || mine < limits_.max_connections_per_source)) {
      admitted = true;
      counters_.open_connections++;
      if (!unlimited) {
        ++mine;
        c->counted_per_source = true;
      }
    }
    if (mine == 0) impl_->per_source.erase(c->source);
  }
  if (!admitted) {
    counters_.refused_connections++;
    send_status_and_close(sock, "503 Service Unavailable");
    return false;
  }
  // httplib writes a response's head and body apart: with Nagle's algorithm the body then waits for the
  // client's delayed ACK, ~40 ms on every keep-alive request (measured: 44 ms per /healthz).
  int nodelay = 1;
  setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
  int flags = fcntl(sock, F_GETFL, 0);
  fcntl(sock, F_SETFL, flags | O_NONBLOCK);
  c->deadline = Clock::now() + std::chrono::milliseconds(limits_.head_timeout_ms);
  impl_->hand_to_reception(std::move(c));
  return true;
}

}  // namespace kuzet::collector::http
