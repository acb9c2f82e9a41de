// Independent vantage points against fabricated evidence (issue 10, part 2), on the real collector's HTTP
// server with the timeline routes, on loopback: many keys from one source address, one key alone, fresh
// keys backdating results, and a claimed network the source contradicts make at most unconfirmed incidents;
// two sources make a confirmed one. Sources are told apart by binding the client to 127.0.0.1 or 127.0.1.1
// (both loopback, different /24s).
#include <doctest/doctest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "collector/network/asn_db.hpp"
#include "collector/server.hpp"
#include "collector/store/sqlite/sqlite_util.hpp"
#include "collector/store/store.hpp"
#include "collector/timeline/api/api.hpp"
#include "collector/timeline/index.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/collector/support/server_fixture.hpp"

using namespace kuzet;
using collector::testing::MeasurementSpec;

namespace {

// Both 127.0.0.0/24 and 127.0.1.0/24 belong to AS9198 in KZ here, so claims of AS9198 match the source.
const char* kAsnTsv =
    "127.0.0.0\t127.0.0.255\t9198\tKZ\tJSC Kazakhtelecom\n"
    "127.0.1.0\t127.0.1.255\t9198\tKZ\tJSC Kazakhtelecom\n";

struct Collector {
  collector::testing::TempDir index_dir;
  std::unique_ptr<timeline::TimelineIndex> index;
  collector::testing::RunningCollector running{
      {}, collector::network::TsvAsnDatabase::parse(kAsnTsv), [this](collector::Server& server, collector::Store& store) {
        // In a file of its own, fed from the store, as kuzet-collector serve keeps it.
        index = std::make_unique<timeline::TimelineIndex>(index_dir.file("timelines.db"), timeline::kDefaultBinMs,
                                                          std::chrono::milliseconds(0), &store);
        timeline::api::register_timeline_routes(server.http_server(), *index);
      }};  // last: stopped before the index goes
  httplib::Client client() const { return running.client(); }
  core::KeyPair fresh_key() {
    auto key = core::generate_ed25519();
    auto r = client().Post("/api/v1/probes/register", collector::testing::register_body(key), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return key;
  }
  // POST of an upload body over a connection from `source` (a loopback address): returns the HTTP status.
  int upload_from(const std::string& source, const std::string& body) const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in local{}, remote{};
    local.sin_family = remote.sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, source.c_str(), &local.sin_addr) == 1);
    inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
    remote.sin_port = htons(running.port);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) == 0);
    timeval tv{60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::string request = "POST /api/v1/measurements HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                                "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    for (size_t sent = 0; sent < request.size();) {
      ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      REQUIRE(n > 0);
      sent += static_cast<size_t>(n);
    }
    std::string answer;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) answer.append(buf, static_cast<size_t>(n));
    ::close(fd);
    REQUIRE(answer.rfind("HTTP/1.1 ", 0) == 0);
    return std::stoi(answer.substr(9, 3));
  }
  nlohmann::json incidents(const std::string& query) {
    auto r = client().Get("/api/v1/incidents?" + query);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    return nlohmann::json::parse(r->body)["incidents"];
  }
};

// `per_key` blocked measurements of `target` per key, one per 10-minute bin from `start`, uploaded in one
// request per key from `source` (as a probe uploads its own results).
void upload_blocking(Collector& c, const std::vector<core::KeyPair>& keys, const std::vector<std::string>& sources,
                     const std::string& target, core::SystemTime start, int per_key, uint32_t claimed_asn = 9198,
                     int expected_status = 200) {
  for (size_t k = 0; k < keys.size(); ++k) {
    std::vector<std::string> envelopes;
    for (int i = 0; i < per_key; ++i) {
      MeasurementSpec s;
      s.uid = "vantage-" + core::random_hex(8);
      s.started_at = core::format_rfc3339(start + std::chrono::minutes(10 * i) + std::chrono::seconds(7 * k));
      s.target = target;
      s.asn = claimed_asn;
      envelopes.push_back(collector::testing::signed_envelope(s, keys[k]));
    }
    CHECK(c.upload_from(sources[k % sources.size()], collector::testing::upload_body(envelopes)) == expected_status);
  }
}

std::vector<core::KeyPair> fresh_keys(Collector& c, int n) {
  std::vector<core::KeyPair> keys;
  for (int i = 0; i < n; ++i) keys.push_back(c.fresh_key());
  return keys;
}

