#pragma once
// cpp-httplib with every resource bounded (docs/collector.md, "Staying up"):
// - admission at accept: at most `max_connections` open, `max_connections_per_source` per source
//   network; over either, a 503 and close, no thread spent;
// - a request head (request line + headers, <= max_head_bytes) is received by ONE event thread (epoll)
//   with a total deadline, so slow clients cost a few KiB each and no worker thread; so is a body whose
//   framing says where it ends (Content-Length up to the route's cap, chunked), within a total buffer
//   budget, so a client trickling its body holds a buffer, not a worker;
// - complete heads go to a worker pool: a separate small pool for routes marked slow (control
//   measurements), so they can never take the threads uploads and /healthz need; both queues bounded;
// - the body has a per-route cap counted on the wire (chunked framing included) and a total deadline;
//   the response a total write deadline;
// - the listening socket has SO_REUSEADDR only (no SO_REUSEPORT: a second server on the port fails to
//   bind) and a listen backlog of `listen_backlog`;
// - stop() works at any time, also before run().
// Handlers are plain httplib handlers (Get/Post on this object).
#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::collector::http {

struct GuardLimits {
  size_t max_connections = 1024;
  size_t max_connections_per_source = 32;  // per IPv4 address / IPv6 /64
  std::vector<std::string> unlimited_sources;  // e.g. the trusted reverse proxy (it limits on its own)
  size_t max_head_bytes = 64 * 1024;
  int head_timeout_ms = 10000;   // whole request head, from the first byte awaited (includes keep-alive idle)
  int body_timeout_ms = 60000;   // whole body
  size_t max_buffered_body_bytes = 128 * 1024 * 1024;  // bodies held by the reception thread, all together
  int write_timeout_ms = 30000;  // whole response
  size_t default_body_bytes = 64 * 1024;  // routes without their own cap
  size_t workers = 16;
  size_t slow_workers = 4;
  size_t max_queued = 256;       // complete heads waiting for a worker, per pool
  size_t max_requests_per_connection = 1000;
  int listen_backlog = 1024;
};

struct GuardCounters {
  std::atomic<uint64_t> refused_connections{0};  // over max_connections or the per-source limit
  std::atomic<uint64_t> head_timeouts{0};  // a head, or a body received by the reception thread, too slow
  std::atomic<uint64_t> too_large{0};           // head or body over its cap
  std::atomic<uint64_t> queue_full{0};
  std::atomic<uint64_t> refused_framing{0};  // a body that could end in two places (400) or is coded (501)
  std::atomic<uint64_t> open_connections{0};
  std::atomic<uint64_t> bodies_in_place{0};  // post_with_body bodies handed over where they were received
};

class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(GuardLimits limits);
  ~GuardedServer() override;

  // Body cap for requests whose path starts with `path_prefix` (longest prefix wins).
  void set_body_limit(const std::string& path_prefix, size_t bytes);
  // POST `pattern` with the request's body as a view: for a Content-Length body that the reception thread
  // already holds whole (the usual upload), the bytes where they were received, never copied; otherwise
  // read as httplib reads it. Caps, refusals and errors are those of any route.
  using BodyHandler = std::function<void(const httplib::Request&, std::string_view body, httplib::Response&)>;
  void post_with_body(const std::string& pattern, BodyHandler handler);
  // Requests with this method and exact path run on the slow pool.
  void set_slow_route(const std::string& method, const std::string& path);
  // Called on the worker after the head is parsed, before the body is read (e.g. to set the real
  // client address from a trusted proxy's header).
  void set_request_setup(std::function<void(httplib::Request&)> setup);
  // Shapes error answers (status >= 400 without a handler's body); a body over its cap arrives as 413.
  // Use this instead of httplib's set_error_handler, which the guard needs for itself.
  void set_error_responder(Handler handler);

  // Binds (port 0 = any free port); returns the port, or -1.
  int bind(const std::string& host, int port);
  bool run();  // serves until stop()
  void stop();
  // The limits in force (for the body cap of a request, see body_limit()).
  const GuardLimits& limits() const { return limits_; }
  size_t body_limit(const std::string& path) const;
  GuardCounters& counters() { return counters_; }

  struct Connection;
  struct Impl;

 private:
  bool process_and_close_socket(socket_t sock) override;

  GuardLimits limits_;
  GuardCounters counters_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kuzet::collector::http
