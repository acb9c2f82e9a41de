// Loopback tests of "Hold-On" in the DNS step: after the first reply to a query the resolver keeps
// listening, so an on-path injector's forged answer and the real one that follows are both recorded.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "core/vocabulary/failure.hpp"
#include "measure/dns/dns.hpp"
#include "tests/dns/fake_dns_server.hpp"

using namespace kuzet;
using kuzet::tests::FakeDnsConfig;
using kuzet::tests::FakeDnsMode;
using kuzet::tests::FakeDnsServer;

namespace {

// Generous: the tests run on a loaded 2-core machine. Hold windows are long compared to the injection gap
// for the same reason; only the capping test uses a short overall budget.
constexpr int kGenerousTimeoutMs = 8000;
constexpr int kGenerousHoldMs = 1500;

measure::DnsObservation lookup(const FakeDnsServer& server, const std::string& name, int hold_on_ms,
                               int timeout_ms = kGenerousTimeoutMs) {
  measure::dns::DnsOptions options;
  options.resolver = server.address();
  options.timeout_ms = timeout_ms;
  options.hold_on_ms = hold_on_ms;
  return measure::dns::resolve(name, options);
}

std::vector<const measure::DnsQuery*> queries_of(const measure::DnsObservation& obs, const std::string& type) {
  std::vector<const measure::DnsQuery*> out;
  for (const auto& q : obs.queries)
    if (q.query_type == type) out.push_back(&q);
  return out;
}

std::vector<std::string> addresses_in(const measure::DnsQuery& q) {
  std::vector<std::string> out;
  for (const auto& a : q.answers)
    if (a.type == "A" || a.type == "AAAA") out.push_back(a.value);
  return out;
}

bool mentions(const measure::DnsObservation& obs, const std::string& address) {
  if (std::find(obs.addresses.begin(), obs.addresses.end(), address) != obs.addresses.end()) return true;
  for (const auto& q : obs.queries)
    for (const auto& a : q.answers)
      if (a.value == address) return true;
  return false;
}

FakeDnsConfig injected_a(int gap_ms = 100) {
  FakeDnsConfig config;
  config.a = {"192.0.2.10"};
  config.aaaa = {"2001:db8::10"};
  config.injected_a = {"203.0.113.66"};
  config.injection_gap_ms = gap_ms;
  return config;
}

// The same race lost by the injector: the real reply first, the forged one gap_ms later.
FakeDnsConfig injected_after_real(int gap_ms = 100) {
  FakeDnsConfig config = injected_a(gap_ms);
  config.injected_after_real = true;
  return config;
}

}  // namespace

TEST_CASE("an injected A answer and the real one are both recorded; addresses come from the first") {
  FakeDnsServer server(injected_a());
  auto obs = lookup(server, "blocked.example", kGenerousHoldMs);
  CHECK(obs.failure == "");
  // The probe goes on with what an ordinary resolver would have taken: the forged first reply.
  CHECK(obs.addresses == std::vector<std::string>{"203.0.113.66", "2001:db8::10"});
  REQUIRE(obs.queries.size() == 3);
  // First replies in type order, then the late one.
  CHECK(obs.queries[0].query_type == "A");
  CHECK(addresses_in(obs.queries[0]) == std::vector<std::string>{"203.0.113.66"});
  CHECK(obs.queries[1].query_type == "AAAA");
  CHECK(addresses_in(obs.queries[1]) == std::vector<std::string>{"2001:db8::10"});
  const auto& late = obs.queries[2];
  CHECK(late.query_type == "A");
  CHECK(late.rcode == "NOERROR");
  CHECK(late.failure == "");
  CHECK(addresses_in(late) == std::vector<std::string>{"192.0.2.10"});
  REQUIRE(late.answers.size() == 1);
  CHECK(late.answers[0].ttl == 300);
  // Time since the query was sent: the real reply left the server 100 ms after the forged one.
  CHECK(late.duration_ms >= 95);
  CHECK(late.duration_ms > obs.queries[0].duration_ms);
  CHECK(server.queries_received() == 2);  // listening longer sends nothing more
}

TEST_CASE("hold_on_ms = 0 records only the first reply") {
  FakeDnsServer server(injected_a());
  auto obs = lookup(server, "blocked.example", 0);
  CHECK(obs.failure == "");
  REQUIRE(obs.queries.size() == 2);
  CHECK(addresses_in(*queries_of(obs, "A").at(0)) == std::vector<std::string>{"203.0.113.66"});
  CHECK(obs.addresses == std::vector<std::string>{"203.0.113.66", "2001:db8::10"});
}

