// The pure parts of the ClickHouse analytics: the --analytics URL, SQL quoting, the schema and queries as
// text, recorded replies decoded (and refused), and the exporter's rows.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "collector/analytics/clickhouse.hpp"
#include "collector/analytics/exporter.hpp"
#include "collector/analytics/queries.hpp"
#include "collector/analytics/schema.hpp"
#include "collector/vantage/vantage.hpp"

using namespace kuzet;
using namespace kuzet::collector::analytics;

namespace {

// A reply as ClickHouse 18.16 writes JSONCompact (recorded from the test cluster, statistics shortened).
std::string reply(const std::string& meta, const std::string& data) {
  return "{\n\t\"meta\":\n\t[" + meta + "],\n\n\t\"data\":\n\t[" + data +
         "],\n\n\t\"rows\": 2,\n\n\t\"statistics\":\n\t{\n\t\t\"elapsed\": 0.0116,\n\t\t\"rows_read\": 80,\n\t\t"
         "\"bytes_read\": 37088\n\t}\n}\n";
}
const std::string kSeriesMeta =
    R"j({"name": "b", "type": "Int64"}, {"name": "verdict", "type": "String"}, {"name": "method", "type": "String"},)j"
    R"j( {"name": "count()", "type": "UInt64"})j";

}  // namespace

