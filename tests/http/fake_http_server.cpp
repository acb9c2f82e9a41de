#include "tests/http/fake_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <stdexcept>

#include "ascii/ascii.hpp"

namespace kuzet::test_http {

namespace {

constexpr size_t kMaxRequestHead = 64 * 1024;
constexpr int kRequestReadTimeoutMs = 10000;  // generous: tests run on a loaded machine

// Blanks at both ends and a stray CR at the end (of a line whose LF came alone).
std::string_view trim(std::string_view s) { return ascii::trim_start(ascii::trim_end(s, " \t\r"), ascii::kBlanks); }

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    default: return "Status";
  }
}

// Parses "METHOD target HTTP/x" and header lines; false when malformed.
bool parse_request_head(std::string_view head, FakeRequest& out) {
  size_t eol = head.find("\r\n");
  std::string_view first = head.substr(0, eol);
  const size_t sp1 = first.find(' ');
  const size_t sp2 = first.find(' ', sp1 == std::string_view::npos ? sp1 : sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos) return false;
  out.method = std::string(first.substr(0, sp1));
  out.target = std::string(first.substr(sp1 + 1, sp2 - sp1 - 1));
  out.path = out.target.substr(0, out.target.find('?'));
  while (eol != std::string_view::npos) {
    const size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view line = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    const size_t colon = line.find(':');
    if (line.empty() || colon == std::string_view::npos) continue;
    out.headers.emplace_back(std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return true;
}

std::vector<std::string> split_path(std::string_view rest) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rest.size()) {
    const size_t slash = rest.find('/', start);
    parts.emplace_back(rest.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts;
}

// Non-negative decimal number or -1.
long long parse_number(const std::string& text) {
  if (text.empty() || text.size() > 12) return -1;
  long long v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string page_html() {
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + std::string(kFakePageTitle) +
         "</title></head>\n<body><p>Hello from the fake server.</p></body></html>\n";
}

}  // namespace

std::string fake_body(size_t length) {
  static constexpr std::string_view pattern = "kuzet-fake-body 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ\n";
  std::string out;
  out.reserve(length);
  while (out.size() < length) out.append(pattern.substr(0, std::min(pattern.size(), length - out.size())));
  return out;
}

std::string FakeRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (ascii::equals_ignoring_case(n, name)) return v;
  return {};
}

// ---------------------------------------------------------------------------------------------------
// FakeConnection

FakeConnection::~FakeConnection() { close(); }

bool FakeConnection::send(std::string_view bytes) {
  if (fd_ < 0) return false;
  while (!bytes.empty()) {
    if (ssl_ != nullptr) {
      const int n = SSL_write(ssl_, bytes.data(), static_cast<int>(std::min<size_t>(bytes.size(), 1 << 20)));
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    } else {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  return true;
}

bool FakeConnection::send_response(int status, std::string_view content_type, std::string_view body,
                                   const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  if (!content_type.empty()) head += "Content-Type: " + std::string(content_type) + "\r\n";
  head += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
  for (const auto& [name, value] : extra_headers) head += name + ": " + value + "\r\n";
  head += "\r\n";
  return send(head) && send(body);
}

std::string FakeConnection::read_some(int timeout_ms) {
  if (fd_ < 0) return {};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[64 * 1024];
  while (!server_.stopping()) {
    if (ssl_ == nullptr || SSL_pending(ssl_) == 0) {
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, 50);
      if (r < 0 && errno != EINTR) return {};
      if (r <= 0) {
        if (std::chrono::steady_clock::now() >= deadline) return {};
        continue;
      }
    }
    if (ssl_ != nullptr) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return {};
      return std::string(buf, static_cast<size_t>(n));
    }
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    return std::string(buf, static_cast<size_t>(n));
  }
  return {};
}

void FakeConnection::close() {
  if (fd_ < 0) return;
  if (ssl_ != nullptr) SSL_shutdown(ssl_);  // close_notify, best effort
  ::shutdown(fd_, SHUT_WR);                 // FIN now
  // Unread input would turn close() into a RST: drain what is already there.
  char buf[4096];
  while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
  std::lock_guard lock(server_.mutex_);
  server_.open_fds_.erase(fd_);
  if (ssl_ != nullptr) SSL_free(ssl_);
  ::close(fd_);
  fd_ = -1;
  ssl_ = nullptr;
}

void FakeConnection::reset() {
  if (fd_ < 0) return;
  linger l{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  std::lock_guard lock(server_.mutex_);
  server_.open_fds_.erase(fd_);
  if (ssl_ != nullptr) SSL_free(ssl_);
  ::close(fd_);
  fd_ = -1;
  ssl_ = nullptr;
}

bool FakeConnection::sleep_ms(int ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (server_.stopping()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(20), deadline - std::chrono::steady_clock::now()));
  }
  return !server_.stopping();
}