TEST_CASE("an injected AAAA answer is recorded the same way") {
  FakeDnsConfig config = injected_a();
  config.injected_a.clear();
  config.injected_aaaa = {"2001:db8::bad"};
  FakeDnsServer server(config);
  auto obs = lookup(server, "v6.example", kGenerousHoldMs);
  CHECK(queries_of(obs, "A").size() == 1);
  auto aaaa = queries_of(obs, "AAAA");
  REQUIRE(aaaa.size() == 2);
  CHECK(addresses_in(*aaaa[0]) == std::vector<std::string>{"2001:db8::bad"});
  CHECK(addresses_in(*aaaa[1]) == std::vector<std::string>{"2001:db8::10"});
  CHECK(obs.addresses == std::vector<std::string>{"192.0.2.10", "2001:db8::bad"});
}

TEST_CASE("duplicate replies are not recorded: byte-identical, or differing only in TTL and order") {
  FakeDnsConfig config;
  config.a = {"192.0.2.20", "192.0.2.21"};
  config.aaaa = {"2001:db8::20"};
  config.duplicate_real = true;
  FakeDnsServer server(config);
  auto obs = lookup(server, "dup.example", kGenerousHoldMs);
  CHECK(obs.failure == "");
  CHECK(obs.queries.size() == 2);
  CHECK(obs.addresses == std::vector<std::string>{"192.0.2.20", "192.0.2.21", "2001:db8::20"});

  // With an injection: forged, real, then the real one's duplicates: one late entry only.
  FakeDnsConfig both = injected_a();
  both.duplicate_real = true;
  server.set("both.example", both);
  auto injected = lookup(server, "both.example", kGenerousHoldMs);
  auto a = queries_of(injected, "A");
  REQUIRE(a.size() == 2);
  CHECK(addresses_in(*a[0]) == std::vector<std::string>{"203.0.113.66"});
  CHECK(addresses_in(*a[1]) == std::vector<std::string>{"192.0.2.10"});
  CHECK(queries_of(injected, "AAAA").size() == 1);
}

TEST_CASE("a forged reply after the real one is recorded too (the window is symmetric)") {
  FakeDnsServer server(injected_after_real());
  auto obs = lookup(server, "late-forgery.example", kGenerousHoldMs);
  auto a = queries_of(obs, "A");
  REQUIRE(a.size() == 2);
  CHECK(addresses_in(*a[0]) == std::vector<std::string>{"192.0.2.10"});
  CHECK(addresses_in(*a[1]) == std::vector<std::string>{"203.0.113.66"});
  CHECK(obs.addresses == std::vector<std::string>{"192.0.2.10", "2001:db8::10"});
}

TEST_CASE("wrong-ID forgeries are ignored, before or after the real reply") {
  FakeDnsConfig first;
  first.a = {"192.0.2.80"};
  first.aaaa = {"2001:db8::80"};
  first.wrong_id_first = true;
  FakeDnsServer server(first);
  auto obs = lookup(server, "spoofed.example", kGenerousHoldMs);
  CHECK(obs.failure == "");
  CHECK(obs.queries.size() == 2);
  CHECK(obs.addresses == std::vector<std::string>{"192.0.2.80", "2001:db8::80"});
  CHECK_FALSE(mentions(obs, "203.0.113.66"));

  FakeDnsConfig after = injected_after_real();
  after.injected_wrong_id = true;
  server.set("spoofed-late.example", after);
  auto late = lookup(server, "spoofed-late.example", kGenerousHoldMs);
  CHECK(late.failure == "");
  CHECK(late.queries.size() == 2);
  CHECK_FALSE(mentions(late, "203.0.113.66"));
}

TEST_CASE("a late reply to another question is ignored, even with the right ID") {
  FakeDnsConfig config = injected_after_real();
  config.injected_wrong_question = true;
  FakeDnsServer server(config);
  auto obs = lookup(server, "asked.example", kGenerousHoldMs);
  CHECK(obs.failure == "");
  CHECK(obs.queries.size() == 2);
  CHECK_FALSE(mentions(obs, "203.0.113.66"));

  // The same forgery with the right question is recorded: the test above is not passing by accident.
  config.injected_wrong_question = false;
  server.set("asked.example", config);
  CHECK(lookup(server, "asked.example", kGenerousHoldMs).queries.size() == 3);
}

