#include "probe/uplink/collector_client.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "fake_collector.hpp"
#include "tests/loopback_port.hpp"
#include "tests/peak_rss.hpp"

using kuzet::probe::uplink::CollectorClient;
using kuzet::probe::uplink::CollectorClientOptions;
using kuzet::tests::FakeCollector;
using nlohmann::json;
namespace core = kuzet::core;
namespace envelope = kuzet::envelope;

namespace {

CollectorClientOptions generous() {
  CollectorClientOptions options;
  options.timeout_ms = 20000;  // a loaded 2-core machine must not turn into a flaky test
  return options;
}

json measurement(const std::string& uid, int n = 0) {
  return {{"measurement_uid", uid},
          {"started_at", "2026-11-23T10:42:00.000Z"},
          {"input", "https://example.org/" + std::to_string(n)},
          {"network", {{"cc", "KZ"}, {"asn", 9198}}},
          {"runtime_ms", 12.5 + n}};
}

std::vector<json> envelopes(const core::KeyPair& key, int count, const std::string& prefix = "uid") {
  std::vector<json> out;
  for (int i = 0; i < count; ++i) out.push_back(envelope::sign(measurement(prefix + std::to_string(i), i), key));
  return out;
}

// A TCP socket on 127.0.0.1 that listens but never accepts: connections complete, answers never come.
struct SilentListener {
  int fd = -1;
  int port = 0;
  SilentListener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t length = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
    port = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd); }
};

}  // namespace

TEST_CASE("whoami: the collector's view of the network, checked before it is believed") {
  FakeCollector fake;
  CollectorClient client(fake.url(), generous());
  auto result = client.whoami();
  CHECK(result.ok);
  CHECK(result.failure == "");
  CHECK(result.cc == "KZ");
  CHECK(result.asn == 9198);
  CHECK(result.as_name == "JSC Kazakhtelecom");

  fake.whoami_reply = {{"cc", ""}, {"asn", 0}, {"as_name", ""}};
  result = client.whoami();
  CHECK(result.ok);
  CHECK(result.asn == 0);

  for (const json& bad : {json{{"cc", "Kazakhstan"}, {"asn", 9198}, {"as_name", ""}},
                         json{{"cc", "KZ"}, {"asn", "9198"}, {"as_name", ""}},
                         json{{"cc", "KZ"}, {"asn", -1}, {"as_name", ""}},
                         json{{"cc", "KZ"}, {"asn", 4294967296ULL}, {"as_name", ""}}, json{{"cc", "KZ"}},
                         json::array()}) {
    CAPTURE(bad.dump());
    fake.whoami_reply = bad;
    result = client.whoami();
    CHECK_FALSE(result.ok);
    CHECK(result.failure == "upload.malformed_reply");
  }
}

TEST_CASE("register_key: signed registration, registered then known") {
  FakeCollector fake;
  CollectorClient client(fake.url(), generous());
  const auto key = core::generate_ed25519();
  auto result = client.register_key(key);
  CHECK(result.ok);
  CHECK(result.status == "registered");
  CHECK(result.key_id == core::key_id(key.public_key));
  CHECK(fake.registered.count(core::key_id(key.public_key)) == 1);  // the fake verified the signature
  result = client.register_key(key);
  CHECK(result.ok);
  CHECK(result.status == "known");
}