bool FakeConnection::wait_for_peer_close(int timeout_ms) {
  if (fd_ < 0) return true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  while (!server_.stopping() && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, 50);
    if (r <= 0) continue;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);  // raw bytes: TLS records are just discarded
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// FakeHttpServer

FakeHttpServer::FakeHttpServer(FakeServerOptions options) : options_(std::move(options)) {
  std::signal(SIGPIPE, SIG_IGN);  // a client that leaves must not kill the test process
  if (!options_.tls_cert_pem.empty() || !options_.tls_key_pem.empty()) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (ctx_ == nullptr) throw std::runtime_error("fake server: SSL_CTX_new failed");
    BIO* certs = BIO_new_mem_buf(options_.tls_cert_pem.data(), static_cast<int>(options_.tls_cert_pem.size()));
    bool ok = false;
    if (X509* leaf = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr)) {
      ok = SSL_CTX_use_certificate(ctx_, leaf) == 1;
      X509_free(leaf);
      while (X509* extra = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr))
        if (SSL_CTX_add_extra_chain_cert(ctx_, extra) != 1) X509_free(extra);  // takes ownership on success
    }
    BIO_free(certs);
    ERR_clear_error();  // the end of the PEM list leaves an error on the queue
    BIO* keys = BIO_new_mem_buf(options_.tls_key_pem.data(), static_cast<int>(options_.tls_key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(keys, nullptr, nullptr, nullptr);
    BIO_free(keys);
    ok = ok && key != nullptr && SSL_CTX_use_PrivateKey(ctx_, key) == 1 && SSL_CTX_check_private_key(ctx_) == 1;
    EVP_PKEY_free(key);
    if (!ok) {
      SSL_CTX_free(ctx_);
      throw std::runtime_error("fake server: cannot load the TLS certificate or key");
    }
  }

  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, options_.bind_address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, options_.bind_address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    len = sizeof *v6;
  } else {
    SSL_CTX_free(ctx_);
    throw std::runtime_error("fake server: not an IP address: " + options_.bind_address);
  }
  listen_fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  if (listen_fd_ < 0 || ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(listen_fd_, 64) != 0) {
    const std::string why = std::strerror(errno);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    SSL_CTX_free(ctx_);
    throw std::runtime_error("fake server: cannot listen on " + options_.bind_address + ": " + why);
  }
  len = sizeof ss;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
  install_standard_routes();
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeHttpServer::~FakeHttpServer() {
  stopping_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes handlers blocked in reads or handshakes
  }
  for (auto& worker : workers_) worker.thread.join();
  ::close(listen_fd_);
  SSL_CTX_free(ctx_);
}

std::string FakeHttpServer::base_url(const std::string& host) const {
  std::string h = host.empty() ? options_.bind_address : host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  return std::string(tls() ? "https" : "http") + "://" + h + ":" + std::to_string(port_);
}

void FakeHttpServer::route(const std::string& path, FakeHandler handler) {
  std::lock_guard lock(mutex_);
  routes_[path] = std::move(handler);
}

void FakeHttpServer::set_raw_handler(FakeRawHandler handler) {
  std::lock_guard lock(mutex_);
  raw_handler_ = std::move(handler);
}

std::vector<FakeRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

