// The probe's client against the real collector (in-process, loopback): both sides of docs/protocol.md
// agree on the wire, not just with their own fakes.
#include <doctest/doctest.h>

#include <httplib.h>

#include <cstdlib>
#include <optional>
#include <set>
#include <thread>

#include "core/encoding/json_parse.hpp"
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "probe/uplink/collector_client.hpp"
#include "probe/uplink/collector_link.hpp"
#include "probe/identity/identity.hpp"
#include "probe/runner.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/collector/support/server_fixture.hpp"

using namespace kuzet;
using collector::testing::MeasurementSpec;
using collector::testing::RunningCollector;
using nlohmann::json;

namespace {

probe::uplink::CollectorClientOptions generous() {
  probe::uplink::CollectorClientOptions options;
  options.timeout_ms = 60000;
  return options;
}

json envelope_of(const std::string& uid, const core::KeyPair& key, const std::string& started_at = "") {
  MeasurementSpec spec;
  spec.uid = uid;
  if (!started_at.empty()) spec.started_at = started_at;
  return envelope::sign(collector::testing::make_measurement(spec), key);
}

// The real probe measures `paths` of a loopback site whose pages `handler` serves (route `pattern`), with
// the collector behind `client` for whoami and control.
probe::RunResult run_probe_on_site(const probe::uplink::CollectorClient& client, const probe::identity::Identity& identity,
                                   const std::string& pattern, httplib::Server::Handler handler,
                                   const std::vector<std::string>& paths) {
  httplib::Server site;
  site.Get(pattern, std::move(handler));
  const int site_port = site.bind_to_any_port("127.0.0.1");
  REQUIRE(site_port > 0);
  std::thread site_thread([&] { site.listen_after_bind(); });
  for (int i = 0; i < 500 && !site.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  probe::RunOptions options;
  for (const auto& path : paths)
    options.targets.push_back({spec::Target{"http://127.0.0.1:" + std::to_string(site_port) + path, "news", "", ""}, ""});
  options.measure.tls.trust = nullptr;
  options.collector = std::make_shared<probe::uplink::HttpCollectorLink>(client, identity, std::nullopt, true);
  auto result = probe::run_probe(options);
  site.stop();
  site_thread.join();
  return result;
}

}  // namespace

TEST_CASE("register, upload, duplicate and rejections against the real collector") {
  RunningCollector running;
  probe::uplink::CollectorClient client("http://127.0.0.1:" + std::to_string(running.port), generous());

  const auto who = client.whoami();
  CHECK(who.ok);
  CHECK(who.cc == "");  // the empty ASN database knows nothing
  CHECK(who.asn == 0);

  const auto key = core::generate_ed25519();
  auto registered = client.register_key(key);
  CHECK(registered.ok);
  CHECK(registered.status == "registered");
  CHECK(registered.key_id == core::key_id(key.public_key));
  CHECK(client.register_key(key).status == "known");

  std::vector<json> items;
  for (int i = 0; i < 5; ++i) items.push_back(envelope_of("20261123T104200Z_00000000000000a" + std::to_string(i), key));
  auto result = client.upload(items);
  CHECK(result.failure == "");
  CHECK(result.http_status == 200);
  REQUIRE(result.items.size() == 5);
  for (const auto& item : result.items) CHECK(item.status == "stored");
  CHECK(result.items[3].measurement_uid == "20261123T104200Z_00000000000000a3");
  // Receipts: each stored measurement's index in the collector's transparency log, in order; and the
  // collector's clock, read from its Date header (the same machine: within a few seconds).
  for (size_t i = 0; i < 5; ++i) CHECK(result.items[i].log_index == std::optional<uint64_t>(i));
  REQUIRE(result.clock_offset_s);
  CHECK(std::llabs(*result.clock_offset_s) <= 2);

  result = client.upload({items[0]});
  CHECK(result.items[0].status == "duplicate");
  CHECK(result.items[0].log_index == std::optional<uint64_t>(0));  // a duplicate keeps its receipt

  auto tampered = envelope_of("20261123T104200Z_00000000000000b0", key);
  tampered["measurement"]["verdict"] = "ok";
  result = client.upload({tampered, envelope_of("20261123T104200Z_00000000000000b1", key)});
  CHECK(result.http_status == 207);
  CHECK(result.failure == "");
  CHECK(result.items[0].status == "rejected");
  CHECK(result.items[0].reason == "bad_signature");
  CHECK(result.items[1].status == "stored");

  result = client.upload({envelope_of("20261123T104200Z_00000000000000c0", core::generate_ed25519())});
  CHECK(result.http_status == 401);
  CHECK(result.failure == "upload.http_401");
  CHECK(result.items[0].reason == "unknown_key");

  result = client.upload({envelope_of("20261123T104200Z_00000000000000d0", key,
                                   collector::testing::now_plus(std::chrono::hours(2)))});
  CHECK(result.http_status == 422);
  CHECK(result.items[0].reason == "future_timestamp");
}

TEST_CASE("control: the real collector accepts the client's signature") {
  RunningCollector running;
  probe::uplink::CollectorClient client("http://127.0.0.1:" + std::to_string(running.port), generous());
  const auto key = core::generate_ed25519();
  REQUIRE(client.register_key(key).ok);
  // An IP-literal target is refused by policy (400 private_target) *after* the signature was checked,
  // so no measurement traffic leaves the machine.
  const json request = {{"targets", {{{"url", "http://127.0.0.1:9/"}, {"probe_addresses", json::array()}}}},
                        {"deadline_ms", 5000}};
  auto result = client.control(request, key);
  CHECK_FALSE(result.ok);
  CHECK(result.http_status == 400);
  CHECK(result.detail == "private_target");
  // Unknown key: refused before anything else.
  result = client.control(request, core::generate_ed25519());
  CHECK(result.http_status == 401);
  CHECK(result.detail == "unknown_key");
}

// Issue 10: a site that echoes its visitor's address put the volunteer's IP into a signed, public measurement.
// Here the whole chain runs on loopback: the collector's whoami tells the probe its address (127.0.0.1),
// the probe measures a page that echoes it in the body, the title and a header, signs, uploads, and the
// collector's permalink shows the marker instead.
TEST_CASE("a page echoing the probe's address is stored with the marker, not the address") {
  RunningCollector running;
  collector::testing::TempDir dir;
  const auto identity = probe::identity::Identity::load_or_create(dir.file("identity"));
  probe::uplink::CollectorClient client("http://127.0.0.1:" + std::to_string(running.port), generous());
  const auto result = run_probe_on_site(client, identity, "/", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Your-Address", req.remote_addr);
    res.set_content("<html><head><title>You are " + req.remote_addr + "</title></head><body>Your IP address is " +
                        req.remote_addr + ".</body></html>",
                    "text/html");
  }, {"/"});
  REQUIRE(result.records.size() == 1);
  REQUIRE(result.records[0].observations.http);
  const auto& page = result.records[0].observations.http->requests.at(0);
  REQUIRE(page.status == 200);  // the page was fetched: the redaction below is not vacuous

