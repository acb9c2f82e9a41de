// The timeline HTTP API on a loopback server over a replayed database: JSON, CSV, permanent incident
// links, the dashboard's files, bad queries, and late uploads changing the answer.
#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "collector/network/asn_db.hpp"
#include "collector/timeline/api/api.hpp"
#include "tests/timeline/api_server.hpp"
#include "tests/timeline/replay_fixture.hpp"

using namespace kuzet;
using namespace kuzet::timeline;
using namespace kuzet::timeline::api;
using namespace kuzet::replay;

namespace {

using testing::ApiServer;

int64_t lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

}  // namespace

TEST_CASE("timeline API over a replayed dataset") {
  testing::TempDir dir;
  auto config = testing::test_config();
  config.probes = 10;
  config.days = 6;  // 2..8 Jan
  const Replay replay = generate_replay(config);
  testing::IndexedStore indexed(dir);  // SQLite, or PostgreSQL with a fed index (KUZET_TEST_DB)
  auto& store = indexed.store;
  TimelineIndex& index = indexed.index;
  // Everything that arrived before 6 Jan 12:00, then (below) the uploads that came late.
  const int64_t cut = 1641470400000;
  size_t arrived = 0;
  while (arrived < replay.received_at_ms.size() && replay.received_at_ms[arrived] < cut) ++arrived;
  testing::ingest(*store, replay, 0, arrived);

  ApiOptions options;
  options.now_ms = [] { return 1641945600000; };  // 2022-01-12: the replay is in the past
  // Network names from an iptoasn TSV, as the collector's --asn-db gives them; 48503 is named nowhere.
  auto networks = collector::network::TsvAsnDatabase::parse("2.60.0.0\t2.63.255.255\t9198\tKZ\tJSC Kazakhtelecom\n");
  options.network_name = [&networks](uint32_t asn) { return networks->as_name(asn); };
  ApiServer server(index, options);
  const std::string period = "&from=2022-01-02T00:00:00Z&until=2022-01-08T00:00:00Z";

  auto early = server.get("/api/v1/incidents?cc=KZ&asn=9198" + period);
  REQUIRE(early);
  REQUIRE(early->status == 200);
  testing::ingest(*store, replay, arrived, replay.envelopes.size());

  {  // "series list"
    auto r = server.get("/api/v1/series?cc=KZ");
    REQUIRE(r);
    auto j = nlohmann::json::parse(r->body);
    CHECK(j["bin_seconds"] == 600);
    CHECK(j["series"].size() == 5 * 6);  // 5 networks x (5 targets + connectivity)
    CHECK(j["series"][0]["cc"] == "KZ");
    CHECK(j["series"][0]["first"] == "2022-01-02T00:00:00Z");
    for (const auto& s : j["series"]) CHECK(s["as_name"] == (s["asn"] == 9198 ? "JSC Kazakhtelecom" : ""));
  }

  {  // "timeline JSON and CSV"
    auto r = server.get("/api/v1/timeline?cc=KZ&asn=9198&target=web.whatsapp.com&bin=1h" + period);
    REQUIRE(r);
    REQUIRE(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == "application/json");
    auto j = nlohmann::json::parse(r->body);
    REQUIRE(j["series"].size() == 1);
    CHECK(j["series"][0]["as_name"] == "JSC Kazakhtelecom");
    const auto& bins = j["series"][0]["bins"];
    REQUIRE(bins.size() == 6 * 24);
    CHECK(bins[0]["start"] == "2022-01-02T00:00:00Z");
    CHECK(bins[0]["state"] == "ok");
    CHECK(bins[2 * 24 + 16]["start"] == "2022-01-04T16:00:00Z");
    CHECK(bins[2 * 24 + 16]["state"] == "blocked");
    CHECK(bins[2 * 24 + 16]["counts"][0]["method"] == "tls.timeout");
    auto csv = server.get("/api/v1/timeline?cc=KZ&asn=9198&target=web.whatsapp.com&bin=1h&format=csv" + period);
    REQUIRE(csv);
    CHECK(csv->get_header_value("Content-Type") == "text/csv; charset=utf-8");
    CHECK(csv->body.rfind("cc,asn,target,category,bin_start,", 0) == 0);
    CHECK(lines(csv->body) >= 1 + 6 * 24);
    CHECK(csv->body.find("KZ,9198,web.whatsapp.com,messaging,2022-01-04T16:00:00Z,3600,") != std::string::npos);
    CHECK(csv->body.find(",share,as_name\n") != std::string::npos);
    CHECK(csv->body.find(",JSC Kazakhtelecom\n") != std::string::npos);
    // Network series by target=*.
    auto net = server.get("/api/v1/timeline?cc=KZ&asn=9198&target=*&bin=1d" + period);
    REQUIRE(net);
    auto nj = nlohmann::json::parse(net->body);
    REQUIRE(nj["series"].size() == 1);
    CHECK(nj["series"][0]["kind"] == "network");
    CHECK(nj["series"][0]["bins"].size() == 6);
  }

  {  // "incidents: JSON, CSV, permanent links; late uploads changed them"
    auto r = server.get("/api/v1/incidents?cc=KZ&asn=9198" + period);
    REQUIRE(r);
    auto j = nlohmann::json::parse(r->body);
    std::set<std::string> ids;
    for (const auto& i : j["incidents"]) ids.insert(i["id"].get<std::string>());
    // Two probes per network measure each target every 40 minutes: blocking is seen within a few bins.
    std::string whatsapp_id;
    for (const auto& i : j["incidents"])
      if (i["kind"] == "blocked" && i["target"] == "web.whatsapp.com") whatsapp_id = i["id"];
    REQUIRE(whatsapp_id.rfind("KZ.9198.blocked.20220104T14", 0) == 0);
    for (const char* target : {"signal.org", "web.telegram.org"})
      CHECK(std::count_if(j["incidents"].begin(), j["incidents"].end(),
                          [&](const nlohmann::json& i) { return i["target"] == target && i["kind"] == "blocked"; }) == 1);
    CHECK(ids.count("KZ.9198.shutdown.20220105T1030Z"));
    CHECK(ids.count("KZ.9198.shutdown.20220106T0900Z"));
    CHECK(r->body != early->body);  // the results uploaded after the shutdown changed the answer
    for (const auto& i : j["incidents"]) {  // every replayed probe is its own vantage point
      CAPTURE(i["id"]);
      CHECK(i["confirmed"] == true);
      CHECK(i["vantage_points"].get<int>() >= 2);
      // Every incident names its network and how it was done (a shutdown: no method, the network is silent).
      CHECK(i["as_name"] == "JSC Kazakhtelecom");
      REQUIRE(i["methods"].is_array());
      CHECK(i["methods"].empty() == (i["kind"] == "shutdown"));
      if (i["target"] == "web.whatsapp.com") CHECK(i["methods"][0] == "tls.timeout");
    }
    for (const auto& i : j["incidents"]) {
      if (i["id"] != "KZ.9198.shutdown.20220105T1030Z") continue;
      CHECK(i["start"] == "2022-01-05T10:30:00Z");
      CHECK(i["end"] == "2022-01-06T06:00:00Z");
      CHECK(i["ongoing"] == false);
      CHECK(i["permalink"] == "/api/v1/incidents/KZ.9198.shutdown.20220105T1030Z");
      CHECK(i["measurements"] ==
            "/api/v1/measurements?cc=KZ&asn=9198&from=2022-01-05T10:30:00Z&until=2022-01-06T06:00:00Z");
    }
    auto csv = server.get("/api/v1/incidents?cc=KZ&asn=9198&format=csv" + period);
    REQUIRE(csv);
    CHECK(lines(csv->body) == 1 + static_cast<int64_t>(j["incidents"].size()));
    CHECK(csv->body.find("KZ.9198.shutdown.20220105T1030Z,shutdown,KZ,9198,*,,2022-01-05T10:30:00Z,"
                         "2022-01-06T06:00:00Z,") != std::string::npos);
    CHECK(csv->body.rfind("id,kind,cc,asn,target,category,start,end,confidence,probes,bins,severity,measurements,"
                          "ongoing,confirmed,vantage_points,decisive_measurements,source,as_name,methods\n", 0) == 0);
    CHECK(csv->body.find(",false,true,") != std::string::npos);  // ongoing=false, confirmed=true
    CHECK(csv->body.find(",all,JSC Kazakhtelecom,tls.timeout\n") != std::string::npos);
    auto one = server.get("/api/v1/incidents/" + whatsapp_id);
    REQUIRE(one);
    REQUIRE(one->status == 200);
    auto oj = nlohmann::json::parse(one->body);
    CHECK(oj["id"] == whatsapp_id);
    CHECK(oj["end"].is_string());
    CHECK(oj["as_name"] == "JSC Kazakhtelecom");
    CHECK(oj["methods"][0] == "tls.timeout");
    // The same permalink in words for a browser, in its language; ".json" or an API client's Accept: JSON.
    const httplib::Headers browser = {{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"},
                                      {"Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5"}};
    auto page = server.get("/api/v1/incidents/" + whatsapp_id, browser);
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(page->get_header_value("Vary") == "Accept, Accept-Language");
    CHECK(page->body.find("<html lang=\"ru\">") != std::string::npos);
    CHECK(page->body.find("web.whatsapp.com заблокирован в сети AS9198 (JSC Kazakhtelecom), KZ") != std::string::npos);
    auto en_page = server.get("/api/v1/incidents/" + whatsapp_id + "?lang=en", browser);
    REQUIRE(en_page);
    CHECK(en_page->body.find("How it was done: tls.timeout") != std::string::npos);
    CHECK(server.get("/api/v1/incidents/" + whatsapp_id + "?lang=fr", browser)->status == 400);
    auto forced = server.get("/api/v1/incidents/" + whatsapp_id + ".json", browser);
    REQUIRE(forced);
    CHECK(forced->get_header_value("Content-Type") == "application/json");
    CHECK(nlohmann::json::parse(forced->body) == oj);
    auto curl = server.get("/api/v1/incidents/" + whatsapp_id, {{"Accept", "*/*"}});
    CHECK(nlohmann::json::parse(curl->body) == oj);

    // The Atom feed of the same incidents: opened, ended and confirmed events.
    auto feed = server.get("/api/v1/feeds/incidents.atom?cc=kz&asn=AS9198" + period);
    REQUIRE(feed);
    CHECK(feed->status == 200);
    CHECK(feed->get_header_value("Content-Type") == "application/atom+xml; charset=utf-8");
    size_t entries = 0, expected = 0;
    for (size_t at = feed->body.find("<entry>"); at != std::string::npos; at = feed->body.find("<entry>", at + 1)) ++entries;
    for (const auto& i : j["incidents"]) expected += 1 + (i["end"].is_string() ? 1 : 0) + (i["confirmed"] == true ? 1 : 0);
    CHECK(entries == expected);
    CHECK(feed->body.find("<title>Opened: web.whatsapp.com blocked on AS9198 (JSC Kazakhtelecom), KZ</title>") !=
          std::string::npos);
    CHECK(feed->body.find("<id>urn:kuzet:incident:KZ.9198.shutdown.20220105T1030Z:ended</id>") != std::string::npos);
    CHECK(feed->body.find("href=\"/api/v1/incidents/" + whatsapp_id + "\"") != std::string::npos);
    auto target_feed = server.get("/api/v1/feeds/incidents.atom?cc=KZ&asn=9198&target=signal.org" + period);
    CHECK(target_feed->body.find("web.whatsapp.com") == std::string::npos);
    CHECK(target_feed->body.find("signal.org blocked") != std::string::npos);
    auto bad_feed = server.get("/api/v1/feeds/incidents.atom?format=csv");
    CHECK(bad_feed->status == 400);
    CHECK(bad_feed->body.find("format") != std::string::npos);

    auto kind = server.get("/api/v1/incidents?cc=KZ&kind=shutdown" + period);
    REQUIRE(kind);
    const auto kinds = nlohmann::json::parse(kind->body);
    CHECK_FALSE(kinds["incidents"].empty());
    for (const auto& i : kinds["incidents"]) CHECK(i["kind"] == "shutdown");
  }

  {  // "strict parameters: OONI's and IODA's forms, the data's own default window, unknown names refused"
    auto ids = [&](const std::string& query) {
      auto r = server.get("/api/v1/incidents?" + query);
      REQUIRE(r);
      CHECK_MESSAGE(r->status == 200, query, r->body);
      std::set<std::string> out;
      if (r->status != 200) return out;
      const auto answer = nlohmann::json::parse(r->body);
      for (const auto& i : answer["incidents"]) out.insert(i["id"].get<std::string>());
      return out;
    };
    const auto reference = ids("cc=KZ&asn=9198" + period);
    REQUIRE(reference.size() >= 5);
    CHECK(ids("cc=kz&asn=AS9198" + period) == reference);
    CHECK(ids("cc=KZ&asn=as9198&from=2022-01-02&until=2022-01-08") == reference);
    CHECK(ids("cc=KZ&asn=9198&from=1641081600&until=1641600000") == reference);  // Unix seconds
    CHECK(ids("cc=KZ&asn=9198&confirmed=true" + period) == reference);
    CHECK(ids("cc=KZ&asn=9198&confirmed=false" + period).empty());
    // No period: the data's latest 7 days (the data ends on 8 Jan; the clock says 12 Jan).
    auto r = server.get("/api/v1/incidents?cc=KZ&asn=9198");
    REQUIRE(r);
    auto j = nlohmann::json::parse(r->body);
    CHECK(j["until"] == "2022-01-08T00:00:00Z");
    CHECK(j["from"] == "2022-01-01T00:00:00Z");
    CHECK(ids("cc=KZ&asn=9198") == reference);
    auto t = server.get("/api/v1/timeline?cc=kz&asn=AS9198&target=*&bin=1d");
    REQUIRE(t);
    REQUIRE(t->status == 200);
    auto tj = nlohmann::json::parse(t->body);
    REQUIRE(tj["series"].size() == 1);
    CHECK(tj["series"][0]["bins"].size() == 7);
    CHECK(tj["series"][0]["bins"].back()["start"] == "2022-01-07T00:00:00Z");
    CHECK(tj["series"][0]["bins"].back()["probes"].get<int>() > 0);
    auto series = server.get("/api/v1/series?cc=kz&asn=AS9198");
    REQUIRE(series);
    CHECK(nlohmann::json::parse(series->body)["series"].size() == 6);
    for (auto [query, named] : {std::pair{"/api/v1/timeline?verdict=blocked", "verdict"},
                                std::pair{"/api/v1/incidents?bin=1h", "bin"},
                                std::pair{"/api/v1/incidents?confirmed=maybe", "confirmed"},
                                std::pair{"/api/v1/series?from=2022-01-01", "from"},
                                std::pair{"/api/v1/timeline?cc=KAZ", "cc"},
                                std::pair{"/api/v1/incidents?cc=KZ&cc=RU", "cc"}}) {
      auto bad = server.get(query);
      REQUIRE(bad);
      CHECK_MESSAGE(bad->status == 400, query);
      CHECK_MESSAGE(nlohmann::json::parse(bad->body)["detail"].get<std::string>().find(named) != std::string::npos, query);
    }
  }

  {  // "bad queries and unknown incidents"
    for (const char* q : {"/api/v1/timeline?asn=x", "/api/v1/timeline?from=yesterday",
                          "/api/v1/timeline?bin=7m", "/api/v1/timeline?format=xml",
                          "/api/v1/timeline?from=2022-01-03T00:00:00Z&until=2022-01-02T00:00:00Z",
                          "/api/v1/timeline?from=2000-01-01T00:00:00Z&until=2022-01-02T00:00:00Z",
                          "/api/v1/incidents?kind=eaten"}) {
      auto r = server.get(q);
      REQUIRE(r);
      CHECK_MESSAGE(r->status == 400, q);
      CHECK(nlohmann::json::parse(r->body)["error"] == "malformed");
    }
    for (const char* q : {"/api/v1/incidents/nonsense", "/api/v1/incidents/KZ.9198.shutdown.20220102T0000Z",
                          "/api/v1/incidents/KZ.9198.blocked.20220104T1430Z.www.gov.kz"}) {
      auto r = server.get(q);
      REQUIRE(r);
      CHECK_MESSAGE(r->status == 404, q);
    }
  }

  {  // "dashboard files"
    auto page = server.get("/");
    REQUIRE(page);
    CHECK(page->status == 200);
    CHECK(page->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(page->body.find("<script src=\"/app.js\">") != std::string::npos);
    auto js = server.get("/app.js");
    REQUIRE(js);
    CHECK(js->body.find("/api/v1/incidents") != std::string::npos);
  }
}
