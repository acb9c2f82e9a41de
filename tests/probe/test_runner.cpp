// Runner tests: concurrency bound, control and network plumbing, records and the JSON Lines file.
#include <unistd.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "measure/observations_json.hpp"
#include "probe/identity/network_memory.hpp"
#include "probe/ui/output.hpp"
#include "probe/record.hpp"
#include "probe/runner.hpp"
#include "tests/loopback_port.hpp"
#include "tests/probe/fake_control.hpp"

using namespace kuzet;

namespace {

class FakeCollector : public probe::CollectorLink {
 public:
  bool reachable = true;
  std::vector<probe::ControlTarget> last_request;
  std::optional<probe::NetworkIdentity> whoami() override {
    if (!reachable) return std::nullopt;
    probe::NetworkIdentity n;
    n.cc = "KZ";
    n.asn = 9198;
    n.source = "collector";
    return n;
  }
  std::optional<std::vector<measure::ControlObservations>> control(const std::vector<probe::ControlTarget>& targets,
                                                                   int) override {
    if (!reachable) return std::nullopt;
    last_request = targets;
    return testing::empty_control_for(targets);
  }
};

probe::NetworkIdentity network(const std::string& cc, uint32_t asn, const std::string& source) {
  probe::NetworkIdentity n;
  n.cc = cc;
  n.asn = asn;
  n.source = source;
  return n;
}

probe::RunOptions options_for(const std::vector<std::string>& urls) {
  probe::RunOptions o;
  for (const auto& u : urls) o.targets.push_back({spec::Target{u, "control", "", ""}, "test.yaml"});
  o.measure.tls.trust = nullptr;
  o.measure.tcp_timeout_ms = 2000;
  return o;
}

}  // namespace

TEST_CASE("parallel_for visits every index once and never exceeds the bound") {
  std::atomic<int> in_flight{0}, peak{0};
  std::mutex m;
  std::multiset<size_t> seen;
  probe::parallel_for(100, 8, [&](size_t i) {
    int now = ++in_flight;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    {
      std::lock_guard<std::mutex> lock(m);
      seen.insert(i);
    }
    --in_flight;
  });
  CHECK(seen.size() == 100);
  for (size_t i = 0; i < 100; ++i) CHECK(seen.count(i) == 1);
  CHECK(peak.load() <= 8);
  CHECK(peak.load() > 1);
}

TEST_CASE("a run records one measurement per target with control and network from the collector") {
  const auto port = testing::unused_loopback_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto opts = options_for({url, "https://127.0.0.1:" + std::to_string(port) + "/x"});
  auto collector = std::make_shared<FakeCollector>();
  opts.collector = collector;
  auto result = probe::run_probe(opts);
  REQUIRE(result.records.size() == 2);
  CHECK(result.collector_reachable);
  CHECK(result.control_obtained);
  CHECK(result.network.asn == 9198);
  const auto& r = result.records[0];
  CHECK(r.input == url);
  CHECK(r.target == "127.0.0.1");
  CHECK(r.category == "control");
  CHECK(r.spec == "test.yaml");
  CHECK(r.network.cc == "KZ");
  REQUIRE(r.control.has_value());
  CHECK(r.control->target.url == url);
  // An IP literal needs no DNS; the closed port is refused at TCP and no HTTP is attempted.
  CHECK(r.observations.dns.failure == "");
  REQUIRE(r.observations.tcp.size() == 1);
  CHECK(r.observations.tcp[0].failure == "tcp.refused");
  CHECK_FALSE(r.observations.http.has_value());
  // The control request carried the probe's resolved addresses.
  REQUIRE(collector->last_request.size() == 2);
  CHECK(collector->last_request[0].probe_addresses == std::vector<std::string>{"127.0.0.1"});
  CHECK(r.measurement_uid != result.records[1].measurement_uid);
  CHECK(r.run_id == result.records[1].run_id);
}

