// The run's Hold-On windows close early once a target's first DNS replies led to the site itself (a publicly
// verified handshake at one of their addresses): a forgery that lost the race by more than
// hold_on_after_proof_ms is not waited for. Unproven, the whole window is listened to, as before. A redirect
// hop's name is resolved with no window at all.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "measure/target.hpp"
#include "probe/runner.hpp"
#include "tests/dns/fake_dns_server.hpp"
#include "tests/http/fake_http_server.hpp"
#include "tests/tls/fake_tls_server.hpp"
#include "tests/tls/test_pki.hpp"

using namespace kuzet;

namespace {

constexpr char kForged[] = "198.51.100.7";

bool mentions(const measure::DnsObservation& obs, const std::string& address) {
  for (const auto& q : obs.queries)
    for (const auto& a : q.answers)
      if (a.value == address) return true;
  return false;
}

measure::TlsHandshake handshake(const std::string& address) {
  measure::TlsHandshake h;
  h.address = address;
  h.sni = "site.example";
  return h;
}

// One https target served on loopback by a site whose certificate the run's store trusts (or not), named by
// a resolver that answers 127.0.0.1 and, 300 ms later, a forged address to the same A query.
probe::RunResult run_once(bool store_trusts_site) {
  const auto root = test_tls::make_root("Hold-On Proof Root");
  const auto other_root = test_tls::make_root("Unrelated Root");
  test_tls::FakeTlsServerOptions tls;
  tls.chain = {test_tls::make_leaf(root, {"site.example"}), root};
  tls.http_body = "the site";
  test_tls::FakeTlsServer site(tls);

  tests::FakeDnsServer dns(tests::forgery_after_real({"127.0.0.1"}, {kForged}, 300));

  const auto bundle = std::filesystem::temp_directory_path() /
                      ("kuzet-holdon-proof-" + std::to_string(::getpid()) + ".pem");
  test_tls::write_bundle(bundle.string(), {store_trusts_site ? root : other_root});
  probe::RunOptions options;
  options.targets.push_back(
      {spec::Target{"https://site.example:" + std::to_string(site.port()) + "/", "news", "", ""}, "test.yaml"});
  options.measure.dns.resolver = dns.address();
  options.measure.dns.hold_on_ms = 3000;  // long: the forgery, 300 ms late, comes well within it
  options.measure.tls.trust = measure::TrustStore::load(bundle.string());
  options.measure.http.ca_bundle = bundle.string();
  auto result = probe::run_probe(options);
  std::filesystem::remove(bundle);
  return result;
}

}  // namespace

TEST_CASE("first_replies_proven: a publicly verified handshake at an address of the first replies") {
  measure::TargetObservations obs;
  obs.scheme = "https";
  obs.dns.addresses = {"192.0.2.10"};
  CHECK_FALSE(measure::first_replies_proven(obs));  // no handshake at all

  obs.tls = {handshake("192.0.2.10")};
  CHECK(measure::first_replies_proven(obs));  // verified, no public bundle configured to say otherwise

  obs.tls[0].public_trust = "/usr/share/ca-certificates/mozilla";
  CHECK(measure::first_replies_proven(obs));  // and the public bundle accepted it
  obs.tls[0].public_verify_failure = "tls.unknown_authority";
  CHECK_FALSE(measure::first_replies_proven(obs));  // only a root this machine added accepts it

  obs.tls = {handshake("192.0.2.10")};
  obs.tls[0].verify_failure = "tls.hostname_mismatch";
  CHECK_FALSE(measure::first_replies_proven(obs));
  obs.tls = {handshake("192.0.2.10")};
  obs.tls[0].failure = "tls.reset";
  CHECK_FALSE(measure::first_replies_proven(obs));

  obs.tls = {handshake("203.0.113.5")};  // an address the first replies did not give
  CHECK_FALSE(measure::first_replies_proven(obs));

  obs.tls = {handshake("192.0.2.10")};
  obs.scheme = "http";  // plain HTTP proves nothing about who answered
  CHECK_FALSE(measure::first_replies_proven(obs));
}

TEST_CASE("a run does not wait for a late forgery once the site verified; unverified, it records it") {
  auto proven = run_once(true);
  REQUIRE(proven.records.size() == 1);
  const auto& p = proven.records[0].observations;
  REQUIRE(p.http.has_value());
  CHECK(p.http->failure == "");
  CHECK(measure::first_replies_proven(p));
  CHECK(p.dns.queries.size() == 2);  // the first A and AAAA replies only
  CHECK_FALSE(mentions(p.dns, kForged));

  auto unproven = run_once(false);
  REQUIRE(unproven.records.size() == 1);
  const auto& u = unproven.records[0].observations;
  CHECK_FALSE(measure::first_replies_proven(u));
  REQUIRE(u.dns.queries.size() == 3);
  CHECK(u.dns.queries[2].query_type == "A");
  CHECK(mentions(u.dns, kForged));
}

TEST_CASE("a redirect hop's name is resolved without Hold-On: only its first address is used") {
  test_http::FakeHttpServer site;
  tests::FakeDnsConfig loopback;
  loopback.a = {"127.0.0.1"};
  tests::FakeDnsServer dns(loopback);
  measure::MeasureOptions options;
  options.dns.resolver = dns.address();
  options.dns.hold_on_ms = 6000;  // were the hop's window listened to, the target would take 6 s more
  std::unique_ptr<measure::dns::DnsHoldOn> hold;
  auto obs = measure::begin_target(site.base_url("first.test") + "/to-host/second.test/page", options, &hold);
  measure::finish_target(obs, options);
  hold.reset();  // the first name's own window is not what this test is about
  REQUIRE(obs.http.has_value());
  REQUIRE(obs.http->requests.size() == 2);
  CHECK(obs.http->requests[1].url == site.base_url("second.test") + "/page");
  CHECK(obs.http->requests[1].status == 200);
  CHECK(obs.duration_ms < 3000);
}