TEST_CASE("upload round trip in batches, then duplicates") {
  FakeCollector fake;
  auto options = generous();
  options.batch_size = 200;
  CollectorClient client(fake.url(), options);
  const auto key = core::generate_ed25519();
  REQUIRE(client.register_key(key).ok);
  const auto items = envelopes(key, 450);
  auto result = client.upload(items);
  CHECK(result.failure == "");
  CHECK(result.http_status == 200);
  CHECK(result.batches_sent == 3);
  CHECK(fake.upload_posts == 3);
  CHECK(fake.largest_batch == 200);
  REQUIRE(result.items.size() == 450);
  for (size_t i = 0; i < items.size(); ++i) {
    CHECK(result.items[i].measurement_uid == "uid" + std::to_string(i));
    CHECK(result.items[i].status == "stored");
  }
  CHECK(fake.stored.size() == 450);
  CHECK(fake.stored.at("uid7") == core::canonicalize(items[7]["measurement"]));

  result = client.upload({items[0], items[449]});
  CHECK(result.http_status == 200);
  REQUIRE(result.items.size() == 2);
  CHECK(result.items[0].status == "duplicate");
  CHECK(result.items[1].status == "duplicate");
  CHECK(fake.stored.size() == 450);

  CHECK(client.upload({}).batches_sent == 0);

  const json logged = result;  // to_json for the log
  CHECK(logged["items"][1]["status"] == "duplicate");
}

// Per-network keys are unlinkable only if nothing else links them: never one request, never one connection.
TEST_CASE("two networks' envelopes never share a request or a connection") {
  FakeCollector fake;
  const auto kz = core::generate_ed25519(), ru = core::generate_ed25519();
  fake.register_directly(kz.public_key);
  fake.register_directly(ru.public_key);
  // Interleaved, as a queue holding a move between networks would give them.
  std::vector<json> items;
  for (int i = 0; i < 6; ++i)
    items.push_back(envelope::sign(measurement("net" + std::to_string(i), i), i % 2 ? ru : kz));
  CollectorClient client(fake.url(), generous());
  const auto result = client.upload(items);
  CHECK(result.failure == "");
  REQUIRE(result.items.size() == 6);
  for (int i = 0; i < 6; ++i) {
    CHECK(result.items[i].measurement_uid == "net" + std::to_string(i));  // still in input order
    CHECK(result.items[i].status == "stored");
  }
  std::lock_guard<std::mutex> lock(fake.mutex_);
  REQUIRE(fake.upload_requests.size() == 2);
  std::map<int, std::set<std::string>> keys_per_connection;
  for (const auto& request : fake.upload_requests) {
    CHECK(request.public_keys.size() == 1);
    keys_per_connection[request.remote_port].insert(request.public_keys.begin(), request.public_keys.end());
  }
  CHECK(keys_per_connection.size() == 2);
  for (const auto& [port, keys] : keys_per_connection) CHECK(keys.size() == 1);
}

TEST_CASE("batches are also bounded in bytes; an envelope over the bound is rejected locally") {
  FakeCollector fake;
  auto options = generous();
  const auto key = core::generate_ed25519();
  REQUIRE(CollectorClient(fake.url(), options).register_key(key).ok);
  auto items = envelopes(key, 10);
  const size_t one = items[0].dump().size();
  options.max_batch_bytes = 3 * one + 10;  // three per POST, whatever batch_size says
  options.batch_size = 200;
  auto huge = envelope::sign(measurement("huge"), key);
  huge["measurement"]["padding"] = std::string(4 * one, 'p');
  huge = envelope::sign(huge["measurement"], key);
  items.insert(items.begin() + 4, huge);
  const auto result = CollectorClient(fake.url(), options).upload(items);
  CHECK(result.failure == "");
  CHECK(result.batches_sent == 4);  // 10 small ones, 3 per POST
  CHECK(fake.largest_batch == 3);
  REQUIRE(result.items.size() == 11);
  CHECK(result.items[4].measurement_uid == "huge");
  CHECK(result.items[4].status == "rejected");
  CHECK(result.items[4].reason == "too_large");
  for (size_t i = 0; i < 11; ++i)
    if (i != 4) CHECK(result.items[i].status == "stored");
  CHECK(fake.stored.count("huge") == 0);
}

