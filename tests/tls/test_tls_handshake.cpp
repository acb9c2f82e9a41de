// tls_handshake against the loopback FakeTlsServer: verification outcomes, censor-like handshake failures,
// what goes on the wire (SNI, ALPN), and the fake server's HTTP answer that other tests rely on.
#include <doctest/doctest.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fcntl.h>
#include <thread>

#include "core/crypto/crypto.hpp"
#include "core/vocabulary/failure.hpp"
#include "measure/tcp.hpp"
#include "measure/tls.hpp"
#include "tests/tls/fake_tls_server.hpp"

using namespace kuzet;
using test_tls::ServerBehaviour;
namespace failure = core::failure;

namespace {

// One PKI per process: EC keys are cheap but trust files are shared by many cases.
struct Pki {
  test_tls::Issued root = test_tls::make_root("Kuzet Test Public Root");
  test_tls::Issued intermediate = test_tls::make_intermediate(root, "/O=Kuzet Tests/CN=Kuzet Test Issuing CA");
  test_tls::Issued leaf = test_tls::make_leaf(intermediate, {"example.kz", "www.example.kz"});
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("kuzet-tls-" + core::random_hex(6));
  std::shared_ptr<const measure::TrustStore> trust;

  Pki() {
    std::filesystem::create_directories(dir);
    trust = trust_of({root}, "public.pem");
  }
  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::shared_ptr<const measure::TrustStore> trust_of(const std::vector<test_tls::Issued>& roots,
                                                       const std::string& name) const {
    const auto path = (dir / name).string();
    test_tls::write_bundle(path, roots);
    return measure::TrustStore::load(path);
  }
};

const Pki& pki() {
  static Pki p;
  return p;
}

measure::TlsHandshake handshake(const test_tls::FakeTlsServer& server, const std::string& sni,
                                const std::string& verify_host,
                                std::shared_ptr<const measure::TrustStore> trust = pki().trust, int timeout_ms = 10000,
                                std::vector<std::string> alpn = {"http/1.1"}) {
  measure::Socket sock;
  auto tcp = measure::tcp_connect(server.address(), server.port(), 10000, &sock);
  REQUIRE(tcp.failure == "");
  measure::TlsOptions options;
  options.trust = std::move(trust);
  options.timeout_ms = timeout_ms;
  options.alpn = std::move(alpn);
  return measure::tls_handshake(sock.fd(), server.address(), server.port(), sni, verify_host, options);
}

test_tls::FakeTlsServerOptions serving(std::vector<test_tls::Issued> chain) {
  test_tls::FakeTlsServerOptions options;
  options.chain = std::move(chain);
  return options;
}

test_tls::FakeTlsServerOptions misbehaving(ServerBehaviour behaviour) {
  test_tls::FakeTlsServerOptions options;
  options.behaviour = behaviour;
  return options;
}

}  // namespace

TEST_CASE("a chain from the trusted test CA verifies and is recorded leaf first") {
  test_tls::FakeTlsServer server(serving({pki().leaf, pki().intermediate}));
  auto tls = handshake(server, "example.kz", "example.kz");
  CHECK(tls.failure == "");
  CHECK(tls.verify_failure == "");
  CHECK(tls.verify_error == "");
  CHECK(tls.address == "127.0.0.1");
  CHECK(tls.port == server.port());
  CHECK(tls.sni == "example.kz");
  CHECK(tls.version == "TLSv1.3");
  CHECK_FALSE(tls.cipher.empty());
  CHECK(tls.alpn == "http/1.1");
  CHECK(tls.duration_ms > 0);
  REQUIRE(tls.chain.size() == 2);
  CHECK(tls.chain[0].sha256 == pki().leaf.sha256());
  CHECK(tls.chain[0].spki_sha256 == pki().leaf.spki_sha256());
  CHECK(tls.chain[0].subject == "CN=example.kz");
  CHECK(tls.chain[0].issuer == "CN=Kuzet Test Issuing CA,O=Kuzet Tests");
  CHECK(tls.chain[0].dns_names == std::vector<std::string>{"example.kz", "www.example.kz"});
  CHECK(tls.chain[1].sha256 == pki().intermediate.sha256());
  CHECK_FALSE(tls.chain[1].self_signed);

  REQUIRE(server.wait_for_hellos(1, 10000));
  auto seen = server.seen();
  CHECK(seen[0].sni_present);
  CHECK(seen[0].sni == "example.kz");
  CHECK(seen[0].alpn == std::vector<std::string>{"http/1.1"});

  // A name covered by the SAN other than the first one.
  CHECK(handshake(server, "www.example.kz", "www.example.kz").verify_failure == "");
}