TEST_CASE("a reply after the hold window is not recorded") {
  FakeDnsServer server(injected_a(3000));
  auto obs = lookup(server, "slow-real.example", 100);
  CHECK(obs.queries.size() == 2);
  CHECK_FALSE(mentions(obs, "192.0.2.10"));
  CHECK(obs.duration_ms < 3000);  // did not wait for the real reply (3 s after the forged one)
}

TEST_CASE("the hold window never runs past the overall timeout") {
  FakeDnsServer server(injected_a(100));
  // A long window (20 s) on a 1 s budget: the resolve ends at the budget, with the replies seen by then.
  auto obs = lookup(server, "capped.example", 20000, 1000);
  CHECK(obs.failure == "");
  CHECK(obs.queries.size() == 3);
  CHECK(obs.duration_ms >= 900);  // it did hold on...
  CHECK(obs.duration_ms < 5000);  // ...but only up to the budget (slack for a loaded machine)
}

TEST_CASE("a silent resolver still times out within the budget with a hold window") {
  FakeDnsServer server([] {
    FakeDnsConfig config;
    config.mode = FakeDnsMode::silent;
    return config;
  }());
  auto obs = lookup(server, "silent.example", kGenerousHoldMs, 600);
  CHECK(obs.failure == core::failure::dns_timeout);
  CHECK(obs.queries.size() == 2);
  CHECK(obs.duration_ms < 5000);
}

// resolve_first: the probe connects with the first replies while the hold windows stay open; finish() then
// records exactly what resolve() would have.
namespace {
measure::DnsObservation lookup_first(const FakeDnsServer& server, const std::string& name, int hold_on_ms,
                                     std::unique_ptr<measure::dns::DnsHoldOn>* hold,
                                     int after_proof_ms = measure::dns::DnsOptions{}.hold_on_after_proof_ms) {
  measure::dns::DnsOptions options;
  options.resolver = server.address();
  options.timeout_ms = kGenerousTimeoutMs;
  options.hold_on_ms = hold_on_ms;
  options.hold_on_after_proof_ms = after_proof_ms;
  return measure::dns::resolve_first(name, options, hold);
}
}  // namespace

TEST_CASE("resolve_first returns with the first replies; finish() adds the late one as resolve() does") {
  FakeDnsServer server(injected_a(300));
  std::unique_ptr<measure::dns::DnsHoldOn> hold;
  auto obs = lookup_first(server, "blocked.example", kGenerousHoldMs, &hold);
  // Returned before the real reply (300 ms after the forged one), let alone the 1.5 s window.
  CHECK(obs.duration_ms < 300);
  CHECK(obs.failure == "");
  CHECK(obs.addresses == std::vector<std::string>{"203.0.113.66", "2001:db8::10"});
  CHECK(obs.queries.size() == 2);
  REQUIRE(hold != nullptr);
  hold->finish(obs);
  REQUIRE(obs.queries.size() == 3);
  CHECK(obs.queries[2].query_type == "A");
  CHECK(addresses_in(obs.queries[2]) == std::vector<std::string>{"192.0.2.10"});
  CHECK(obs.queries[2].duration_ms >= 295);  // since the query was sent, not since finish() was called
  // The addresses stay those of the first replies: what the probe connected to.
  CHECK(obs.addresses == std::vector<std::string>{"203.0.113.66", "2001:db8::10"});
}

