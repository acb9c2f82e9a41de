#pragma once
// A loopback TLS server for tests (library kuzet_fake_tls): listens on 127.0.0.1, port 0, in its own thread;
// each connection gets a thread. It either serves a certificate chain (and optionally one HTTP/1.1 answer) or
// misbehaves right after reading the ClientHello the way censors do (RST, silence, FIN, fatal alert).
//
//   auto root = make_root("Test Root");
//   FakeTlsServerOptions options;
//   options.chain = {make_leaf(root, {"example.kz"}), root};
//   options.http_body = "hello";
//   FakeTlsServer server(options);
//   ... connect to server.address():server.port() ...
//   server.wait_for_hellos(1, 5000); server.seen()[0].sni == "example.kz"
//
// The destructor stops the server and joins its threads (open connections are shut down).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/tls/test_pki.hpp"

namespace kuzet::test_tls {

enum class ServerBehaviour {
  serve,               // complete the handshake with `chain`; then answer one HTTP request if http_body is set
  reset_after_hello,   // read the ClientHello, then RST (SO_LINGER 0 + close)      -> client sees tls.reset
  silent_after_hello,  // read the ClientHello, then say nothing until the peer leaves -> tls.timeout
  close_after_hello,   // read the ClientHello, then FIN                              -> tls.eof
  alert_after_hello,   // read the ClientHello, then a raw fatal alert record, FIN    -> tls.alert
};

struct FakeTlsServerOptions {
  ServerBehaviour behaviour = ServerBehaviour::serve;
  std::string bind_address = "127.0.0.1";  // any 127.0.0.0/8 address
  uint16_t port = 0;                       // 0 = pick a free one (read it back with port())
  std::vector<Issued> chain;  // leaf first, sent as is (include the root to send it); the leaf's key signs
  std::vector<std::string> alpn{"http/1.1"};  // accepted protocols in preference order; empty = no ALPN
  int min_version = 0;  // e.g. TLS1_2_VERSION from <openssl/tls1.h>; 0 = OpenSSL's default
  int max_version = 0;  // e.g. TLS1_2_VERSION to keep the client off TLS 1.3; 0 = highest
  uint8_t alert = 40;   // alert_after_hello: 40 handshake_failure, 112 unrecognized_name, ...
  int hello_delay_ms = 0;  // serve: wait this long after the ClientHello before answering (slow handshakes)
  // serve: read one request head and answer "200 OK" with this body, Content-Length and Connection: close.
  std::optional<std::string> http_body;
  std::string http_extra_headers;  // raw "Name: value\r\n" lines added to that response
};

// What the server saw on one connection (in accept order).
struct ClientHelloSeen {
  bool sni_present = false;
  std::string sni;
  std::vector<std::string> alpn;  // protocols the client offered
  std::string http_request;       // serve + http_body: the request head, filled before the answer is sent
};

class FakeTlsServer {
 public:
  // Throws std::runtime_error when the chain/key cannot be used or the socket cannot be set up.
  explicit FakeTlsServer(FakeTlsServerOptions options);
  ~FakeTlsServer();
  FakeTlsServer(const FakeTlsServer&) = delete;
  FakeTlsServer& operator=(const FakeTlsServer&) = delete;

  std::string address() const;
  uint16_t port() const;
  size_t connections() const;  // accepted so far

  // One entry per connection whose ClientHello was parsed. Copy, safe to call any time.
  std::vector<ClientHelloSeen> seen() const;
  // Waits until at least `count` ClientHellos were seen; false on timeout.
  bool wait_for_hellos(size_t count, int timeout_ms) const;

  struct State;  // internal, shared with the server threads

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kuzet::test_tls