TEST_CASE("old protocol versions are recorded, not refused") {
  SUBCASE("TLS 1.2") {
    auto options = serving({pki().leaf, pki().intermediate});
    options.max_version = TLS1_2_VERSION;
    test_tls::FakeTlsServer server(options);
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.failure == "");
    CHECK(tls.version == "TLSv1.2");
    CHECK(tls.verify_failure == "");
  }
  SUBCASE("TLS 1.0") {
    auto options = serving({pki().leaf, pki().intermediate});
    options.min_version = TLS1_VERSION;
    options.max_version = TLS1_VERSION;
    test_tls::FakeTlsServer server(options);
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.failure == "");
    CHECK(tls.version == "TLSv1");
    CHECK(tls.chain.size() == 2);
  }
}

TEST_CASE("verification failures are classified, the handshake still counts as done") {
  SUBCASE("wrong host name") {
    test_tls::FakeTlsServer server(serving({pki().leaf, pki().intermediate}));
    auto tls = handshake(server, "other.kz", "other.kz");
    CHECK(tls.failure == "");
    CHECK(tls.verify_failure == failure::tls_hostname_mismatch);
    CHECK(tls.verify_error == "hostname mismatch");
    CHECK(tls.chain.size() == 2);
  }
  SUBCASE("IP literal: matching and mismatching iPAddress SAN") {
    test_tls::LeafOptions leaf_options;
    leaf_options.ip_addresses = {"127.0.0.1"};
    auto leaf = test_tls::make_leaf(pki().intermediate, leaf_options);
    test_tls::FakeTlsServer server(serving({leaf, pki().intermediate}));
    CHECK(handshake(server, "", "127.0.0.1").verify_failure == "");
    auto tls = handshake(server, "", "127.0.0.2");
    CHECK(tls.verify_failure == failure::tls_hostname_mismatch);
    CHECK(tls.verify_error == "IP address mismatch");
  }
  SUBCASE("expired leaf") {
    const auto now = test_tls::Clock::now();
    auto leaf = test_tls::make_leaf(pki().intermediate, {"example.kz"}, now - std::chrono::hours(24 * 60),
                                    now - std::chrono::hours(24));
    test_tls::FakeTlsServer server(serving({leaf, pki().intermediate}));
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.failure == "");
    CHECK(tls.verify_failure == failure::tls_expired);
    CHECK(tls.verify_error == "certificate has expired");
  }
  SUBCASE("leaf not yet valid") {
    const auto now = test_tls::Clock::now();
    auto leaf = test_tls::make_leaf(pki().intermediate, {"example.kz"}, now + std::chrono::hours(24),
                                    now + std::chrono::hours(24 * 60));
    test_tls::FakeTlsServer server(serving({leaf, pki().intermediate}));
    CHECK(handshake(server, "example.kz", "example.kz").verify_failure == failure::tls_expired);
  }
  SUBCASE("chain from an unknown root") {
    auto other_root = test_tls::make_root("Somebody Else's Root");
    auto leaf = test_tls::make_leaf(other_root, {"example.kz"});
    test_tls::FakeTlsServer server(serving({leaf}));
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.verify_failure == failure::tls_unknown_authority);
    REQUIRE(tls.chain.size() == 1);
    CHECK(tls.chain[0].issuer == "CN=Somebody Else's Root");
  }
  SUBCASE("self-signed leaf") {
    test_tls::FakeTlsServer server(serving({test_tls::make_root("example.kz")}));
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.verify_failure == failure::tls_unknown_authority);
    REQUIRE(tls.chain.size() == 1);
    CHECK(tls.chain[0].self_signed);
  }
  SUBCASE("missing intermediate") {
    test_tls::FakeTlsServer server(serving({pki().leaf}));
    CHECK(handshake(server, "example.kz", "example.kz").verify_failure == failure::tls_unknown_authority);
  }
}

