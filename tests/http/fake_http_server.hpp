#pragma once
// A fake HTTP(S) server for loopback tests, built on raw sockets so that it can misbehave on purpose
// (reset mid-body, close without answering, stall, send garbage). One thread accepts; each connection
// gets its own thread and serves one request ("Connection: close"). Everything stops in the destructor.
//
// Standard routes (installed by the constructor; add or override your own with route()):
//   /page                      200 text/html with <title>kFakePageTitle</title>
//   /redirect/N                302 Location: /redirect/N-1 (relative); /redirect/0 serves /page
//   /absolute/REST             301 Location: <scheme>://<Host header>/REST (absolute, same host)
//   /to-host/NAME/REST         302 Location: <scheme>://NAME:<port>/REST (another host name)
//   /loop/a, /loop/b           302 to each other
//   /bytes/N                   200 with N bytes of fake_body(N) (application/octet-stream)
//   /drip/CHUNKS/BYTES/MS      200, Content-Length CHUNKS*BYTES, one chunk of fake_body every MS ms
//   /delay/MS                  200 with the small HTML page, after waiting MS ms
//   /short-body                Content-Length 1000, sends 500 bytes of fake_body, then FIN
//   /reset-mid-body            Content-Length 1000000, sends 64 KiB, then RST (SO_LINGER 0)
//   /close                     reads the request, closes without answering (FIN)
//   /reset                     reads the request, answers with RST
//   /silent                    reads the request, sends nothing until the client leaves
//   /garbage                   answers with bytes that are not HTTP, then FIN
//   /headers/N                 200 with N extra headers "X-Fill-i: i"
//   /continue                  "100 Continue" with header X-Interim, then 200 with header X-Final
//   /status/N                  status N, small text body
// Anything else: 404.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace kuzet::test_http {

inline constexpr std::string_view kFakePageTitle = "Kuzet fake page";

// Deterministic body bytes (a repeating printable pattern), so tests can compute expected digests.
std::string fake_body(size_t length);

struct FakeRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // target without the query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string sni;  // TLS server name the client sent; "" for none or plain HTTP
  std::string header(std::string_view name) const;  // case-insensitive; "" when absent
};

class FakeHttpServer;

// One accepted connection, plain or TLS. Send/read return false/"" once the peer is gone.
class FakeConnection {
 public:
  FakeConnection(FakeHttpServer& server, int fd, SSL* ssl) : server_(server), fd_(fd), ssl_(ssl) {}
  FakeConnection(const FakeConnection&) = delete;
  FakeConnection& operator=(const FakeConnection&) = delete;
  ~FakeConnection();

  bool send(std::string_view bytes);
  // A complete response with Content-Length and "Connection: close".
  bool send_response(int status, std::string_view content_type, std::string_view body,
                     const std::vector<std::pair<std::string, std::string>>& extra_headers = {});
  // Up to 64 KiB of what the peer sent; "" on EOF, error, timeout or server stop.
  std::string read_some(int timeout_ms);
  void close();  // FIN
  void reset();  // RST: SO_LINGER 0, then close
  // Sleeps; false when the server is stopping (handlers should then return).
  bool sleep_ms(int ms);
  // Waits until the peer closes (true) or the timeout passes / the server stops (false).
  bool wait_for_peer_close(int timeout_ms);
  int fd() const { return fd_; }
  SSL* ssl() const { return ssl_; }

 private:
  FakeHttpServer& server_;
  int fd_;
  SSL* ssl_;
};

// Handles one parsed request; it may answer, misbehave, or do nothing (the connection closes after).
using FakeHandler = std::function<void(FakeConnection&, const FakeRequest&)>;
// Takes over a raw TCP connection before any TLS or HTTP (to stall or reset a handshake, for instance).
using FakeRawHandler = std::function<void(FakeConnection&)>;

struct FakeServerOptions {
  std::string bind_address = "127.0.0.1";  // loopback only; "::1" for IPv6
  // Both set (PEM text): the server speaks HTTPS with this certificate (chain) and key.
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

class FakeHttpServer {
 public:
  // Listens on port 0 of options.bind_address and starts serving. Throws std::runtime_error when the
  // socket or the TLS context cannot be set up (a test setup error, not a measured failure).
  explicit FakeHttpServer(FakeServerOptions options = {});
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& address() const { return options_.bind_address; }
  bool tls() const { return ctx_ != nullptr; }
  // "http://HOST:PORT" (or https); HOST defaults to the bound address (bracketed when IPv6).
  std::string base_url(const std::string& host = "") const;

  // Exact path, or a prefix when `path` ends with '/'. The longest match wins; exact before prefix.
  void route(const std::string& path, FakeHandler handler);
  // When set, every connection goes to this handler instead (no TLS, no HTTP parsing).
  void set_raw_handler(FakeRawHandler handler);

  std::vector<FakeRequest> requests() const;  // every request parsed so far, in arrival order
  size_t connections() const { return connections_.load(); }
  bool stopping() const { return stopping_.load(); }

 private:
  friend class FakeConnection;
  void accept_loop();
  void serve(int fd);
  void install_standard_routes();
  FakeHandler find_route(const std::string& path) const;

  FakeServerOptions options_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  mutable std::mutex mutex_;
  std::map<std::string, FakeHandler> routes_;
  FakeRawHandler raw_handler_;
  std::vector<FakeRequest> requests_;
  std::set<int> open_fds_;  // shut down on stop so blocked reads return
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Worker> workers_;  // finished ones are joined by the accept loop (long benchmark runs)
  std::thread acceptor_;
};

}  // namespace kuzet::test_http
