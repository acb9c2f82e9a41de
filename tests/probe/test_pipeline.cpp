// The streamed run: control asked for in batches as DNS answers arrive, Hold-On's late replies merged into
// each record before judging.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "probe/pipeline/control_batches.hpp"
#include "probe/runner.hpp"
#include "tests/dns/fake_dns_server.hpp"
#include "tests/probe/fake_control.hpp"
#include "tests/loopback_port.hpp"

using namespace kuzet;
using namespace std::chrono_literals;

namespace {

// Answers every control request (or fails the ones listed), remembering what each request carried.
class RecordingCollector : public probe::CollectorLink {
 public:
  std::mutex mutex;
  std::vector<std::vector<std::string>> requests;  // the URLs of each request, in the order they came
  std::set<size_t> fail_requests;                  // 0-based request numbers that fail as a whole
  std::optional<probe::NetworkIdentity> whoami() override { return std::nullopt; }
  std::optional<std::vector<measure::ControlObservations>> control(const std::vector<probe::ControlTarget>& targets,
                                                                   int) override {
    size_t number = 0;
    {
      std::lock_guard<std::mutex> lock(mutex);
      number = requests.size();
      requests.emplace_back();
      for (const auto& t : targets) requests.back().push_back(t.url);
    }
    if (fail_requests.count(number)) return std::nullopt;
    return testing::empty_control_for(targets);
  }
};

probe::ControlTarget target(const std::string& url) { return probe::ControlTarget{url, {"192.0.2.1"}}; }

}  // namespace

TEST_CASE("targets that resolve together go in one control request; each gets its own answer") {
  RecordingCollector link;
  probe::pipeline::ControlBatches batches(link, 3, 1000);
  batches.add(2, target("https://c.example/"));
  batches.add(0, target("https://a.example/"));
  batches.add(1, target("https://b.example/"));
  auto results = batches.results();
  REQUIRE(link.requests.size() == 1);
  CHECK(link.requests[0] == std::vector<std::string>{"https://c.example/", "https://a.example/", "https://b.example/"});
  REQUIRE(results.size() == 3);
  CHECK(results[0]->target.url == "https://a.example/");
  CHECK(results[1]->target.url == "https://b.example/");
  CHECK(results[2]->target.url == "https://c.example/");
}

TEST_CASE("a target resolved late goes in a later request; the last request allowed waits for all the rest") {
  RecordingCollector link;
  probe::pipeline::ControlBatchPolicy policy;
  policy.gather = 30ms;
  policy.max_requests = 2;
  probe::pipeline::ControlBatches batches(link, 4, 1000, policy);
  batches.add(0, target("https://a.example/"));
  std::this_thread::sleep_for(300ms);  // the first batch (a) goes after the gathering time
  batches.add(1, target("https://b.example/"));
  std::this_thread::sleep_for(300ms);  // the second is the last allowed: it waits for c and d
  batches.add(2, target("https://c.example/"));
  std::this_thread::sleep_for(300ms);
  batches.add(3, target("https://d.example/"));
  auto results = batches.results();
  REQUIRE(link.requests.size() == 2);
  CHECK(link.requests[0] == std::vector<std::string>{"https://a.example/"});
  CHECK(link.requests[1] == std::vector<std::string>{"https://b.example/", "https://c.example/", "https://d.example/"});
  for (const auto& r : results) CHECK(r.has_value());
}

TEST_CASE("a failed control request leaves only its own targets without control") {
  RecordingCollector link;
  link.fail_requests = {0};
  probe::pipeline::ControlBatchPolicy policy;
  policy.gather = 20ms;
  probe::pipeline::ControlBatches batches(link, 2, 1000, policy);
  batches.add(0, target("https://a.example/"));
  std::this_thread::sleep_for(300ms);
  batches.add(1, target("https://b.example/"));
  auto results = batches.results();
  REQUIRE(link.requests.size() == 2);
  CHECK_FALSE(results[0].has_value());
  CHECK(results[1].has_value());
}

TEST_CASE("batches never exceed max_batch") {
  RecordingCollector link;
  probe::pipeline::ControlBatchPolicy policy;
  policy.max_batch = 2;
  probe::pipeline::ControlBatches batches(link, 5, 1000, policy);
  for (size_t i = 0; i < 5; ++i) batches.add(i, target("https://t" + std::to_string(i) + ".example/"));
  auto results = batches.results();
  size_t asked = 0;
  for (const auto& r : link.requests) {
    CHECK(r.size() <= 2);
    asked += r.size();
  }
  CHECK(asked == 5);
  for (const auto& r : results) CHECK(r.has_value());
}

TEST_CASE("a run connects with the first DNS answer and still records the injected and the real one") {
  // The forged answer first, the real one 300 ms later, inside the default 400 ms window (the run's own
  // Hold-On; the windows are the same as in resolve()). Both addresses are closed loopback ports.
  tests::FakeDnsConfig config;
  config.a = {"127.0.0.2"};
  config.injected_a = {"127.0.0.3"};
  config.injection_gap_ms = 300;
  tests::FakeDnsServer dns(config);
  probe::RunOptions o;
  const auto port = testing::unused_loopback_port();
  o.targets.push_back({spec::Target{"http://blocked.example:" + std::to_string(port) + "/", "news", "", ""}, ""});
  o.measure.dns.resolver = dns.address();
  o.measure.dns.query_aaaa = false;
  o.measure.tls.trust = nullptr;
  o.measure.tcp_timeout_ms = 2000;
  auto link = std::make_shared<RecordingCollector>();
  o.collector = link;
  auto result = probe::run_probe(o);
  REQUIRE(result.records.size() == 1);
  const auto& obs = result.records[0].observations;
  CHECK(obs.dns.addresses == std::vector<std::string>{"127.0.0.3"});
  REQUIRE(obs.dns.queries.size() == 2);
  CHECK(obs.dns.queries[1].answers.at(0).value == "127.0.0.2");
  REQUIRE(obs.tcp.size() == 1);
  CHECK(obs.tcp[0].address == "127.0.0.3");  // connected with the first answer
  // The control request carried the first answer too, and came back to this record.
  REQUIRE(link->requests.size() == 1);
  REQUIRE(result.records[0].control.has_value());
  CHECK(result.control_obtained);
}