// Every incident of `target` in the answer is unconfirmed, with at most `max_vantage` vantage points.
void check_unconfirmed(const nlohmann::json& incidents, const std::string& target, int max_vantage) {
  for (const auto& inc : incidents) {
    if (inc["target"] != target) continue;
    CAPTURE(inc.dump());
    CHECK(inc.at("confirmed") == false);
    CHECK(inc.at("vantage_points").get<int>() <= max_vantage);
    CHECK(inc.at("confidence").get<double>() <= 0.5);
  }
}

}  // namespace

TEST_CASE("fabricated evidence: five fresh keys from one address, dated 5 January 2022, make no confirmed incident") {
  Collector c;
  auto keys = fresh_keys(c, 5);
  // 30 signed measurements of a WhatsApp blocking on KZ/AS9198, all uploaded from 127.0.0.1.
  auto start = *core::parse_rfc3339("2022-01-05T10:30:00Z");
  // The first defence: results dated years before their key was registered are refused as backdated
  // (422: every item rejected), so nothing of this reaches the timelines at all.
  upload_blocking(c, keys, {"127.0.0.1"}, "web.whatsapp.com", start, 6, 9198, 422);
  auto found = c.incidents("cc=KZ&asn=9198&from=2022-01-04T00:00:00Z&until=2022-01-07T00:00:00Z");
  // Were they stored, the incident would still be unconfirmed: fresh keys do not vouch for 2022, and five
  // keys from one source are one vantage point anyway (the next case uploads recent results to show it).
  check_unconfirmed(found, "web.whatsapp.com", 0);
}

TEST_CASE("five keys from one source address are one vantage point; one key alone likewise") {
  Collector c;
  // Measured after the keys were registered, so only the shared source keeps them from counting twice.
  const auto start = std::chrono::system_clock::now() - std::chrono::minutes(55);
  upload_blocking(c, fresh_keys(c, 5), {"127.0.0.1"}, "web.whatsapp.com", start, 6);
  upload_blocking(c, fresh_keys(c, 1), {"127.0.1.1"}, "signal.org", start, 6);
  auto found = c.incidents("cc=KZ&asn=9198");
  int seen = 0;
  for (const auto& inc : found) {
    CAPTURE(inc.dump());
    if (inc["target"] == "web.whatsapp.com" || inc["target"] == "signal.org") {
      ++seen;
      CHECK(inc.at("vantage_points") == 1);
    }
  }
  CHECK(seen == 2);  // both incidents are listed ...
  check_unconfirmed(found, "web.whatsapp.com", 1);  // ... and neither is confirmed
  check_unconfirmed(found, "signal.org", 1);
}

TEST_CASE("two sources make a confirmed incident; a network the sources contradict does not count") {
  Collector c;
  const auto start = std::chrono::system_clock::now() - std::chrono::minutes(55);
  upload_blocking(c, fresh_keys(c, 2), {"127.0.0.1", "127.0.1.1"}, "web.whatsapp.com", start, 6);
  // The same, claiming AS21299 from addresses the database puts in AS9198.
  upload_blocking(c, fresh_keys(c, 2), {"127.0.0.1", "127.0.1.1"}, "web.whatsapp.com", start, 6, 21299);
  auto found = c.incidents("cc=KZ&asn=9198");
  REQUIRE(found.size() == 1);
  CHECK(found[0]["target"] == "web.whatsapp.com");
  CHECK(found[0]["confirmed"] == true);
  CHECK(found[0]["vantage_points"] == 2);
  check_unconfirmed(c.incidents("cc=KZ&asn=21299"), "web.whatsapp.com", 0);
  CHECK(c.incidents("cc=KZ&asn=21299").size() == 1);  // listed, as unconfirmed
  // The store keeps a tag per source and the check, never the address.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(c.running.db.location().c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  {
  collector::sqlite::Statement st(db, "SELECT asn, count(*), count(DISTINCT vantage), group_concat(DISTINCT network_check),"
                                      " sum(instr(envelope || vantage, '127.0.')) FROM measurements GROUP BY asn ORDER BY asn");
  REQUIRE(st.step());
  CHECK(st.int_at(0) == 9198);
  CHECK(st.int_at(1) == 12);
  CHECK(st.int_at(2) == 2);
  CHECK(st.text_at(3) == "match");
  CHECK(st.int_at(4) == 0);
  REQUIRE(st.step());
  CHECK(st.int_at(0) == 21299);
  CHECK(st.text_at(3) == "mismatch");
  CHECK(st.int_at(4) == 0);
  CHECK_FALSE(st.step());
  }
  sqlite3_close(db);
}