TEST_CASE("rejections are mapped per item: 207, 401, 409, continuing after a judged batch") {
  FakeCollector fake;
  auto options = generous();
  CollectorClient client(fake.url(), options);
  const auto key = core::generate_ed25519();
  REQUIRE(client.register_key(key).ok);

  auto items = envelopes(key, 3);
  items[1]["measurement"]["input"] = "https://tampered.example/";
  auto result = client.upload(items);
  CHECK(result.http_status == 207);
  CHECK(result.failure == "");
  REQUIRE(result.items.size() == 3);
  CHECK(result.items[0].status == "stored");
  CHECK(result.items[1].status == "rejected");
  CHECK(result.items[1].reason == "bad_signature");
  CHECK(result.items[2].status == "stored");
  CHECK(result.items[0].reason == "");

  // Same uid, other content: conflict (409 when it is the whole batch).
  const auto conflicting = envelope::sign(measurement("uid0", 99), key);
  result = client.upload({conflicting});
  CHECK(result.http_status == 409);
  CHECK(result.failure == "upload.http_409");
  CHECK(result.items[0].status == "rejected");
  CHECK(result.items[0].reason == "conflict");

  // An unregistered key: 401 for that batch, and the next batch is still sent and stored.
  options.batch_size = 1;
  CollectorClient one_by_one(fake.url(), options);
  const auto stranger = core::generate_ed25519();
  result = one_by_one.upload({envelope::sign(measurement("s1"), stranger),
                              envelope::sign(measurement("k1"), key)});
  CHECK(result.batches_sent == 2);
  CHECK(result.http_status == 401);
  CHECK(result.failure == "upload.http_401");
  REQUIRE(result.items.size() == 2);
  CHECK(result.items[0].status == "rejected");
  CHECK(result.items[0].reason == "unknown_key");
  CHECK(result.items[1].status == "stored");

  // An envelope that cannot even be serialised (invalid UTF-8) is judged locally; the rest still go.
  auto broken = envelope::sign(measurement("b1"), key);
  broken["measurement"]["input"] = std::string("\xff");
  result = client.upload({broken, envelope::sign(measurement("b2"), key)});
  CHECK(result.items[0].status == "rejected");
  CHECK(result.items[0].reason == "malformed");
  CHECK(result.items[1].status == "stored");
}

TEST_CASE("collector unreachable: upload.unreachable, everything kept, one attempt only") {
  auto options = generous();
  options.batch_size = 2;
  CollectorClient client("http://127.0.0.1:" + std::to_string(kuzet::testing::unused_loopback_port()), options);
  const auto key = core::generate_ed25519();
  const auto result = client.upload(envelopes(key, 5));
  CHECK(result.failure == "upload.unreachable");
  CHECK(result.http_status == 0);
  CHECK(result.batches_sent == 1);
  CHECK(result.detail != "");
  REQUIRE(result.items.size() == 5);
  for (const auto& item : result.items) {
    CHECK(item.status == "failed");
    CHECK(item.reason == "upload.unreachable");
  }
  CHECK(client.whoami().failure == "upload.unreachable");
  CHECK(client.register_key(key).failure == "upload.unreachable");
  CHECK(client.control({{"targets", json::array()}}, key).failure == "upload.unreachable");
}

TEST_CASE("a collector that never answers: upload.timeout") {
  SilentListener silent;
  CollectorClientOptions options;
  options.timeout_ms = 300;
  CollectorClient client("http://127.0.0.1:" + std::to_string(silent.port), options);
  const auto key = core::generate_ed25519();
  const auto result = client.upload(envelopes(key, 3));
  CHECK(result.failure == "upload.timeout");
  CHECK(result.items[0].status == "failed");
  CHECK(result.items[0].reason == "upload.timeout");
  CHECK(client.whoami().failure == "upload.timeout");
}

