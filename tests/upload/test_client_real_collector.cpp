// The probe's client against the real collector (in-process, loopback): both sides of docs/protocol.md
// agree on the wire, not just with their own fakes.
#include <doctest/doctest.h>

#include "core/signing.hpp"
#include "probe/collector_client.hpp"
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

  result = client.upload({items[0]});
  CHECK(result.items[0].status == "duplicate");

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