TEST_CASE("finish() after the window closed: a reply within the window counts, one after it does not") {
  // Within: the real reply comes 100 ms after the forged one, inside a 600 ms window; finish() is called
  // only after the window closed, so the reply is read from the socket's queue with its arrival time.
  FakeDnsServer server(injected_a(100));
  std::unique_ptr<measure::dns::DnsHoldOn> hold;
  auto within = lookup_first(server, "blocked.example", 600, &hold);
  REQUIRE(hold != nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  hold->finish(within);
  REQUIRE(within.queries.size() == 3);
  CHECK(addresses_in(within.queries[2]) == std::vector<std::string>{"192.0.2.10"});
  CHECK(within.queries[2].duration_ms < 600);

  // After: the real reply comes 700 ms after the forged one, outside a 300 ms window, but before finish().
  server.set("slow-real.example", injected_a(700));
  auto after = lookup_first(server, "slow-real.example", 300, &hold);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  if (hold) hold->finish(after);
  CHECK(after.queries.size() == 2);
  CHECK_FALSE(mentions(after, "192.0.2.10"));
}

// Once the first replies are proven to lead to the site (a publicly verified handshake at one of their
// addresses), finish() waits hold_on_after_proof_ms after each first reply instead of the whole window.
TEST_CASE("with the first replies proven, a forgery later than hold_on_after_proof_ms is not waited for") {
  FakeDnsServer server(injected_after_real(600));  // the real reply, the forged one 600 ms later
  std::unique_ptr<measure::dns::DnsHoldOn> hold;
  auto obs = lookup_first(server, "late-forgery.example", 4000, &hold, 100);
  REQUIRE(hold != nullptr);
  CHECK(obs.addresses == std::vector<std::string>{"192.0.2.10", "2001:db8::10"});
  const auto started = std::chrono::steady_clock::now();
  hold->finish(obs, true);
  // Not the 4 s window: the 100 ms one (generous bound for a loaded machine, far below 4 s).
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(2000));
  CHECK(obs.queries.size() == 2);
  CHECK_FALSE(mentions(obs, "203.0.113.66"));

  // Unproven, the same race is listened to in full and the forgery recorded.
  server.set("late-forgery-unproven.example", injected_after_real(600));
  auto unproven = lookup_first(server, "late-forgery-unproven.example", 4000, &hold, 100);
  REQUIRE(hold != nullptr);
  hold->finish(unproven, false);
  REQUIRE(unproven.queries.size() == 3);
  CHECK(addresses_in(unproven.queries[2]) == std::vector<std::string>{"203.0.113.66"});
}

TEST_CASE("with the first replies proven, a forgery within hold_on_after_proof_ms is still recorded") {
  FakeDnsServer server(injected_after_real(100));
  std::unique_ptr<measure::dns::DnsHoldOn> hold;
  auto obs = lookup_first(server, "close-race.example", 4000, &hold, 1000);
  REQUIRE(hold != nullptr);
  hold->finish(obs, true);
  REQUIRE(obs.queries.size() == 3);
  CHECK(addresses_in(obs.queries[2]) == std::vector<std::string>{"203.0.113.66"});
}

TEST_CASE("a proof that comes late still applies the short window, judged by arrival time") {
  // The forged reply comes 300 ms after the real one and is already in the socket's queue when finish() is
  // called: what counts is when it arrived (past the 100 ms window), not when the proof came.
  FakeDnsServer server(injected_after_real(300));
  std::unique_ptr<measure::dns::DnsHoldOn> hold;
  auto obs = lookup_first(server, "slow-site.example", 4000, &hold, 100);
  REQUIRE(hold != nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  hold->finish(obs, true);
  CHECK(obs.queries.size() == 2);
  CHECK_FALSE(mentions(obs, "203.0.113.66"));
}

TEST_CASE("a forgery read while another query was still resolving is dropped too once the proof shortens") {
  // AAAA never answers, so c-ares is still running when the forged A reply comes (300 ms after the real
  // one) and reads it itself, before finish(): the shortened window must apply to it as well.
  FakeDnsConfig config = injected_after_real(300);
  config.aaaa_mode = FakeDnsMode::silent;
  FakeDnsServer server(config);
  measure::dns::DnsOptions options;
  options.resolver = server.address();
  options.timeout_ms = 1200;
  options.hold_on_ms = 4000;
  options.hold_on_after_proof_ms = 100;
  std::unique_ptr<measure::dns::DnsHoldOn> hold;
  auto obs = measure::dns::resolve_first("aaaa-silent.example", options, &hold);
  CHECK(obs.addresses == std::vector<std::string>{"192.0.2.10"});
  REQUIRE(hold != nullptr);
  hold->finish(obs, true);
  CHECK_FALSE(mentions(obs, "203.0.113.66"));

  // Unproven, the same forgery is recorded (it came within the window).
  auto unproven = measure::dns::resolve_first("aaaa-silent.example", options, &hold);
  REQUIRE(hold != nullptr);
  hold->finish(unproven, false);
  CHECK(mentions(unproven, "203.0.113.66"));
}
