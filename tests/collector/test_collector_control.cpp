// POST /api/v1/control over loopback: authentication, rate limit, SSRF refusals, a real control of a
// loopback HTTP server (with --allow-private-targets) and of a name that resolves into a private network.
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>

#include "core/vocabulary/failure.hpp"
#include "measure/observations_json.hpp"
#include "tests/collector/support/server_fixture.hpp"
#include "tests/dns/fake_dns_server.hpp"
#include "tests/tls/fake_tls_server.hpp"
#include "tests/tls/test_pki.hpp"

using namespace kuzet;
using namespace kuzet::collector;
using namespace kuzet::collector::testing;
using nlohmann::json;

namespace {

httplib::Result control(httplib::Client& c, const core::KeyPair& key, const std::string& body,
                        const std::string& signature_override = "") {
  httplib::Headers headers{{"X-Kuzet-Key", core::base64_encode(key.public_key)},
                           {"X-Kuzet-Signature", signature_override.empty()
                                                     ? core::base64_encode(core::ed25519_sign(key, body))
                                                     : signature_override}};
  return c.Post("/api/v1/control", headers, body, "application/json");
}

std::string targets_body(const std::vector<std::string>& urls, int deadline_ms = 20000,
                         std::vector<std::string> probe_addresses = {}) {
  json targets = json::array();
  for (const auto& u : urls) targets.push_back({{"url", u}, {"probe_addresses", probe_addresses}});
  return json{{"targets", targets}, {"deadline_ms", deadline_ms}}.dump();
}

std::string error_of(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body).value("error", "");
}

// A plain loopback web server standing in for a target site.
struct LoopbackSite {
  httplib::Server http;
  std::thread thread;
  int port = 0;
  LoopbackSite() {
    http.Get("/page", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html><head><title>Loopback Site</title></head><body>hello</body></html>", "text/html");
    });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~LoopbackSite() {
    http.stop();
    thread.join();
  }
};

}  // namespace

TEST_CASE("control: authentication and rate limit") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  const std::string body = targets_body({"ftp://example.org/"});

  auto no_headers = c.Post("/api/v1/control", body, "application/json");
  REQUIRE(no_headers);
  CHECK(no_headers->status == 401);
  CHECK(error_of(no_headers) == "unknown_key");

  auto stranger = control(c, core::generate_ed25519(), body);
  CHECK(stranger->status == 401);
  CHECK(error_of(stranger) == "unknown_key");

  auto bad_sig = control(c, key, body, core::base64_encode(core::ed25519_sign(key, body + " ")));
  CHECK(bad_sig->status == 401);
  CHECK(error_of(bad_sig) == "bad_signature");

  // Ten authenticated requests pass the bucket (and fail on their bad URL); the eleventh is throttled.
  for (int i = 0; i < 10; ++i) {
    auto r = control(c, key, body);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(error_of(r) == "bad_url");
  }
  auto throttled = control(c, key, body);
  CHECK(throttled->status == 429);
  CHECK(error_of(throttled) == "rate_limited");
  // Another key has its own bucket.
  CHECK(control(c, registered_key(c), body)->status == 400);
}

TEST_CASE("control: refuses private targets, non-http URLs and too many targets") {
  tests::FakeDnsConfig private_answer;
  private_answer.a = {"10.20.30.40"};
  tests::FakeDnsServer dns(private_answer);
  ServeOptions options;
  options.resolver = dns.address();
  RunningCollector collector(options);
  auto c = collector.client();
  auto key = registered_key(c);

  for (const char* url : {"http://127.0.0.1:8080/", "https://10.0.0.1/", "http://[::1]/", "http://192.168.1.1/x"}) {
    auto r = control(c, key, targets_body({url}));
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 400, url);
    CHECK_MESSAGE(error_of(r) == "private_target", url);
  }
  auto gopher = control(c, key, targets_body({"gopher://example.org/"}));
  CHECK(gopher->status == 400);
  CHECK(error_of(gopher) == "bad_url");
  auto garbage = control(c, key, "{\"targets\": 5}");
  CHECK(garbage->status == 400);
  CHECK(error_of(garbage) == "malformed");

  // A public-looking name that resolves into a private network: measured no further than DNS.
  auto r = control(c, key, targets_body({"http://intranet.example/"}, 20000, {"10.1.2.3"}));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto results = json::parse(r->body)["results"];
  REQUIRE(results.size() == 1);
  auto obs = results[0].get<measure::ControlObservations>();
  CHECK(obs.vantage == "collector");
  CHECK(obs.failure == core::failure::control_private_address);
  CHECK(obs.target.dns.addresses == std::vector<std::string>{"10.20.30.40"});
  CHECK(obs.target.tcp.empty());
  CHECK_FALSE(obs.target.http.has_value());
  REQUIRE(obs.addresses.size() == 2);
  CHECK(obs.addresses[0].address == "10.20.30.40");
  CHECK(obs.addresses[0].bogon);
  CHECK(obs.addresses[1].address == "10.1.2.3");
}

TEST_CASE("control: too many targets is 413") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  std::vector<std::string> urls(101, "http://example.org/");
  auto r = control(c, key, targets_body(urls));
  REQUIRE(r);
  CHECK(r->status == 413);
  CHECK(error_of(r) == "too_large");
}