TEST_CASE("malformed or hostile replies are never taken as stored") {
  FakeCollector fake;
  auto options = generous();
  const auto key = core::generate_ed25519();
  const auto items = envelopes(key, 2);
  std::string canned_body;
  int canned_status = 200;
  fake.upload_override = [&](const httplib::Request&, httplib::Response& res) {
    res.status = canned_status;
    res.set_content(canned_body, "application/json");
  };
  struct Case {
    int status;
    std::string body;
    std::string failure;
  };
  const json stored0 = {{"measurement_uid", "uid0"}, {"status", "stored"}, {"reason", ""}};
  const json stored1 = {{"measurement_uid", "uid1"}, {"status", "stored"}, {"reason", ""}};
  const std::vector<Case> cases{
      {200, "not json", "upload.malformed_reply"},
      {200, "[]", "upload.malformed_reply"},
      {200, json{{"results", {stored0}}}.dump(), "upload.malformed_reply"},             // one missing
      {200, json{{"results", {stored1, stored0}}}.dump(), "upload.malformed_reply"},    // wrong order / uids
      {200, json{{"results", {stored0, {{"measurement_uid", "uid1"}, {"status", "kept"}}}}}.dump(),
       "upload.malformed_reply"},
      {207, json{{"results", {stored0, 5}}}.dump(), "upload.malformed_reply"},
      // A receipt that is not a log index is no receipt.
      {200, json{{"results", {stored0, {{"measurement_uid", "uid1"}, {"status", "stored"}, {"index", -1}}}}}.dump(),
       "upload.malformed_reply"},
      {200, json{{"results", {stored0, {{"measurement_uid", "uid1"}, {"status", "stored"}, {"index", "7"}}}}}.dump(),
       "upload.malformed_reply"},
      {500, "oops", "upload.http_500"},
      {413, json{{"error", "too_large"}, {"detail", "x"}}.dump(), "upload.http_413"},
      {400, json{{"error", "malformed"}, {"detail", "body"}}.dump(), "upload.http_400"},
  };
  CollectorClient client(fake.url(), options);
  for (const auto& c : cases) {
    CAPTURE(c.body);
    canned_status = c.status;
    canned_body = c.body;
    const auto result = client.upload(items);
    CHECK(result.failure == c.failure);
    CHECK(result.http_status == c.status);
    REQUIRE(result.items.size() == 2);
    CHECK(result.items[0].status == "failed");
    CHECK(result.items[1].status == "failed");
  }

  // A reply bigger than the cap is refused, not buffered.
  options.max_response_bytes = 1024;
  CollectorClient capped(fake.url(), options);
  canned_status = 200;
  canned_body = json{{"results", {stored0, stored1}}, {"padding", std::string(1 << 20, 'p')}}.dump();
  auto result = capped.upload(items);
  CHECK(result.failure == "upload.malformed_reply");
  CHECK(result.items[0].status == "failed");
  // The same reply within the default cap is a valid judgement.
  result = client.upload(items);
  CHECK(result.failure == "");
  CHECK(result.items[0].status == "stored");
  CHECK_FALSE(result.items[0].log_index);  // this collector gave no receipt
}

// A hostile collector (or an interceptor in front of it) once pushed the probe to 646 MB with nested
// replies: every reply is now parsed within a depth and value bound, so such a reply costs about its size.
TEST_CASE("deeply nested or huge replies are refused within bounded memory") {
  FakeCollector fake;
  auto options = generous();
  const auto key = core::generate_ed25519();
  const auto items = envelopes(key, 1);
  const std::string nested = std::string(4 << 20, '[') + std::string(4 << 20, ']');  // 8 MiB, 4 Mi deep
  std::string canned;
  fake.upload_override = [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(canned, "application/json");
  };
  fake.control_override = fake.upload_override;
  CollectorClient client(fake.url(), options);

  canned = nested;
  const long upload_kib = kuzet::testing::peak_rss_growth_kib([&] {
    const auto result = client.upload(items);
    CHECK(result.failure == "upload.malformed_reply");
    CHECK(result.items.at(0).status == "failed");
  });
  const long control_kib = kuzet::testing::peak_rss_growth_kib([&] {
    const auto result = client.control(json{{"targets", json::array()}}, key);
    CHECK(result.failure == "upload.malformed_reply");
    CHECK(result.response.is_null());
  });
  // Objects nest too; a flat reply of many tiny values is bounded by the value count.
  canned = "";
  for (int i = 0; i < 100000; ++i) canned += "{\"a\":";
  canned += "1" + std::string(100000, '}');
  CHECK(client.upload(items).failure == "upload.malformed_reply");
  canned = "{\"results\":[0";
  for (int i = 0; i < 1000000; ++i) canned += ",0";
  canned += "]}";
  const long flat_kib = kuzet::testing::peak_rss_growth_kib([&] {
    CHECK(client.upload(items).failure == "upload.malformed_reply");
  });
  MESSAGE("peak RSS growth: nested upload reply ", upload_kib, " KiB, nested control reply ", control_kib,
          " KiB, 1 M values ", flat_kib, " KiB");
  // The 8 MiB reply is held about three times (server, socket buffer, client): anything near the old
  // hundreds of MiB fails. -1 would mean /proc is unreadable: the bound must be measured, never skipped.
  CHECK(upload_kib >= 0);
  CHECK(upload_kib < 64 * 1024);
  CHECK(control_kib < 64 * 1024);
  CHECK(flat_kib < 64 * 1024);
}

