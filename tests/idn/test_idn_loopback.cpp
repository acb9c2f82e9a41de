// Internationalised names on the wire, against loopback fakes: the DNS query, the SNI, the Host header and
// the certificate name check all carry the A-label form; the observations keep the Unicode form.
// The names (.рф, .қаз) exist only in the fake DNS server; every address is 127.0.0.1.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "core/vocabulary/failure.hpp"
#include "measure/target.hpp"
#include "tests/dns/fake_dns_server.hpp"
#include "tests/http/fake_http_server.hpp"
#include "tests/tls/test_pki.hpp"

using namespace kuzet;
using test_http::FakeHttpServer;
using test_http::FakeServerOptions;
using test_http::kFakePageTitle;

namespace {

constexpr const char* kRfName = "пример.рф";
constexpr const char* kRfAscii = "xn--e1afmkfd.xn--p1ai";
constexpr const char* kKazName = "сайт.қаз";
constexpr const char* kKazAscii = "xn--80aswg.xn--80ao21a";
constexpr const char* kOtherKazName = "тест.қаз";
constexpr const char* kOtherKazAscii = "xn--e1aybc.xn--80ao21a";

tests::FakeDnsConfig loopback() {
  tests::FakeDnsConfig c;
  c.a = {"127.0.0.1"};
  return c;
}

tests::FakeDnsConfig nxdomain() {
  tests::FakeDnsConfig c;
  c.mode = tests::FakeDnsMode::nxdomain;
  return c;
}

// Only the A-label names resolve: a raw UTF-8 query gets NXDOMAIN, as from a real resolver.
struct IdnDns {
  tests::FakeDnsServer dns{nxdomain()};
  IdnDns() {
    for (const char* name : {kRfAscii, kKazAscii, kOtherKazAscii}) dns.set(name, loopback());
  }
};

measure::MeasureOptions options_for(const IdnDns& d) {
  measure::MeasureOptions o;
  o.dns.resolver = d.dns.address();
  o.dns.timeout_ms = 5000;
  o.tcp_timeout_ms = 10000;
  o.tls.timeout_ms = 15000;
  o.http.timeout_ms = 15000;
  return o;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/kuzet-idn-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// An HTTPS site on loopback whose certificate (from a test root the options trust) names `names`.
// Certificates name IDNs in their A-label form (RFC 5280 7.2).
struct TlsSite {
  TempDir dir;
  test_tls::Issued root = test_tls::make_root("Kuzet IDN Test Root");
  test_tls::Issued leaf;
  FakeHttpServer server;
  measure::MeasureOptions options;
  TlsSite(const IdnDns& d, const std::vector<std::string>& names)
      : leaf(test_tls::make_leaf(root, names)),
        server(FakeServerOptions{.tls_cert_pem = test_tls::pem_bundle({leaf, root}), .tls_key_pem = leaf.key_pem}),
        options(options_for(d)) {
    test_tls::write_bundle((dir.path / "ca.pem").string(), {root});
    options.tls.trust = measure::TrustStore::load((dir.path / "ca.pem").string());
  }
};

std::string port_url(const std::string& scheme, const std::string& host, uint16_t port, const std::string& path) {
  return scheme + "://" + host + ":" + std::to_string(port) + path;
}

}  // namespace

TEST_CASE("http://пример.рф/: the DNS query and the Host header carry the A-label; records keep Unicode") {
  IdnDns d;
  FakeHttpServer server;
  const std::string url = port_url("http", kRfName, server.port(), "/page");
  const auto obs = measure::measure_target(url, options_for(d));

  CHECK(obs.url == url);
  CHECK(obs.host == kRfName);
  CHECK(obs.dns.hostname == kRfAscii);
  CHECK(obs.dns.failure == "");
  REQUIRE(obs.dns.addresses == std::vector<std::string>{"127.0.0.1"});
  for (const auto& name : d.dns.names_seen()) CHECK(name == kRfAscii);
  REQUIRE(obs.http);
  CHECK(obs.http->failure == "");
  REQUIRE(obs.http->requests.size() == 1);
  CHECK(obs.http->requests[0].url == url);
  CHECK(obs.http->requests[0].status == 200);
  CHECK(obs.http->requests[0].title == kFakePageTitle);
  const auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("Host") == std::string(kRfAscii) + ":" + std::to_string(server.port()));
}

TEST_CASE("https://сайт.қаз/: SNI, Host and the certificate check use the A-label; a redirect to another .қаз "
          "name is resolved as an A-label too") {
  IdnDns d;
  TlsSite site(d, {kKazAscii, kOtherKazAscii});
  auto& server = site.server;
  auto& options = site.options;

  // /to-host/NAME/REST answers "302 Location: https://NAME:port/REST" with NAME in UTF-8, as written.
  const std::string url = port_url("https", kKazName, server.port(), std::string("/to-host/") + kOtherKazName + "/page");
  const auto obs = measure::measure_target(url, options);

  CHECK(obs.host == kKazName);
  CHECK(obs.dns.hostname == kKazAscii);
  REQUIRE(obs.tls.size() == 1);
  CHECK(obs.tls[0].failure == "");
  CHECK(obs.tls[0].sni == kKazAscii);
  CHECK(obs.tls[0].verify_failure == "");  // verified for the A-label name the certificate carries
  REQUIRE(obs.http);
  CHECK(obs.http->failure == "");
  CHECK(obs.http->sni == kKazAscii);
  REQUIRE(obs.http->requests.size() == 2);
  CHECK(obs.http->requests[0].status == 302);
  CHECK(obs.http->requests[0].location == port_url("https", kOtherKazName, server.port(), "/page"));
  CHECK(obs.http->requests[1].url == port_url("https", kOtherKazName, server.port(), "/page"));
  CHECK(obs.http->requests[1].status == 200);
  CHECK(obs.http->requests[1].title == kFakePageTitle);

  const auto names = d.dns.names_seen();
  CHECK(std::find(names.begin(), names.end(), kOtherKazAscii) != names.end());
  for (const auto& name : names) CHECK((name == kKazAscii || name == kOtherKazAscii));
  const auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].sni == kKazAscii);
  CHECK(seen[0].header("Host") == std::string(kKazAscii) + ":" + std::to_string(server.port()));
  CHECK(seen[1].sni == kOtherKazAscii);
  CHECK(seen[1].header("Host") == std::string(kOtherKazAscii) + ":" + std::to_string(server.port()));
}

TEST_CASE("a certificate for another name still fails the check for an IDN host") {
  IdnDns d;
  TlsSite site(d, {kOtherKazAscii});
  auto& server = site.server;
  auto& options = site.options;
  const auto obs = measure::measure_target(port_url("https", kKazName, server.port(), "/page"), options);
  REQUIRE(obs.tls.size() == 1);
  CHECK(obs.tls[0].verify_failure == core::failure::tls_hostname_mismatch);
  REQUIRE(obs.http);
  CHECK(obs.http->failure == core::failure::tls_hostname_mismatch);
}

TEST_CASE("neutral-SNI refetch of an IDN target sends the A-label Host header and no SNI") {
  IdnDns d;
  TlsSite site(d, {kKazAscii});
  auto& server = site.server;
  auto& options = site.options;
  const auto target = measure::measure_target(port_url("https", kKazName, server.port(), "/page"), options);
  REQUIRE(target.http);
  const auto neutral = measure::measure_neutral_sni(target, options);
  CHECK(neutral.failure == "");
  const auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].sni == "");
  CHECK(seen[1].header("Host") == std::string(kKazAscii) + ":" + std::to_string(server.port()));
}