TEST_CASE("control: measures a loopback site with --allow-private-targets") {
  LoopbackSite site;
  ServeOptions options;
  options.allow_private_targets = true;
  auto asn = network::TsvAsnDatabase::parse("2.60.0.0\t2.63.255.255\t9198\tKZ\tKAZTELECOM-AS\n");
  RunningCollector collector(options, std::move(asn));
  auto c = collector.client();
  auto key = registered_key(c);
  const std::string url = "http://127.0.0.1:" + std::to_string(site.port) + "/page";
  const std::string closed = "http://127.0.0.1:1/page";

  auto r = control(c, key, targets_body({url, closed}, 20000, {"2.61.1.1", "127.0.0.1"}));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto results = json::parse(r->body)["results"];
  REQUIRE(results.size() == 2);
  auto ok = results[0].get<measure::ControlObservations>();
  CHECK(ok.vantage == "collector");
  CHECK(ok.failure == "");
  CHECK(ok.target.url == url);
  REQUIRE(ok.target.http.has_value());
  REQUIRE_FALSE(ok.target.http->requests.empty());
  CHECK(ok.target.http->requests[0].status == 200);
  CHECK(ok.target.http->requests[0].title == "Loopback Site");
  // The control's own answer (127.0.0.1) first, then the probe's addresses, deduplicated.
  REQUIRE(ok.addresses.size() == 2);
  CHECK(ok.addresses[0].address == "127.0.0.1");
  CHECK(ok.addresses[0].bogon);
  CHECK(ok.addresses[1].address == "2.61.1.1");
  CHECK(ok.addresses[1].asn == 9198);
  CHECK(ok.addresses[1].cc == "KZ");
  CHECK_FALSE(ok.addresses[1].bogon);

  auto refused = results[1].get<measure::ControlObservations>();
  REQUIRE(refused.target.tcp.size() == 1);
  CHECK(refused.target.tcp[0].failure == "tcp.refused");
  CHECK_FALSE(refused.target.http.has_value());
}

TEST_CASE("control: an internationalised name is queried and fetched as its A-label, reported in Unicode") {
  LoopbackSite site;
  // Only the A-label resolves: a raw UTF-8 query would get NXDOMAIN.
  tests::FakeDnsConfig nxdomain, loopback;
  nxdomain.mode = tests::FakeDnsMode::nxdomain;
  loopback.a = {"127.0.0.1"};
  tests::FakeDnsServer dns(nxdomain);
  dns.set("xn--80aswg.xn--80ao21a", loopback);
  ServeOptions options;
  options.allow_private_targets = true;
  options.resolver = dns.address();
  RunningCollector collector(options);
  auto c = collector.client();
  auto key = registered_key(c);
  const std::string url = "http://сайт.қаз:" + std::to_string(site.port) + "/page";

  auto r = control(c, key, targets_body({url}));
  REQUIRE(r);
  REQUIRE(r->status == 200);
  auto obs = json::parse(r->body)["results"][0].get<measure::ControlObservations>();
  CHECK(obs.failure == "");
  CHECK(obs.target.url == url);
  CHECK(obs.target.host == "сайт.қаз");
  CHECK(obs.target.dns.hostname == "xn--80aswg.xn--80ao21a");
  CHECK(obs.target.dns.addresses == std::vector<std::string>{"127.0.0.1"});
  REQUIRE(obs.target.http.has_value());
  REQUIRE_FALSE(obs.target.http->requests.empty());
  CHECK(obs.target.http->requests[0].status == 200);
  CHECK(obs.target.http->requests[0].title == "Loopback Site");
  for (const auto& name : dns.names_seen()) CHECK(name == "xn--80aswg.xn--80ao21a");

  auto invalid = control(c, key, targets_body({"http://☃.қаз/"}));
  REQUIRE(invalid);
  CHECK(invalid->status == 400);
  CHECK(error_of(invalid) == "bad_url");
  CHECK(json::parse(invalid->body)["detail"].get<std::string>().find("not a valid internationalised domain name") !=
        std::string::npos);
}

// The control's DNS step listens for late replies (Hold-On) like the probe's: the whole window unless its
// handshake at the first reply's address verified, then only 50 ms after that reply.
TEST_CASE("control: a forgery 300 ms after the real answer is recorded unless the site verified first") {
  const auto root = test_tls::make_root("Control Hold-On Root");
  test_tls::FakeTlsServerOptions tls;
  tls.chain = {test_tls::make_leaf(root, {"site.example"}), root};
  tls.http_body = "the site";
  test_tls::FakeTlsServer site(tls);
  tests::FakeDnsServer dns(tests::forgery_after_real({"127.0.0.1"}, {"198.51.100.7"}, 300));
  const std::string url = "https://site.example:" + std::to_string(site.port()) + "/";

  auto late_replies = [&](const test_tls::Issued& trusted_root) {
    const auto bundle = std::filesystem::temp_directory_path() /
                        ("kuzet-control-holdon-" + std::to_string(::getpid()) + ".pem");
    test_tls::write_bundle(bundle.string(), {trusted_root});
    ServeOptions options;
    options.allow_private_targets = true;
    options.resolver = dns.address();
    options.ca_bundle = bundle.string();
    RunningCollector collector(options);
    auto c = collector.client();
    auto key = registered_key(c);
    auto r = control(c, key, targets_body({url}));
    std::filesystem::remove(bundle);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto obs = json::parse(r->body)["results"][0].get<measure::ControlObservations>();
    CHECK(obs.failure == "");
    CHECK(obs.target.dns.addresses == std::vector<std::string>{"127.0.0.1"});
    std::vector<std::string> late;
    for (size_t i = 2; i < obs.target.dns.queries.size(); ++i)
      for (const auto& a : obs.target.dns.queries[i].answers) late.push_back(a.value);
    return late;
  };
  CHECK(late_replies(root).empty());  // verified at 127.0.0.1: the window ended 50 ms after the first reply
  CHECK(late_replies(test_tls::make_root("Another Root")) == std::vector<std::string>{"198.51.100.7"});
}