FakeHandler FakeHttpServer::find_route(const std::string& path) const {
  std::lock_guard lock(mutex_);
  if (auto it = routes_.find(path); it != routes_.end()) return it->second;
  const FakeHandler* best = nullptr;
  size_t best_len = 0;
  for (const auto& [prefix, handler] : routes_) {
    if (prefix.empty() || prefix.back() != '/' || prefix.size() <= best_len) continue;
    if (path.compare(0, prefix.size(), prefix) == 0) {
      best = &handler;
      best_len = prefix.size();
    }
  }
  return best ? *best : FakeHandler{};
}

void FakeHttpServer::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // drip chunks leave at once
    {
      std::lock_guard lock(mutex_);
      open_fds_.insert(fd);
    }
    ++connections_;
    std::erase_if(workers_, [](Worker& w) {
      if (!w.done->load()) return false;
      w.thread.join();
      return true;
    });
    auto done = std::make_shared<std::atomic<bool>>(false);
    workers_.push_back(Worker{std::thread([this, fd, done] {
                                serve(fd);
                                *done = true;
                              }),
                              done});
  }
}

void FakeHttpServer::serve(int fd) {
  FakeRawHandler raw;
  {
    std::lock_guard lock(mutex_);
    raw = raw_handler_;
  }
  SSL* ssl = nullptr;
  if (!raw && ctx_ != nullptr) {
    ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
  }
  FakeConnection conn(*this, fd, ssl);
  try {
    if (raw) {
      raw(conn);
      return;
    }
    FakeRequest request;
    if (ssl != nullptr) {
      if (SSL_accept(ssl) != 1) {  // the client gave up (e.g. it rejected our certificate)
        ERR_clear_error();
        return;
      }
      if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) request.sni = name;
    }
    std::string head;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kRequestReadTimeoutMs);
    while (head.find("\r\n\r\n") == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || head.size() > kMaxRequestHead) return;
      std::string more = conn.read_some(static_cast<int>(left.count()));
      if (more.empty()) return;
      head += more;
    }
    head.resize(head.find("\r\n\r\n") + 2);
    if (!parse_request_head(head, request)) {
      conn.send_response(400, "text/plain", "bad request\n");
      return;
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    if (FakeHandler handler = find_route(request.path)) {
      handler(conn, request);
    } else {
      conn.send_response(404, "text/plain", "not found\n");
    }
  } catch (const std::exception&) {
    // A handler bug must not take the test process down; the client sees the connection close.
  }
  ERR_clear_error();
}

