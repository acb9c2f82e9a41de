#include "tests/tls/fake_tls_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace kuzet::test_tls {

struct FakeTlsServer::State {
  FakeTlsServerOptions options;
  SSL_CTX* ctx = nullptr;
  std::string alpn_wire;  // options.alpn in wire format, for the ALPN callback
  int listen_fd = -1;
  int stop_pipe[2] = {-1, -1};  // written once on stop; stays readable so every poll wakes up
  uint16_t port = 0;
  std::thread acceptor;

  mutable std::mutex mutex;
  mutable std::condition_variable changed;
  std::vector<std::thread> workers;
  std::set<int> open_fds;  // shut down on stop to unblock blocking OpenSSL calls
  std::vector<ClientHelloSeen> seen;
  size_t connections = 0;
  std::atomic<bool> stopping{false};

  ~State() {
    if (ctx) SSL_CTX_free(ctx);
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : stop_pipe) {
      if (fd >= 0) ::close(fd);
    }
  }
};

namespace {

using State = FakeTlsServer::State;

// Per-connection data reachable from OpenSSL callbacks through SSL app data.
struct Connection {
  State* state = nullptr;
  int fd = -1;
  long seen_index = -1;  // index into state->seen once the ClientHello was parsed
};

[[noreturn]] void fail(const std::string& what) {
  char buf[256] = "";
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error("fake TLS server: " + what + (buf[0] ? std::string(": ") + buf : std::string()));
}

X509* read_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!cert) fail("bad certificate PEM");
  return cert;
}

EVP_PKEY* read_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (!key) fail("bad key PEM");
  return key;
}

// Records SNI and offered ALPN, then lets the handshake go on (serve) or pauses it so the connection thread
// can misbehave on the raw socket before OpenSSL writes anything.
int on_client_hello(SSL* ssl, int*, void*) {
  auto* conn = static_cast<Connection*>(SSL_get_app_data(ssl));
  if (conn->seen_index < 0) {
    ClientHelloSeen hello;
    const unsigned char* p = nullptr;
    size_t len = 0;
    // server_name: list length (2), name type (1), name length (2), name.
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) == 1) {
      hello.sni_present = true;
      if (len >= 5 && p[2] == TLSEXT_NAMETYPE_host_name) {
        const size_t name_len = (static_cast<size_t>(p[3]) << 8) | p[4];
        if (5 + name_len <= len) hello.sni.assign(reinterpret_cast<const char*>(p + 5), name_len);
      }
    }
    // ALPN: list length (2), then length-prefixed names.
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) == 1 &&
        len >= 2) {
      size_t pos = 2;
      while (pos < len) {
        const size_t n = p[pos++];
        if (pos + n > len) break;
        hello.alpn.emplace_back(reinterpret_cast<const char*>(p + pos), n);
        pos += n;
      }
    }
    std::lock_guard lock(conn->state->mutex);
    conn->seen_index = static_cast<long>(conn->state->seen.size());
    conn->state->seen.push_back(std::move(hello));
    conn->state->changed.notify_all();
  }
  const int delay = conn->state->options.hello_delay_ms;
  if (delay > 0 && conn->state->options.behaviour == ServerBehaviour::serve) {
    // Sleep in slices so that stopping the server is not held up.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay);
    while (!conn->state->stopping && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return conn->state->options.behaviour == ServerBehaviour::serve ? SSL_CLIENT_HELLO_SUCCESS
                                                                  : SSL_CLIENT_HELLO_RETRY;
}

int on_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
            void* arg) {
  const auto* wire = static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(wire->data()),
                            static_cast<unsigned>(wire->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Reads and discards until the peer closes, an error, `max_ms`, or the server stops.
void drain(State& state, int fd, int max_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  char buf[4096];
  while (!state.stopping) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return;
    pollfd pfds[2] = {{fd, POLLIN, 0}, {state.stop_pipe[0], POLLIN, 0}};
    const int pr = ::poll(pfds, 2, static_cast<int>(left));
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0 || (pfds[1].revents & POLLIN)) return;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
  }
}

bool ssl_write_all(SSL* ssl, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const int n = SSL_write(ssl, data.data() + done, static_cast<int>(data.size() - done));
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void answer_http(State& state, Connection& conn, SSL* ssl) {
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 64 * 1024) {
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) return;
    request.append(buf, static_cast<size_t>(n));
  }
  const size_t end = request.find("\r\n\r\n");
  if (end == std::string::npos) return;
  {
    std::lock_guard lock(state.mutex);
    if (conn.seen_index >= 0) state.seen[static_cast<size_t>(conn.seen_index)].http_request = request.substr(0, end + 4);
    state.changed.notify_all();
  }
  const std::string& body = *state.options.http_body;
  const std::string response = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n" +
                               state.options.http_extra_headers + "\r\n" + body;
  ssl_write_all(ssl, response);
}