TEST_CASE("control: the body is signed and the collector verifies it") {
  FakeCollector fake;
  CollectorClient client(fake.url(), generous());
  const auto key = core::generate_ed25519();
  const json request = {{"targets", {{{"url", "https://example.org/"}, {"probe_addresses", {"192.0.2.1"}}},
                                     {{"url", "https://example.com/"}, {"probe_addresses", json::array()}}}},
                        {"deadline_ms", 20000}};
  const auto result = client.control(request, key);
  CHECK(result.ok);
  CHECK(result.http_status == 200);
  CHECK(fake.last_control_verified);
  CHECK(fake.last_control_body == request.dump());
  REQUIRE(result.response["results"].size() == 2);
  CHECK(result.response["results"][1]["url"] == "https://example.com/");

  // The fake's check is real: a forged signature is refused, and the client reports it as data.
  httplib::Client raw("127.0.0.1", fake.port);
  const std::string body = request.dump();
  const httplib::Headers forged{{"X-Kuzet-Key", core::base64_encode(key.public_key)},
                                {"X-Kuzet-Signature", core::base64_encode(core::ed25519_sign(key, body + " "))}};
  const auto answer = raw.Post("/api/v1/control", forged, body, "application/json");
  REQUIRE(answer);
  CHECK(answer->status == 401);
  CHECK_FALSE(fake.last_control_verified);

  fake.control_override = [](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_content(R"({"error":"unknown_key","detail":"x"})", "application/json");
  };
  auto refused = client.control(request, key);
  CHECK_FALSE(refused.ok);
  CHECK(refused.failure == "upload.http_401");
  CHECK(refused.detail == "unknown_key");
  fake.control_override = [](const httplib::Request&, httplib::Response& res) {
    res.set_content("[1,2]", "application/json");
  };
  refused = client.control(request, key);
  CHECK(refused.failure == "upload.malformed_reply");
  CHECK(refused.response.is_null());
}

TEST_CASE("the configured proxy carries the requests") {
  // An HTTP proxy on loopback that answers whoami itself and records what it was asked for.
  httplib::Server proxy;
  std::string asked_for;
  proxy.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    asked_for = req.path;
    res.set_content(R"({"cc":"KZ","asn":48716,"as_name":"via proxy"})", "application/json");
  });
  const int port = proxy.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread thread([&] { proxy.listen_after_bind(); });
  for (int i = 0; i < 500 && !proxy.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  auto options = generous();
  options.proxy = "http://127.0.0.1:" + std::to_string(port);
  // If the proxy were ignored, this would go to a dead loopback port and fail.
  CollectorClient client("http://127.0.0.2:" + std::to_string(kuzet::testing::unused_loopback_port()), options);
  const auto result = client.whoami();
  proxy.stop();
  thread.join();
  CHECK(result.ok);
  CHECK(result.asn == 48716);
  CHECK(asked_for.find("127.0.0.2") != std::string::npos);
  CHECK(asked_for.find("/api/v1/whoami") != std::string::npos);
}