void FakeHttpServer::install_standard_routes() {
  auto scheme = [this] { return std::string(tls() ? "https" : "http"); };

  route("/page", [](FakeConnection& c, const FakeRequest&) { c.send_response(200, "text/html; charset=utf-8", page_html()); });

  route("/redirect/", [](FakeConnection& c, const FakeRequest& r) {
    const long long n = parse_number(r.path.substr(std::string_view("/redirect/").size()));
    if (n < 0) return (void)c.send_response(400, "text/plain", "bad count\n");
    if (n == 0) return (void)c.send_response(200, "text/html; charset=utf-8", page_html());
    c.send_response(302, "text/plain", "redirect\n", {{"Location", "/redirect/" + std::to_string(n - 1)}});
  });

  route("/absolute/", [scheme](FakeConnection& c, const FakeRequest& r) {
    const std::string rest = r.target.substr(std::string_view("/absolute/").size());
    c.send_response(301, "text/plain", "moved\n", {{"Location", scheme() + "://" + r.header("Host") + "/" + rest}});
  });

  route("/to-host/", [this, scheme](FakeConnection& c, const FakeRequest& r) {
    const std::string rest = r.target.substr(std::string_view("/to-host/").size());
    const size_t slash = rest.find('/');
    const std::string name = rest.substr(0, slash);
    const std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
    c.send_response(302, "text/plain", "elsewhere\n",
                    {{"Location", scheme() + "://" + name + ":" + std::to_string(port_) + "/" + path}});
  });

  route("/loop/a", [](FakeConnection& c, const FakeRequest&) {
    c.send_response(302, "text/plain", "a\n", {{"Location", "/loop/b"}});
  });
  route("/loop/b", [](FakeConnection& c, const FakeRequest&) {
    c.send_response(302, "text/plain", "b\n", {{"Location", "/loop/a"}});
  });

  route("/bytes/", [](FakeConnection& c, const FakeRequest& r) {
    const long long n = parse_number(r.path.substr(std::string_view("/bytes/").size()));
    if (n < 0 || n > (1LL << 30)) return (void)c.send_response(400, "text/plain", "bad size\n");
    const std::string body = fake_body(static_cast<size_t>(n));
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!c.send(head)) return;
    for (size_t off = 0; off < body.size(); off += 64 * 1024)
      if (!c.send(std::string_view(body).substr(off, 64 * 1024))) return;  // the client stopped reading
  });

  route("/drip/", [](FakeConnection& c, const FakeRequest& r) {
    const auto parts = split_path(r.path.substr(std::string_view("/drip/").size()));
    if (parts.size() != 3) return (void)c.send_response(400, "text/plain", "use /drip/CHUNKS/BYTES/MS\n");
    const long long chunks = parse_number(parts[0]), bytes = parse_number(parts[1]), ms = parse_number(parts[2]);
    if (chunks < 0 || bytes < 0 || ms < 0 || chunks * bytes > (1LL << 30))
      return (void)c.send_response(400, "text/plain", "bad drip\n");
    const std::string body = fake_body(static_cast<size_t>(chunks * bytes));
    if (!c.send("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n"))
      return;
    for (long long i = 0; i < chunks; ++i) {
      if (i > 0 && !c.sleep_ms(static_cast<int>(ms))) return;
      if (!c.send(std::string_view(body).substr(static_cast<size_t>(i * bytes), static_cast<size_t>(bytes)))) return;
    }
  });

  // A server that thinks before it answers: waits MS, then a small page (the lab's slow sites).
  route("/delay/", [](FakeConnection& c, const FakeRequest& r) {
    const long long ms = parse_number(r.path.substr(std::string_view("/delay/").size()));
    if (ms < 0 || ms > 60000) return (void)c.send_response(400, "text/plain", "use /delay/MS (0..60000)\n");
    if (ms > 0 && !c.sleep_ms(static_cast<int>(ms))) return;
    c.send_response(200, "text/html; charset=utf-8", page_html());
  });

  route("/short-body", [](FakeConnection& c, const FakeRequest&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n" +
           fake_body(500));
    c.close();
  });

  route("/reset-mid-body", [](FakeConnection& c, const FakeRequest&) {
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n" +
           fake_body(64 * 1024));
    c.sleep_ms(100);  // let the first bytes arrive, as a middlebox resetting mid-stream would
    c.reset();
  });

  route("/close", [](FakeConnection& c, const FakeRequest&) { c.close(); });
  route("/reset", [](FakeConnection& c, const FakeRequest&) { c.reset(); });

  route("/silent", [](FakeConnection& c, const FakeRequest&) { c.wait_for_peer_close(60 * 1000); });

  route("/garbage", [](FakeConnection& c, const FakeRequest&) {
    static constexpr char kGarbage[] = "\x16\x03\x01 this is not HTTP at all \xff\xfe\r\n\r\nSSH-2.0-whatever\r\n";
    c.send(std::string_view(kGarbage, sizeof kGarbage - 1));
    c.close();
  });

  route("/headers/", [](FakeConnection& c, const FakeRequest& r) {
    const long long n = parse_number(r.path.substr(std::string_view("/headers/").size()));
    if (n < 0 || n > 100000) return (void)c.send_response(400, "text/plain", "bad count\n");
    std::vector<std::pair<std::string, std::string>> extra;
    for (long long i = 0; i < n; ++i) extra.emplace_back("X-Fill-" + std::to_string(i), std::to_string(i));
    c.send_response(200, "text/plain", "many headers\n", extra);
  });

  route("/continue", [](FakeConnection& c, const FakeRequest&) {
    if (!c.send("HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n")) return;
    c.send_response(200, "text/html", page_html(), {{"X-Final", "1"}});
  });

  route("/status/", [](FakeConnection& c, const FakeRequest& r) {
    const long long n = parse_number(r.path.substr(std::string_view("/status/").size()));
    if (n < 100 || n > 999) return (void)c.send_response(400, "text/plain", "bad status\n");
    c.send_response(static_cast<int>(n), "text/plain", "status " + std::to_string(n) + "\n");
  });
}

}  // namespace kuzet::test_http