TEST_CASE("Kazakh-style interception: unknown authority, unless the user installed the state root") {
  test_tls::LeafOptions real_options;
  real_options.subject = "/C=US/ST=California/L=Menlo Park/O=Meta Platforms, Inc./CN=*.facebook.com";
  real_options.dns_names = {"*.facebook.com", "facebook.com"};
  auto real = test_tls::make_leaf(pki().intermediate, real_options);
  auto ca = test_tls::make_interception_ca();
  auto forged = test_tls::forge_leaf(ca, real);

  SUBCASE("middlebox sends leaf, intermediate and root") {
    test_tls::FakeTlsServer server(serving({forged, ca.intermediate, ca.root}));
    auto tls = handshake(server, "www.facebook.com", "www.facebook.com");
    CHECK(tls.failure == "");
    CHECK(tls.verify_failure == failure::tls_unknown_authority);
    CHECK(tls.verify_error == "self-signed certificate in certificate chain");
    REQUIRE(tls.chain.size() == 3);
    CHECK(tls.chain[0].sha256 == forged.sha256());
    CHECK(tls.chain[0].subject == "CN=*.facebook.com,O=Meta Platforms\\, Inc.,L=Menlo Park,ST=California,C=US");
    CHECK(tls.chain[0].key_type == "RSA");
    CHECK(tls.chain[2].sha256 == ca.root.sha256());
    CHECK(tls.chain[2].subject == "CN=Qaznet Trust Network,C=KZ");

    // With the state root installed the chain verifies, and the root's fingerprint is still on record.
    auto installed = pki().trust_of({pki().root, ca.root}, "with-qaznet.pem");
    auto trusted = handshake(server, "www.facebook.com", "www.facebook.com", installed);
    CHECK(trusted.failure == "");
    CHECK(trusted.verify_failure == "");
    REQUIRE(trusted.chain.size() == 3);
    CHECK(trusted.chain[2].sha256 == ca.root.sha256());
    CHECK(trusted.chain[1].issuer == "CN=Qaznet Trust Network,C=KZ");

    // Verified again against the pristine public bundle (no state root there): rejected, recorded apart.
    measure::TlsOptions both;
    both.trust = installed;
    both.public_trust = pki().trust;
    measure::Socket sock;
    REQUIRE(measure::tcp_connect(server.address(), server.port(), 10000, &sock).failure == "");
    auto checked = measure::tls_handshake(sock.fd(), server.address(), server.port(), "www.facebook.com",
                                          "www.facebook.com", both);
    CHECK(checked.verify_failure == "");
    CHECK(checked.public_trust == pki().trust->source());
    CHECK(checked.public_verify_failure == failure::tls_unknown_authority);
  }
  SUBCASE("middlebox sends leaf and intermediate only") {
    test_tls::FakeTlsServer server(serving({forged, ca.intermediate}));
    auto tls = handshake(server, "facebook.com", "facebook.com");
    CHECK(tls.verify_failure == failure::tls_unknown_authority);
    REQUIRE(tls.chain.size() == 2);
    CHECK(tls.chain[1].issuer == "CN=Qaznet Trust Network,C=KZ");
    auto only_qaznet = pki().trust_of({ca.root}, "only-qaznet.pem");
    CHECK(handshake(server, "facebook.com", "facebook.com", only_qaznet).verify_failure == "");
  }
}