void handle_connection(State& state, int fd) {
  // Writes to a peer that reset must not kill the test process; the signal is thread-directed, so blocking it
  // here only affects this thread.
  sigset_t pipe_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
  // A safety net for blocking OpenSSL calls; stop() also shuts the socket down.
  timeval tv{15, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  Connection conn{&state, fd, -1};
  SSL* ssl = SSL_new(state.ctx);
  bool linger_reset = false;
  if (ssl && SSL_set_fd(ssl, fd) == 1) {
    SSL_set_app_data(ssl, &conn);
    const int ret = SSL_accept(ssl);
    if (ret == 1) {
      if (state.options.http_body) {
        answer_http(state, conn, ssl);
        SSL_shutdown(ssl);
        ::shutdown(fd, SHUT_WR);
        drain(state, fd, 5000);  // lingering close: unread input would turn our FIN into a RST
      } else {
        char buf[1024];
        while (SSL_read(ssl, buf, sizeof buf) > 0) {
        }
        SSL_shutdown(ssl);
      }
    } else if (SSL_get_error(ssl, ret) == SSL_ERROR_WANT_CLIENT_HELLO_CB) {
      switch (state.options.behaviour) {
        case ServerBehaviour::reset_after_hello:
          linger_reset = true;
          break;
        case ServerBehaviour::silent_after_hello:
          drain(state, fd, 60000);
          break;
        case ServerBehaviour::close_after_hello:
          ::shutdown(fd, SHUT_WR);
          drain(state, fd, 10000);
          break;
        case ServerBehaviour::alert_after_hello: {
          const unsigned char record[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, state.options.alert};
          ::send(fd, record, sizeof record, MSG_NOSIGNAL);
          ::shutdown(fd, SHUT_WR);
          drain(state, fd, 10000);
          break;
        }
        case ServerBehaviour::serve:
          break;
      }
    }
  }
  if (ssl) SSL_free(ssl);
  ERR_clear_error();
  std::lock_guard lock(state.mutex);
  if (linger_reset) {
    linger lg{1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  state.open_fds.erase(fd);
  ::close(fd);
}

void accept_loop(State& state) {
  while (!state.stopping) {
    pollfd pfds[2] = {{state.listen_fd, POLLIN, 0}, {state.stop_pipe[0], POLLIN, 0}};
    const int pr = ::poll(pfds, 2, -1);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0 || (pfds[1].revents & POLLIN)) return;
    const int fd = ::accept4(state.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(state.mutex);
    if (state.stopping) {
      ::close(fd);
      return;
    }
    ++state.connections;
    state.open_fds.insert(fd);
    state.workers.emplace_back([&state, fd] { handle_connection(state, fd); });
  }
}

}  // namespace

FakeTlsServer::FakeTlsServer(FakeTlsServerOptions options) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  s.ctx = SSL_CTX_new(TLS_server_method());
  if (!s.ctx) fail("SSL_CTX_new");
  SSL_CTX_set_security_level(s.ctx, 0);  // old versions and odd keys are what tests are about
  if (s.options.min_version && SSL_CTX_set_min_proto_version(s.ctx, s.options.min_version) != 1) fail("min version");
  if (s.options.max_version && SSL_CTX_set_max_proto_version(s.ctx, s.options.max_version) != 1) fail("max version");
  SSL_CTX_set_num_tickets(s.ctx, 0);  // the client never reads them; unread tickets turn its close into a RST
  SSL_CTX_set_client_hello_cb(s.ctx, on_client_hello, nullptr);
  if (s.options.behaviour == ServerBehaviour::serve) {
    if (s.options.chain.empty()) throw std::runtime_error("fake TLS server: serve needs a chain");
    X509* leaf = read_cert(s.options.chain.front().cert_pem);
    EVP_PKEY* key = read_key(s.options.chain.front().key_pem);
    const bool ok = SSL_CTX_use_certificate(s.ctx, leaf) == 1 && SSL_CTX_use_PrivateKey(s.ctx, key) == 1 &&
                    SSL_CTX_check_private_key(s.ctx) == 1;
    X509_free(leaf);
    EVP_PKEY_free(key);
    if (!ok) fail("leaf certificate/key");
    for (size_t i = 1; i < s.options.chain.size(); ++i) {
      X509* extra = read_cert(s.options.chain[i].cert_pem);
      const bool added = SSL_CTX_add1_chain_cert(s.ctx, extra) == 1;
      X509_free(extra);
      if (!added) fail("chain certificate");
    }
  }
  for (const auto& p : s.options.alpn) {
    if (p.empty() || p.size() > 255) continue;
    s.alpn_wire.push_back(static_cast<char>(p.size()));
    s.alpn_wire += p;
  }
  if (!s.alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(s.ctx, on_alpn, &s.alpn_wire);

  if (::pipe2(s.stop_pipe, O_CLOEXEC) != 0) fail("pipe");
  s.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s.listen_fd < 0) fail("socket");
  const int one = 1;
  ::setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  if (::inet_pton(AF_INET, s.options.bind_address.c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("fake TLS server: bad bind address " + s.options.bind_address);
  }
  addr.sin_port = htons(s.options.port);
  socklen_t len = sizeof addr;
  if (::bind(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.listen_fd, 64) != 0 ||
      ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    fail(std::string("listen: ") + std::strerror(errno));
  }
  s.port = ntohs(addr.sin_port);
  s.acceptor = std::thread([&s] { accept_loop(s); });
}

FakeTlsServer::~FakeTlsServer() {
  State& s = *state_;
  s.stopping = true;
  const char byte = 1;
  if (::write(s.stop_pipe[1], &byte, 1) != 1) {
    // Cannot happen with a fresh pipe; the shutdowns below still unblock the threads.
  }
  if (s.acceptor.joinable()) s.acceptor.join();
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(s.mutex);
    for (int fd : s.open_fds) ::shutdown(fd, SHUT_RDWR);
    workers.swap(s.workers);
  }
  for (auto& t : workers) t.join();
}

uint16_t FakeTlsServer::port() const { return state_->port; }

std::string FakeTlsServer::address() const { return state_->options.bind_address; }

size_t FakeTlsServer::connections() const {
  std::lock_guard lock(state_->mutex);
  return state_->connections;
}

std::vector<ClientHelloSeen> FakeTlsServer::seen() const {
  std::lock_guard lock(state_->mutex);
  return state_->seen;
}

bool FakeTlsServer::wait_for_hellos(size_t count, int timeout_ms) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                  [&] { return state_->seen.size() >= count; });
}

}  // namespace kuzet::test_tls