TEST_CASE("an unreachable collector leaves control empty; a configured network wins over whoami") {
  auto opts = options_for({"http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()) + "/"});
  auto collector = std::make_shared<FakeCollector>();
  collector->reachable = false;
  opts.collector = collector;
  opts.network_override = network("KZ", 206026, "config");
  auto result = probe::run_probe(opts);
  CHECK_FALSE(result.collector_reachable);
  CHECK_FALSE(result.records[0].control.has_value());
  CHECK(result.records[0].network.asn == 206026);
  CHECK(result.records[0].network.source == "config");
}

TEST_CASE("during a shutdown results carry the last network the collector reported, marked last_known") {
  auto opts = options_for({"http://127.0.0.1:" + std::to_string(testing::unused_loopback_port()) + "/"});
  auto collector = std::make_shared<FakeCollector>();
  opts.collector = collector;
  auto remembered = network("KZ", 21299, "collector");
  remembered.learned_at = "2022-01-05T10:00:00.000Z";
  opts.last_known_network = remembered;

  SUBCASE("whoami answers: its answer wins over the memory") {
    auto result = probe::run_probe(opts);
    CHECK(result.records[0].network.asn == 9198);
    CHECK(result.records[0].network.source == "collector");
    CHECK(nlohmann::json(result.records[0].network).count("learned_at") == 0);
  }
  SUBCASE("whoami has no answer: the remembered network, with when it was learned") {
    collector->reachable = false;
    auto result = probe::run_probe(opts);
    CHECK_FALSE(result.collector_reachable);
    CHECK(result.records[0].network.cc == "KZ");
    CHECK(result.records[0].network.asn == 21299);
    CHECK(result.records[0].network.source == "last_known");
    auto j = nlohmann::json(result.records[0]);
    CHECK(j["network"]["learned_at"] == "2022-01-05T10:00:00.000Z");
    CHECK(j.get<probe::MeasurementRecord>().network.learned_at == "2022-01-05T10:00:00.000Z");
  }
  SUBCASE("a configured network still wins") {
    collector->reachable = false;
    opts.network_override = network("KZ", 206026, "config");
    auto result = probe::run_probe(opts);
    CHECK(result.records[0].network.asn == 206026);
    CHECK(result.records[0].network.source == "config");
  }
}

TEST_CASE("the remembered network survives in the data directory; a broken file is no memory") {
  const auto dir = std::filesystem::temp_directory_path() / ("kuzet-netmem-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  CHECK_FALSE(probe::identity::load_last_network(dir.string()).has_value());
  probe::NetworkIdentity seen;
  seen.cc = "KZ";
  seen.asn = 9198;
  seen.as_name = "JSC Kazakhtelecom";
  seen.source = "collector";
  CHECK(probe::identity::save_last_network(dir.string(), seen).empty());
  auto back = probe::identity::load_last_network(dir.string());
  REQUIRE(back.has_value());
  CHECK(back->cc == "KZ");
  CHECK(back->asn == 9198);
  CHECK(back->as_name == "JSC Kazakhtelecom");
  CHECK_FALSE(back->learned_at.empty());
  for (const char* broken : {"", "{", "[]", "{\"cc\":\"\",\"asn\":0,\"learned_at\":\"2022-01-05T10:00:00Z\"}",
                             "{\"cc\":\"KZ\",\"asn\":9198}", "{\"cc\":5}"}) {
    std::ofstream(dir / "network.json", std::ios::trunc) << broken;
    CHECK_MESSAGE(!probe::identity::load_last_network(dir.string()).has_value(), broken);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("records round-trip through JSON with every contract field") {
  probe::MeasurementRecord r;
  r.measurement_uid = probe::new_measurement_uid();
  r.input = "https://egov.kz/";
  r.target = "egov.kz";
  r.category = "egov";
  r.started_at = "2022-01-05T10:30:00.000Z";
  r.verdict.verdict = "blocked";
  r.verdict.method = "tls.timeout";
  r.network.cc = "KZ";
  r.network.asn = 9198;
  r.observations.host = "egov.kz";
  r.observations.dns.addresses = {"195.12.113.2"};
  nlohmann::json j = r;
  for (const char* key : {"schema", "measurement_uid", "input", "target", "category", "started_at", "verdict",
                          "method", "network", "observations", "control"})
    CHECK_MESSAGE(j.contains(key), key);
  CHECK(j["schema"] == "kuzet.measurement/1");
  CHECK(j["control"].is_null());
  auto back = j.get<probe::MeasurementRecord>();
  CHECK(back.verdict.method == "tls.timeout");
  CHECK(back.network.asn == 9198);
  CHECK(back.observations.dns.addresses == r.observations.dns.addresses);
  CHECK(nlohmann::json(back) == j);
  CHECK(r.measurement_uid.size() == 16 + 1 + 16);
}

TEST_CASE("the results file is appended to, never overwritten") {
  const auto path = std::filesystem::temp_directory_path() / ("kuzet-out-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  std::vector<probe::MeasurementRecord> records(3);
  for (auto& r : records) r.measurement_uid = probe::new_measurement_uid();
  for (int run = 0; run < 2; ++run) {
    probe::ui::OutputFile out;
    std::string why;
    REQUIRE(out.open(path.string(), &why));
    REQUIRE(out.append_records(records, &why));
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    CHECK(j["schema"] == "kuzet.measurement/1");
    ++lines;
  }
  CHECK(lines == 6);
  std::filesystem::remove(path);

  probe::ui::OutputFile bad;
  std::string why;
  CHECK_FALSE(bad.open("/nonexistent-dir/x.jsonl", &why));
  CHECK(why.find("No such file") != std::string::npos);
}