TEST_CASE("the --analytics URL") {
  auto u = parse_clickhouse_url("clickhouse://127.0.0.1:8123/kuzet?cluster=kuzet&shard=10.0.0.1:8123&shard=10.0.0.2:8124");
  CHECK(u.query == Endpoint{"127.0.0.1", 8123});
  CHECK(u.database == "kuzet");
  CHECK(u.cluster == "kuzet");
  REQUIRE(u.shards.size() == 2);
  CHECK(u.shards[1] == Endpoint{"10.0.0.2", 8124});
  // No shard= : the query server is the one shard; no database: "default".
  auto one = parse_clickhouse_url("clickhouse://ch:8123?cluster=c1");
  CHECK(one.database == "default");
  REQUIRE(one.shards.size() == 1);
  CHECK(one.shards[0] == one.query);
  for (const char* bad : {"http://x:1?cluster=c", "clickhouse://x?cluster=c", "clickhouse://x:0?cluster=c",
                          "clickhouse://x:70000?cluster=c", "clickhouse://x:1/db", "clickhouse://x:1/d-b?cluster=c",
                          "clickhouse://x:1?cluster=c;DROP", "clickhouse://x:1?cluster=c&shard=y",
                          "clickhouse://x:1?cluster=c&password=p", "clickhouse://:1?cluster=c"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(parse_clickhouse_url(bad), std::invalid_argument);
  }
}

TEST_CASE("SQL literals keep any name one value") {
  CHECK(sql_string("a.com") == "'a.com'");
  CHECK(sql_string("x' OR 1=1 --") == "'x\\' OR 1=1 --'");
  CHECK(sql_string("back\\slash") == "'back\\\\slash'");
  CHECK(sql_string(std::string("nul\0line\n", 9)) == "'nul\\x00line\\x0A'");
  CHECK(sql_string("Қазақстан") == "'Қазақстан'");
  CHECK(sql_identifier("kuzet_2") == "kuzet_2");
  CHECK_THROWS_AS(sql_identifier("a b"), std::invalid_argument);
  CHECK_THROWS_AS(sql_identifier("1abc"), std::invalid_argument);
  CHECK_THROWS_AS(sql_identifier(""), std::invalid_argument);
}

TEST_CASE("the schema: the base bin in every view, Distributed tables sharded by probe") {
  const auto local = local_schema_sql(600000);
  int views = 0;
  for (const auto& s : local) {
    CHECK(s.find("BIN") == std::string::npos);
    if (s.find("MATERIALIZED VIEW") != std::string::npos) {
      ++views;
      CHECK(s.find("intDiv(started_at, 600000) * 600000") != std::string::npos);
    }
  }
  CHECK(views == 4);
  const auto dist = distributed_schema_sql("kuzet", "default");
  REQUIRE(dist.size() == 3);
  CHECK(dist[0] == "CREATE TABLE IF NOT EXISTS measurements AS measurements_local ENGINE = "
                   "Distributed(kuzet, default, measurements_local, cityHash64(key_id))");
  CHECK_THROWS_AS(distributed_schema_sql("kuzet); DROP TABLE x; --", "default"), std::invalid_argument);
}

TEST_CASE("queries carry their filters as literals") {
  timeline::SeriesKey key{"KZ", 9198, "x'.com"};
  const auto sql = series_sql(key, 1000, 5000, 2000, "ooni");
  CHECK(sql.find("target = 'x\\'.com'") != std::string::npos);
  CHECK(sql.find("source = 'ooni'") != std::string::npos);
  CHECK(sql.find("intDiv(bin, 2000) * 2000") != std::string::npos);
  CHECK(series_sql(key, 1000, 5000, 2000, "").find("source") == std::string::npos);
  CHECK(vantage_samples_sql(key, 0, 10, std::nullopt, "").find("s.1 =") == std::string::npos);
  CHECK(vantage_samples_sql(key, 0, 10, std::string("blocked"), "").find("WHERE s.1 = 'blocked'") != std::string::npos);
  timeline::TimelineQuery q;
  q.cc = "KZ";
  q.category = "im";  // applied after the reply (the category is the series' over every source)
  CHECK(series_list_sql(q).find("cc = 'KZ'") != std::string::npos);
  CHECK(series_list_sql(q).find("category =") == std::string::npos);
}

TEST_CASE("a recorded series reply") {
  const std::string body = reply(kSeriesMeta, R"j([1641081600000, "blocked", "dns.nxdomain", 3],
		[1641081600000, "ok", "", 2],
		[1641082800000, "blocked", "dns.nxdomain", 4])j");
  const auto rows = parse_reply(body, 1 << 20);
  const auto s = series_from_rows({"KZ", 9198, "t.com"}, 1641081600000, 1641083400000, 600000, rows);
  REQUIRE(s.bins.size() == 3);
  CHECK(s.bins[0].probes == 5);
  CHECK(s.bins[0].counts == std::vector<timeline::VerdictCount>{{"blocked", "dns.nxdomain", 3}, {"ok", "", 2}});
  CHECK(s.bins[1].probes == 0);  // silence
  CHECK(s.bins[2].start_ms == 1641082800000);
  CHECK(s.bins[2].probes == 4);
  // A bin the query did not ask for is a broken reply, not a crash or a silently wrong series.
  CHECK_THROWS_AS(series_from_rows({"KZ", 9198, "t.com"}, 1641081600000, 1641082200000, 600000, rows), std::runtime_error);
  CHECK_THROWS_AS(series_from_rows({"KZ", 9198, "t.com"}, 1641081600000, 1641083400000, 1200000, rows), std::runtime_error);
}

TEST_CASE("replies that are not what was asked for are refused") {
  CHECK_THROWS_AS(parse_reply("Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist", 1 << 20),
                  std::runtime_error);
  CHECK_THROWS_AS(parse_reply(reply(kSeriesMeta, "[1, \"a\", \"b\"]"), 1 << 20), std::runtime_error);  // narrow row
  CHECK_THROWS_AS(parse_reply(R"j({"meta": [], "data": {}})j", 1 << 20), std::runtime_error);
  CHECK_THROWS_AS(parse_reply(R"j({"meta": [1], "data": [[1]], "data": [[2]]})j", 1 << 20), std::runtime_error);
  CHECK_THROWS_AS(parse_reply(reply(kSeriesMeta, R"j([1641081600000, "ok", "", 2])j"), 64), std::runtime_error);
  CHECK_THROWS_AS(parse_reply(R"j({"meta": [1], "data": [[[[[1]]]]]})j", 1 << 20), std::runtime_error);  // depth
  // Cells of the wrong type.
  const auto rows = parse_reply(reply(kSeriesMeta, R"j(["1641081600000", "ok", "", 2])j"), 1 << 20);
  CHECK_THROWS_AS(series_from_rows({"KZ", 1, "t"}, 1641081600000, 1641082200000, 600000, rows), std::runtime_error);
  const auto negative = parse_reply(reply(kSeriesMeta, R"j([1641081600000, "ok", "", -2])j"), 1 << 20);
  CHECK_THROWS_AS(series_from_rows({"KZ", 1, "t"}, 1641081600000, 1641082200000, 600000, negative), std::runtime_error);
}

TEST_CASE("series list: category over every source, extent over the one asked for") {
  const std::string meta = R"j({"name":"cc"},{"name":"asn"},{"name":"target"},{"name":"source"},{"name":"c"},{"name":"f"},{"name":"l"})j";
  const auto rows = parse_reply(reply(meta, R"j(["KZ", 9198, "t.com", "ooni", "news", 100, 900],
    ["KZ", 9198, "t.com", "kuzet", "", 300, 700],
    ["KZ", 9198, "*", "kuzet", "", 300, 700],
    ["KZ", 48503, "*", "ooni", "", 0, 1],
    ["AM", 1, "a.am", "kuzet", "im", 5, 6])j"), 1 << 20);
  timeline::TimelineQuery all;
  auto list = series_list_from_rows(rows, all);
  REQUIRE(list.size() == 4);
  CHECK(list[0].key == timeline::SeriesKey{"AM", 1, "a.am"});  // ordered by (cc, asn, target)
  CHECK(list[1].key == timeline::SeriesKey{"KZ", 9198, "*"});  // asn as a number, "*" before names
  CHECK(list[2].category == "news");
  CHECK(list[2].first_bin_ms == 100);
  CHECK(list[2].last_bin_ms == 900);
  CHECK(list[3].key == timeline::SeriesKey{"KZ", 48503, "*"});
  timeline::TimelineQuery kuzet_only;
  kuzet_only.source = "kuzet";
  kuzet_only.category = "news";
  list = series_list_from_rows(rows, kuzet_only);
  REQUIRE(list.size() == 2);  // the network series always, the target by its category over every source
  CHECK(list[0].key.target == "*");
  CHECK(list[1].category == "news");
  CHECK(list[1].first_bin_ms == 300);
  CHECK(list[1].last_bin_ms == 700);
}

TEST_CASE("the exporter's rows carry the vantage point each measurement supports") {
  collector::NewMeasurement m;
  m.uid = "u1";
  m.key_id = "k1";
  m.started_at_ms = 1641081600000;
  m.cc = "KZ";
  m.asn = 9198;
  m.target = "t\"\n.com";
  m.verdict = "blocked";
  m.method = "dns.nxdomain";
  m.vantage = "tag1";
  m.network_check = "match";
  m.decisive = true;
  auto mismatch = m;
  mismatch.uid = "u2";
  mismatch.network_check = "mismatch";
  auto backdated = m;
  backdated.uid = "u3";
  backdated.started_at_ms = 1641081600000 - 2 * collector::vantage::kKeyBackdateGraceMs;
  const std::string text = export_rows({m, mismatch, backdated}, [](const std::string&) { return 1641081600000; });
  std::vector<nlohmann::json> lines;
  size_t at = 0;
  for (size_t nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1)
    lines.push_back(nlohmann::json::parse(text.substr(at, nl - at)));
  REQUIRE(lines.size() == 3);
  CHECK(lines[0]["vantage"] == "tag1");
  CHECK(lines[0]["day"] == "2022-01-02");
  CHECK(lines[0]["decisive"] == 1);
  CHECK(lines[0]["target"] == "t\"\n.com");
  CHECK(lines[0]["started_at"] == 1641081600000);
  CHECK(lines[1]["vantage"] == "");
  CHECK(lines[2]["vantage"] == "");
  // A start before 1970 or after 2105 keeps its started_at; only the partition day is clamped.
  auto odd = m;
  odd.started_at_ms = -5;
  CHECK(nlohmann::json::parse(export_rows({odd}, [](const std::string&) { return std::nullopt; }))["day"] == "1970-01-01");
}

TEST_CASE("a network's series and incident windows read together, each cut from the union") {
  using Request = timeline::TimelineSource::SeriesRequest;
  const std::string meta = R"j({"name":"target"},{"name":"b"},{"name":"verdict"},{"name":"method"},{"name":"count()"})j";
  const auto rows = parse_reply(reply(meta, R"j(["a.com", 1200, "ok", "", 2], ["a.com", 3000, "blocked", "dns", 1],
    ["*", 600, "online", "", 4], ["*", 1800, "offline", "", 1])j"), 1 << 20);
  const std::vector<Request> requests = {{{"KZ", 1, "a.com"}, 1200, 2400}, {{"KZ", 1, "*"}, 0, 3600}};
  const auto series = series_group_from_rows(requests, 600, rows);
  REQUIRE(series.size() == 2);
  REQUIRE(series[0].bins.size() == 2);  // [1200, 2400): the row at 3000 is another window's
  CHECK(series[0].bins[0].probes == 2);
  CHECK(series[0].bins[1].probes == 0);
  REQUIRE(series[1].bins.size() == 6);
  CHECK(series[1].bins[1].counts == std::vector<timeline::VerdictCount>{{"online", "", 4}});
  CHECK(series[1].bins[3].probes == 1);
  const auto stray = parse_reply(reply(meta, R"j(["b.com", 1200, "ok", "", 2])j"), 1 << 20);
  CHECK_THROWS_AS(series_group_from_rows(requests, 600, stray), std::runtime_error);
  CHECK(series_group_sql("KZ", 1, {"a.com", "*"}, 0, 3600, 600, "").find("target IN ('a.com', '*')") != std::string::npos);

  using Window = timeline::TimelineSource::VantageRequest;
  const std::string vmeta = R"j({"name":"target"},{"name":"bin"},{"name":"key_id"},{"name":"verdict"},{"name":"v"},{"name":"d"})j";
  const auto vrows = parse_reply(reply(vmeta, R"j(["a.com", 600, "k1", "blocked", "tag1", 1],
    ["a.com", 1200, "k1", "blocked", "tag1", 1], ["a.com", 1200, "k2", "ok", "tag2", 0],
    ["a.com", 1800, "k3", "blocked", "", 0], ["*", 600, "k2", "online", "tag2", 0])j"), 1 << 20);
  const std::vector<Window> windows = {{{"KZ", 1, "a.com"}, 600, 1800, std::string("blocked")},
                                       {{"KZ", 1, "*"}, 0, 1200, std::nullopt}};
  const auto samples = vantage_group_from_rows(windows, vrows);
  REQUIRE(samples.size() == 2);
  REQUIRE(samples[0].size() == 1);  // k1 in two bins: one sample, decisive summed; k2 not blocked; k3 after
  CHECK(samples[0][0].key_id == "k1");
  CHECK(samples[0][0].vantage == "tag1");
  CHECK(samples[0][0].decisive == 2);
  REQUIRE(samples[1].size() == 1);
  CHECK(samples[1][0].key_id == "k2");
  const auto sql = vantage_group_sql("KZ", 1, {"a.com", "*"}, 0, 1800, {"blocked"}, "kuzet");
  CHECK(sql.find("verdict IN ('blocked')") != std::string::npos);
  CHECK(sql.find("source = 'kuzet'") != std::string::npos);
}