  const auto summary = probe::uplink::upload_records(client, identity, result.records);
  REQUIRE(summary.stored == 1);
  httplib::Client reader("127.0.0.1", running.port);
  const auto permalink = reader.Get("/api/v1/measurements/" + result.records[0].measurement_uid);
  REQUIRE(permalink);
  REQUIRE(permalink->status == 200);
  const auto stored = core::parse_json(permalink->body, core::JsonLimits{});
  REQUIRE(stored.ok());
  CHECK(envelope::verify(stored.value) == "");
  const auto& request = stored.value["measurement"]["observations"]["http"]["requests"][0];
  CHECK(request["body_prefix"] ==
        "<html><head><title>You are [probe-address]</title></head><body>Your IP address is [probe-address].</body></html>");
  CHECK(request["title"] == "You are [probe-address]");
  CHECK(request["body_sha256"] == "");
  bool header_seen = false;
  for (const auto& header : request["headers"]) {
    if (header["name"] == "X-Your-Address") {
      header_seen = true;
      CHECK(header["value"] == "[probe-address]");
    }
  }
  CHECK(header_seen);
  // Nowhere in what the page said does the address remain.
  for (const char* field : {"body_prefix", "title"})
    CHECK(request[field].get<std::string>().find("127.0.0.1") == std::string::npos);
}