TEST_CASE("handshake failures after the ClientHello are classified") {
  SUBCASE("RST") {
    test_tls::FakeTlsServer server(misbehaving(ServerBehaviour::reset_after_hello));
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.failure == failure::tls_reset);
    CHECK(tls.chain.empty());
    CHECK(tls.version == "");
  }
  SUBCASE("silence until the deadline") {
    test_tls::FakeTlsServer server(misbehaving(ServerBehaviour::silent_after_hello));
    auto tls = handshake(server, "example.kz", "example.kz", pki().trust, 300);
    CHECK(tls.failure == failure::tls_timeout);
    CHECK(tls.duration_ms >= 299);
    CHECK(tls.duration_ms < 5000);  // sanity bound only: the deadline is not overrun by whole seconds
  }
  SUBCASE("FIN") {
    test_tls::FakeTlsServer server(misbehaving(ServerBehaviour::close_after_hello));
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.failure == failure::tls_eof);
  }
  SUBCASE("fatal alert handshake_failure") {
    test_tls::FakeTlsServer server(misbehaving(ServerBehaviour::alert_after_hello));
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.failure == failure::tls_alert);
    CHECK(tls.alert == "handshake failure");
  }
  SUBCASE("fatal alert unrecognized_name") {
    auto options = misbehaving(ServerBehaviour::alert_after_hello);
    options.alert = 112;
    test_tls::FakeTlsServer server(options);
    auto tls = handshake(server, "example.kz", "example.kz");
    CHECK(tls.failure == failure::tls_alert);
    CHECK(tls.alert == "unrecognized name");
  }
  SUBCASE("the server saw the ClientHello in every case") {
    test_tls::FakeTlsServer server(misbehaving(ServerBehaviour::reset_after_hello));
    handshake(server, "blocked.kz", "blocked.kz");
    REQUIRE(server.wait_for_hellos(1, 10000));
    CHECK(server.seen()[0].sni == "blocked.kz");
  }
}

TEST_CASE("garbage instead of a ServerHello is tls.error") {
  // A plain TCP listener answering HTTP to a ClientHello.
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(listener >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(listener, 4) == 0);
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  std::thread peer([listener] {
    int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) return;
    char buf[4096];
    (void)::recv(fd, buf, sizeof buf, 0);
    const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    (void)::send(fd, reply, sizeof reply - 1, MSG_NOSIGNAL);
    ::shutdown(fd, SHUT_WR);
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    ::close(fd);
  });
  measure::Socket sock;
  REQUIRE(measure::tcp_connect("127.0.0.1", ntohs(addr.sin_port), 10000, &sock).failure == "");
  measure::TlsOptions options;
  options.trust = pki().trust;
  auto tls = measure::tls_handshake(sock.fd(), "127.0.0.1", ntohs(addr.sin_port), "example.kz", "example.kz", options);
  CHECK(tls.failure == failure::tls_error);
  sock = measure::Socket();
  peer.join();
  ::close(listener);
}

TEST_CASE("SNI and ALPN on the wire") {
  SUBCASE("no SNI when sni is empty") {
    test_tls::FakeTlsServer server(serving({pki().leaf, pki().intermediate}));
    auto tls = handshake(server, "", "example.kz");
    CHECK(tls.failure == "");
    CHECK(tls.sni == "");
    CHECK(tls.verify_failure == "");  // verification uses verify_host, not the SNI
    REQUIRE(server.wait_for_hellos(1, 10000));
    CHECK_FALSE(server.seen()[0].sni_present);
    CHECK(server.seen()[0].sni == "");
  }
  SUBCASE("ALPN: the server's pick among ours; none when it accepts none") {
    auto options = serving({pki().leaf, pki().intermediate});
    options.alpn = {"http/1.1"};
    test_tls::FakeTlsServer server(options);
    auto tls = handshake(server, "example.kz", "example.kz", pki().trust, 10000, {"h2", "http/1.1"});
    CHECK(tls.alpn == "http/1.1");
    REQUIRE(server.wait_for_hellos(1, 10000));
    CHECK(server.seen()[0].alpn == std::vector<std::string>{"h2", "http/1.1"});

    options.alpn = {};
    test_tls::FakeTlsServer no_alpn(options);
    auto plain = handshake(no_alpn, "example.kz", "example.kz");
    CHECK(plain.failure == "");
    CHECK(plain.alpn == "");
  }
}

