// The probe's client against the real collector (in-process, loopback): both sides of docs/protocol.md
// agree on the wire, not just with their own fakes.
#include <doctest/doctest.h>

#include <httplib.h>

#include <cstdlib>
#include <optional>
#include <thread>

#include "core/json_parse.hpp"
#include "core/signing.hpp"
#include "probe/collector_client.hpp"
#include "probe/collector_link.hpp"
#include "probe/identity.hpp"
#include "probe/runner.hpp"
#include "tests/collector/helpers.hpp"
#include "tests/collector/server_fixture.hpp"

using namespace kuzet;
using collector::testing::MeasurementSpec;
using collector::testing::RunningCollector;
using nlohmann::json;

namespace {

probe::CollectorClientOptions generous() {
  probe::CollectorClientOptions options;
  options.timeout_ms = 60000;
  return options;
}

json envelope(const std::string& uid, const core::KeyPair& key, const std::string& started_at = "") {
  MeasurementSpec spec;
  spec.uid = uid;
  if (!started_at.empty()) spec.started_at = started_at;
  return core::sign_envelope(collector::testing::make_measurement(spec), key);
}

}  // namespace

TEST_CASE("register, upload, duplicate and rejections against the real collector") {
  RunningCollector running;
  probe::CollectorClient client("http://127.0.0.1:" + std::to_string(running.port), generous());

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
  for (int i = 0; i < 5; ++i) items.push_back(envelope("20261123T104200Z_00000000000000a" + std::to_string(i), key));
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

  auto tampered = envelope("20261123T104200Z_00000000000000b0", key);
  tampered["measurement"]["verdict"] = "ok";
  result = client.upload({tampered, envelope("20261123T104200Z_00000000000000b1", key)});
  CHECK(result.http_status == 207);
  CHECK(result.failure == "");
  CHECK(result.items[0].status == "rejected");
  CHECK(result.items[0].reason == "bad_signature");
  CHECK(result.items[1].status == "stored");

  result = client.upload({envelope("20261123T104200Z_00000000000000c0", core::generate_ed25519())});
  CHECK(result.http_status == 401);
  CHECK(result.failure == "upload.http_401");
  CHECK(result.items[0].reason == "unknown_key");

  result = client.upload({envelope("20261123T104200Z_00000000000000d0", key,
                                   collector::testing::now_plus(std::chrono::hours(2)))});
  CHECK(result.http_status == 422);
  CHECK(result.items[0].reason == "future_timestamp");
}

TEST_CASE("control: the real collector accepts the client's signature") {
  RunningCollector running;
  probe::CollectorClient client("http://127.0.0.1:" + std::to_string(running.port), generous());
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
  httplib::Server site;
  site.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("X-Your-Address", req.remote_addr);
    res.set_content("<html><head><title>You are " + req.remote_addr + "</title></head><body>Your IP address is " +
                        req.remote_addr + ".</body></html>",
                    "text/html");
  });
  const int site_port = site.bind_to_any_port("127.0.0.1");
  REQUIRE(site_port > 0);
  std::thread site_thread([&] { site.listen_after_bind(); });
  for (int i = 0; i < 500 && !site.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  collector::testing::TempDir dir;
  const auto identity = probe::Identity::load_or_create(dir.file("identity"));
  probe::CollectorClient client("http://127.0.0.1:" + std::to_string(running.port), generous());
  probe::RunOptions options;
  options.targets.push_back({spec::Target{"http://127.0.0.1:" + std::to_string(site_port) + "/", "news", "", ""}, ""});
  options.measure.tls.trust = nullptr;
  options.collector = std::make_shared<probe::HttpCollectorLink>(client, identity, std::nullopt, true);
  const auto result = probe::run_probe(options);
  site.stop();
  site_thread.join();
  REQUIRE(result.records.size() == 1);
  REQUIRE(result.records[0].observations.http);
  const auto& page = result.records[0].observations.http->requests.at(0);
  REQUIRE(page.status == 200);  // the page was fetched: the redaction below is not vacuous

  const auto summary = probe::upload_records(client, identity, result.records);
  REQUIRE(summary.stored == 1);
  httplib::Client reader("127.0.0.1", running.port);
  const auto permalink = reader.Get("/api/v1/measurements/" + result.records[0].measurement_uid);
  REQUIRE(permalink);
  REQUIRE(permalink->status == 200);
  const auto stored = core::parse_json(permalink->body, core::JsonLimits{});
  REQUIRE(stored.ok());
  CHECK(core::verify_envelope(stored.value) == "");
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