TEST_CASE("a probe run's upload is batch-signed: each stored envelope verifies alone, old /1 ones still accepted") {
  RunningCollector running;
  collector::testing::TempDir dir;
  const auto identity = probe::identity::Identity::load_or_create(dir.file("identity"));
  probe::uplink::CollectorClient client("http://127.0.0.1:" + std::to_string(running.port), generous());
  std::vector<std::string> paths;
  for (int i = 0; i < 5; ++i) paths.push_back("/page/" + std::to_string(i));
  const auto result = run_probe_on_site(client, identity, R"(/page/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("<html><head><title>Page " + req.matches[1].str() + "</title></head></html>", "text/html");
  }, paths);
  REQUIRE(result.records.size() == 5);

  const auto summary = probe::uplink::upload_records(client, identity, result.records);
  CHECK(summary.failure == "");
  REQUIRE(summary.stored == 5);

  httplib::Client reader("127.0.0.1", running.port);
  std::set<std::string> signatures, indexes;
  for (const auto& record : result.records) {
    CAPTURE(record.measurement_uid);
    const auto permalink = reader.Get("/api/v1/measurements/" + record.measurement_uid);
    REQUIRE(permalink);
    REQUIRE(permalink->status == 200);
    const auto stored = core::parse_json(permalink->body, core::JsonLimits{});
    REQUIRE(stored.ok());
    REQUIRE(stored.value.contains("batch"));
    CHECK_FALSE(stored.value.contains("signature"));
    const auto& batch = stored.value["batch"];
    CHECK(batch["scheme"] == "kuzet.measurement-batch/1");
    CHECK(batch["tree_size"] == 5);
    signatures.insert(batch["signature"].get<std::string>());
    indexes.insert(batch["leaf_index"].dump());
    // Offline, alone: no other envelope of the batch, no collector, no cache.
    CHECK(envelope::verify(stored.value) == "");
    auto tampered = stored.value;
    tampered["measurement"]["target"] = "elsewhere.example";
    CHECK(envelope::verify(tampered) == "bad_signature");
  }
  CHECK(signatures.size() == 1);  // one signature for the run
  CHECK(indexes.size() == 5);

  // A volunteer's queue from before batches: /1 envelopes under the same key are still stored.
  const auto key = identity.for_network(result.records[0].network.cc, result.records[0].network.asn);
  std::vector<json> measurements;
  for (const char* uid : {"20261123T104200Z_0000000000000old1", "20261123T104200Z_0000000000000old2"}) {
    MeasurementSpec spec;
    spec.uid = uid;
    measurements.push_back(collector::testing::make_measurement(spec));
  }
  const auto old = client.upload({envelope::sign(measurements[0], key), envelope::sign(measurements[1], key)});
  REQUIRE(old.items.size() == 2);
  CHECK(old.items[0].status == "stored");
  CHECK(old.items[1].status == "stored");
  // The same measurements again, now batch-signed: the same content, so duplicates.
  const auto again = envelope::sign_batch(measurements, key);
  const auto twice = client.upload(again);
  REQUIRE(twice.items.size() == 2);
  CHECK(twice.items[0].status == "duplicate");
  CHECK(twice.items[1].status == "duplicate");
}