TEST_CASE("one trust store shared by 16 threads") {
  test_tls::FakeTlsServer server(serving({pki().leaf, pki().intermediate}));
  std::vector<measure::TlsHandshake> results(16);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      measure::Socket sock;
      if (!measure::tcp_connect(server.address(), server.port(), 20000, &sock).failure.empty()) return;
      measure::TlsOptions options;
      options.trust = pki().trust;
      options.timeout_ms = 30000;  // generous: 16 handshakes on a loaded 2-core machine
      results[i] = measure::tls_handshake(sock.fd(), server.address(), server.port(), "example.kz",
                                          i % 2 ? "example.kz" : "wrong.kz", options);
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    CAPTURE(i);
    CHECK(results[i].failure == "");
    CHECK(results[i].verify_failure == (i % 2 ? "" : std::string(failure::tls_hostname_mismatch)));
  }
  CHECK(server.connections() == 16);
}

TEST_CASE("the fake server answers one HTTP/1.1 request after the handshake") {
  auto options = serving({pki().leaf, pki().intermediate});
  options.http_body = "<html><title>ok</title></html>";
  options.http_extra_headers = "X-Test: yes\r\n";
  test_tls::FakeTlsServer server(options);

  measure::Socket sock;
  REQUIRE(measure::tcp_connect(server.address(), server.port(), 10000, &sock).failure == "");
  ::fcntl(sock.fd(), F_SETFL, ::fcntl(sock.fd(), F_GETFL) & ~O_NONBLOCK);
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, sock.fd());
  SSL_set_tlsext_host_name(ssl, "example.kz");
  REQUIRE(SSL_connect(ssl) == 1);
  const std::string request = "GET /x HTTP/1.1\r\nHost: example.kz\r\n\r\n";
  REQUIRE(SSL_write(ssl, request.data(), static_cast<int>(request.size())) == static_cast<int>(request.size()));
  std::string response;
  char buf[4096];
  int n;
  while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);

  CHECK(response.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(response.find("Content-Length: 30\r\n") != std::string::npos);
  CHECK(response.find("X-Test: yes\r\n") != std::string::npos);
  CHECK(response.substr(response.size() - 30) == "<html><title>ok</title></html>");
  REQUIRE(server.wait_for_hellos(1, 10000));
  CHECK(server.seen()[0].http_request == request);
}

TEST_CASE("fake server options for other tests: another loopback address, a slow ServerHello") {
  SUBCASE("bind to 127.0.0.2 and a fixed port taken from a first server") {
    test_tls::FakeTlsServer first(serving({pki().leaf, pki().intermediate}));
    auto options = serving({pki().leaf, pki().intermediate});
    options.bind_address = "127.0.0.2";
    options.port = first.port();  // same port, other address: what multi-address DNS tests need
    test_tls::FakeTlsServer second(options);
    CHECK(second.address() == "127.0.0.2");
    CHECK(second.port() == first.port());
    auto tls = handshake(second, "example.kz", "example.kz");
    CHECK(tls.failure == "");
    CHECK(tls.address == "127.0.0.2");
    CHECK(second.connections() == 1);
    CHECK(first.connections() == 0);
  }
  SUBCASE("hello_delay_ms delays the handshake; a shorter deadline turns it into tls.timeout") {
    auto options = serving({pki().leaf, pki().intermediate});
    options.hello_delay_ms = 400;
    test_tls::FakeTlsServer server(options);
    auto slow = handshake(server, "example.kz", "example.kz");
    CHECK(slow.failure == "");
    CHECK(slow.duration_ms >= 400);
    auto cut = handshake(server, "example.kz", "example.kz", pki().trust, 100);
    CHECK(cut.failure == failure::tls_timeout);
  }
}
