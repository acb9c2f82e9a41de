// The pure parts of the ClickHouse analytics: the --analytics URL, SQL quoting, the schema and queries as
// text, recorded replies decoded (and refused), and the exporter's rows.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/analytics/exporter.hpp"
#include "collector/analytics/materializer.hpp"
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
// A TabSeparated reply of plain cells (no byte that needs an escape), parsed as the client does.
clickhouse::Table tsv(const std::vector<std::vector<std::string>>& rows, size_t width) {
  std::string body;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) body += (i ? "\t" : "") + row[i];
    body += "\n";
  }
  return clickhouse::parse_tsv(body, width, 1 << 20);
}
const std::string kSeriesMeta =
    R"j({"name": "b", "type": "Int64"}, {"name": "verdict", "type": "String"}, {"name": "method", "type": "String"},)j"
    R"j( {"name": "count()", "type": "UInt64"})j";

}  // namespace

TEST_CASE("the --analytics URL") {
  auto u = clickhouse::parse_clickhouse_url(
      "clickhouse://127.0.0.1:8123/kuzet?cluster=kuzet&shard=10.0.0.1:8123&shard=10.0.0.2:8124");
  CHECK(u.query == clickhouse::Endpoint{"127.0.0.1", 8123});
  CHECK(u.database == "kuzet");
  CHECK(u.cluster == "kuzet");
  REQUIRE(u.shards.size() == 2);
  CHECK(u.shards[1] == clickhouse::Endpoint{"10.0.0.2", 8124});
  // No shard= : the query server is the one shard; no database: "default".
  auto one = clickhouse::parse_clickhouse_url("clickhouse://ch:8123?cluster=c1");
  CHECK(one.database == "default");
  REQUIRE(one.shards.size() == 1);
  CHECK(one.shards[0] == one.query);
  for (const char* bad : {"http://x:1?cluster=c", "clickhouse://x?cluster=c", "clickhouse://x:0?cluster=c",
                          "clickhouse://x:70000?cluster=c", "clickhouse://x:1/db", "clickhouse://x:1/d-b?cluster=c",
                          "clickhouse://x:1?cluster=c;DROP", "clickhouse://x:1?cluster=c&shard=y",
                          "clickhouse://x:1?cluster=c&password=p", "clickhouse://:1?cluster=c"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(clickhouse::parse_clickhouse_url(bad), std::invalid_argument);
  }
}

TEST_CASE("SQL literals keep any name one value") {
  CHECK(clickhouse::sql_string("a.com") == "'a.com'");
  CHECK(clickhouse::sql_string("x' OR 1=1 --") == "'x\\' OR 1=1 --'");
  CHECK(clickhouse::sql_string("back\\slash") == "'back\\\\slash'");
  CHECK(clickhouse::sql_string(std::string("nul\0line\n", 9)) == "'nul\\x00line\\x0A'");
  CHECK(clickhouse::sql_string("Қазақстан") == "'Қазақстан'");
  CHECK(clickhouse::sql_identifier("kuzet_2") == "kuzet_2");
  CHECK_THROWS_AS(clickhouse::sql_identifier("a b"), std::invalid_argument);
  CHECK_THROWS_AS(clickhouse::sql_identifier("1abc"), std::invalid_argument);
  CHECK_THROWS_AS(clickhouse::sql_identifier(""), std::invalid_argument);
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
  CHECK(views == 11);
  const auto dist = distributed_schema_sql("kuzet", "default");
  REQUIRE(dist.size() == 6);
  CHECK(dist[0] == "CREATE TABLE IF NOT EXISTS measurements AS measurements_local ENGINE = "
                   "Distributed(kuzet, default, measurements_local, cityHash64(key_id))");
  CHECK(dist[3] == "CREATE TABLE IF NOT EXISTS bin_probes AS bin_probes_local ENGINE = "
                   "Distributed(kuzet, default, bin_probes_local)");
  CHECK_THROWS_AS(distributed_schema_sql("kuzet); DROP TABLE x; --", "default"), std::invalid_argument);
}

TEST_CASE("a database of schema 1 gets the tables of schemas 2 and 3 filled by their views' own SELECTs, a day at a time") {
  const auto fill = backfill_sql(1, 600000, "2022-01-02");
  REQUIRE(fill.size() == 7);
  CHECK(fill[0].rfind("INSERT INTO bin_probes_local SELECT ", 0) == 0);
  CHECK(fill[1].rfind("INSERT INTO bin_probes_local SELECT ", 0) == 0);
  CHECK(fill[4].rfind("INSERT INTO probe_presence_local SELECT ", 0) == 0);
  CHECK(fill[5].rfind("INSERT INTO probe_presence_local SELECT ", 0) == 0);
  CHECK(fill[6].rfind("INSERT INTO verdict_days_local SELECT ", 0) == 0);
  // Schema 2: only probe_presence.
  const auto from2 = backfill_sql(2, 600000, "2022-01-02");
  REQUIRE(from2.size() == 2);
  CHECK(from2[0].rfind("INSERT INTO probe_presence_local SELECT ", 0) == 0);
  // The same SELECT as the view keeping the table from then on, for that day only.
  const auto local = local_schema_sql(600000);
  const std::string where = " WHERE day = '2022-01-02' GROUP BY ";
  size_t same = 0;
  for (auto f : fill) {
    REQUIRE(f.find(where) != std::string::npos);
    f.replace(f.find(where), where.size(), " GROUP BY ");
    const std::string select = f.substr(f.find(" SELECT ") + 1);
    for (const auto& s : local)
      if (s.find("MATERIALIZED VIEW") != std::string::npos && s.size() >= select.size() &&
          s.compare(s.size() - select.size(), select.size(), select) == 0)
        ++same;
  }
  CHECK(same == 7);
  CHECK(backfill_sql(kSchemaVersion, 600000, "2022-01-02").empty());
  CHECK(backfill_sql(0, 600000, "2022-01-02").size() == 11);
  CHECK(backfill_sql(1, 600000, "x') OR 1 --")[0].find("WHERE day = 'x\\') OR 1 --' GROUP BY") != std::string::npos);
}

TEST_CASE("queries carry their filters as literals") {
  const auto sql = bin_probes_sql({{{"KZ", 9198, "x'.com"}, 2000, 6000}, {{"KZ", 48503, "*"}, 0, 4000}}, 2000, "ooni");
  CHECK(sql.find("((cc = 'KZ' AND asn = 9198 AND target = 'x\\'.com' AND bin >= 2000 AND bin < 6000) OR (cc = 'KZ' AND "
                 "asn = 48503 AND target = '*' AND bin >= 0 AND bin < 4000)) AND source = 'ooni'") != std::string::npos);
  CHECK(sql.find("intDiv(bin, 2000) * 2000") != std::string::npos);
  CHECK(bin_probes_sql({{{"KZ", 9198, "a"}, 1000, 5000}}, 2000, "").find("source") == std::string::npos);
  CHECK(vantage_samples_sql({"KZ", 9198, "x'.com"}, 0, 10, std::nullopt, "").find("s.1 =") == std::string::npos);
  CHECK(vantage_samples_sql({"KZ", 9198, "x'.com"}, 0, 10, std::string("blocked"), "").find("WHERE s.1 = 'blocked'") !=
        std::string::npos);
  timeline::TimelineQuery q;
  q.cc = "KZ";
  q.category = "im";  // applied after the reply (the category is the series' over every source)
  CHECK(series_list_sql(q).find("cc = 'KZ'") != std::string::npos);
  CHECK(series_list_sql(q).find("category =") == std::string::npos);
}

TEST_CASE("series read as ranges of the key: a series' ranges merged where they touch, too many: the whole span") {
  const timeline::SeriesKey a{"KZ", 1, "a.com"}, b{"KZ", 2, "b.com"};
  const std::vector<MixedBin> mixed = {{a, 1200}, {a, 1800}, {a, 3600}, {b, 1800}};
  const auto sql = mixed_bins_sql(mixed, 600, "");
  CHECK(sql.find("((cc = 'KZ' AND asn = 1 AND target = 'a.com' AND bin >= 1200 AND bin < 2400) OR (cc = 'KZ' AND "
                 "asn = 1 AND target = 'a.com' AND bin >= 3600 AND bin < 4200) OR (cc = 'KZ' AND asn = 2 AND target = "
                 "'b.com' AND bin >= 1800 AND bin < 2400))") != std::string::npos);
  CHECK(sql.find("argMaxMerge(latest)") != std::string::npos);
  CHECK(sql.find("GROUP BY cc, asn, target, b, key_id") != std::string::npos);
  // One series: its key as constants, grouped by bin and probe only.
  const auto one = mixed_bins_sql({{a, 1200}, {a, 3600}}, 600, "ooni");
  CHECK(one.rfind("SELECT 'KZ' AS cc, 1 AS asn, 'a.com' AS target, b, ", 0) == 0);
  CHECK(one.find("GROUP BY b, key_id") != std::string::npos);
  CHECK(one.find("source = 'ooni'") != std::string::npos);
  // Overlapping windows, in any order, are one range; empty ones none.
  CHECK(key_ranges({{b, 500, 900}, {a, 100, 300}, {a, 200, 400}, {a, 0, 0}}) ==
        "((cc = 'KZ' AND asn = 1 AND target = 'a.com' AND bin >= 100 AND bin < 400) OR (cc = 'KZ' AND asn = 2 AND "
        "target = 'b.com' AND bin >= 500 AND bin < 900))");
  CHECK(key_ranges({}) == "0");
  std::vector<KeyRange> many;
  for (int64_t i = 0; i <= static_cast<int64_t>(kMaxKeyRanges); ++i) many.push_back({a, i * 1200, i * 1200 + 600});
  many.push_back({b, 7, 8});
  many.push_back({{"KZ", 1, "c.com"}, 7, 8});
  CHECK(key_ranges(many) == "((cc = 'KZ' AND asn = 1 AND target IN ('a.com', 'c.com')) OR (cc = 'KZ' AND asn = 2 AND "
                            "target IN ('b.com'))) AND bin >= 0 AND bin < " +
                                std::to_string(static_cast<int64_t>(kMaxKeyRanges) * 1200 + 600));
}

TEST_CASE("a recorded counts reply: exact bins from distinct probes, mixed bins from the states") {
  using Request = timeline::TimelineSource::SeriesRequest;
  // Bin 0 of t.com: 3 blocked + 2 ok = 5 probes, exact. Bin 1: 2 blocked + 2 ok but 3 probes: one probe
  // was blocked and then ok (or the reverse) there, so its latest decides. Bin 2: silence. The "*" bin: 4
  // online, exact; the row after it, outside the network series' own range, is another series'.
  const auto rows = tsv({{"KZ", "9198", "t.com", "1641081600000", "0", "ok", "", "2"},
                         {"KZ", "9198", "t.com", "1641081600000", "0", "blocked", "dns.nxdomain", "3"},
                         {"KZ", "9198", "t.com", "1641081600000", "1", "", "", "5"},
                         {"KZ", "9198", "t.com", "1641082200000", "0", "blocked", "dns.nxdomain", "2"},
                         {"KZ", "9198", "t.com", "1641082200000", "0", "ok", "", "2"},
                         {"KZ", "9198", "t.com", "1641082200000", "1", "", "", "3"},
                         {"KZ", "9198", "*", "1641082800000", "0", "online", "", "4"},
                         {"KZ", "9198", "*", "1641082800000", "1", "", "", "4"},
                         {"KZ", "9198", "*", "1641084000000", "1", "", "", "1"}},
                        kCountColumns);
  const std::vector<Request> requests = {{{"KZ", 9198, "t.com"}, 1641081600000, 1641083400000},
                                         {{"KZ", 9198, "*"}, 1641082800000, 1641083400000}};
  auto group = series_counts_from_rows(requests, 600000, rows);
  REQUIRE(group.series.size() == 2);
  REQUIRE(group.series[0].bins.size() == 3);
  CHECK(group.series[0].bins[0].probes == 5);
  CHECK(group.series[0].bins[0].counts ==
        std::vector<timeline::VerdictCount>{{"blocked", "dns.nxdomain", 3}, {"ok", "", 2}});
  CHECK(group.series[0].bins[1].probes == 0);  // left for the states
  CHECK(group.series[0].bins[2].probes == 0);  // silence
  REQUIRE(group.series[1].bins.size() == 1);
  CHECK(group.series[1].bins[0].counts == std::vector<timeline::VerdictCount>{{"online", "", 4}});
  CHECK(group.mixed == std::vector<MixedBin>{{{"KZ", 9198, "t.com"}, 1641082200000}});

  // The states' answer for the mixed bin, and (a wide read) one for an exact bin, which is not added twice.
  const auto states = tsv({{"KZ", "9198", "t.com", "1641082200000", "ok", "", "2"},
                           {"KZ", "9198", "t.com", "1641082200000", "blocked", "dns.nxdomain", "1"},
                           {"KZ", "9198", "t.com", "1641081600000", "ok", "", "2"}},
                          kMixedColumns);
  add_mixed_counts(group, states);
  CHECK(group.series[0].bins[1].probes == 3);
  CHECK(group.series[0].bins[1].counts ==
        std::vector<timeline::VerdictCount>{{"blocked", "dns.nxdomain", 1}, {"ok", "", 2}});
  CHECK(group.series[0].bins[0].probes == 5);
  // Coarser bins: every bin from the states.
  auto coarse = all_bins_mixed(requests, 1200000);
  REQUIRE(coarse.series[0].bins.size() == 2);
  CHECK(coarse.mixed == std::vector<MixedBin>{{{"KZ", 9198, "*"}, 1641081600000 + 1200000},
                                              {{"KZ", 9198, "t.com"}, 1641081600000},
                                              {{"KZ", 9198, "t.com"}, 1641081600000 + 1200000}});
  add_mixed_counts(coarse, tsv({{"KZ", "9198", "t.com", "1641082800000", "ok", "", "4"}}, kMixedColumns));
  CHECK(coarse.series[0].bins[1].probes == 4);
  const auto stray_state = tsv({{"KZ", "9198", "b.com", "1641082200000", "ok", "", "2"}}, kMixedColumns);
  CHECK_THROWS_AS(add_mixed_counts(group, stray_state), std::runtime_error);

  // Broken replies are refused: a series not asked for, a bin off the grid, a bin's whole twice, bad cells.
  auto counts = [&](const std::vector<std::vector<std::string>>& r) {
    return series_counts_from_rows(requests, 600000, tsv(r, kCountColumns));
  };
  CHECK_THROWS_AS(counts({{"KZ", "9198", "b.com", "1641081600000", "1", "", "", "2"}}), std::runtime_error);
  CHECK_THROWS_AS(counts({{"KZ", "9198", "t.com", "1641081600001", "1", "", "", "2"}}), std::runtime_error);
  CHECK_THROWS_AS(counts({{"KZ", "9198", "t.com", "1641081600000", "1", "", "", "2"},
                          {"KZ", "9198", "t.com", "1641081600000", "1", "", "", "2"}}),
                  std::runtime_error);
  CHECK_THROWS_AS(counts({{"KZ", "9198", "t.com", "1641081600000", "0", "ok", "", "-2"}}), std::runtime_error);
  CHECK_THROWS_AS(counts({{"KZ", "9198", "t.com", "16410816OO000", "0", "ok", "", "2"}}), std::runtime_error);
  CHECK_THROWS_AS(counts({{"KZ", "-1", "t.com", "1641081600000", "0", "ok", "", "2"}}), std::runtime_error);
  CHECK_THROWS_AS(counts({{"KZ", "9198", "t.com", "1641081600000", "0", "ok", "", "99999999999999999999"}}),
                  std::runtime_error);
  // A count without the bin's whole is not trusted: that bin goes to the states.
  CHECK(counts({{"KZ", "9198", "t.com", "1641081600000", "0", "ok", "", "2"}}).mixed ==
        std::vector<MixedBin>{{{"KZ", 9198, "t.com"}, 1641081600000}});
}

TEST_CASE("TabSeparated replies: ClickHouse's escapes undone, rows of the width asked for, the rest refused") {
  // As clickhouse-server 18.16 writes SELECT 'a\tb', 'c\\d''\n', 42 FORMAT TabSeparated.
  const auto t = clickhouse::parse_tsv("a\\tb\tc\\\\d\\'\\n\t42\n\t\t-7\n", 3, 1 << 20);
  REQUIRE(t.size() == 2);
  CHECK(t.text(0, 0) == "a\tb");
  CHECK(t.text(0, 1) == "c\\d'\n");
  CHECK(t.integer(0, 2) == 42);
  CHECK(t.text(1, 0).empty());
  CHECK(t.integer(1, 2) == -7);
  CHECK(clickhouse::parse_tsv("\\x41\\0\\b\\f\\r\\a\\v\\\"\n", 1, 1 << 20).text(0, 0) ==
        std::string("A\0\b\f\r\a\v\"", 8));
  CHECK(clickhouse::parse_tsv("", 2, 1 << 20).size() == 0);
  CHECK_THROWS_AS(t.text(0, 3), std::runtime_error);
  CHECK_THROWS_AS(t.text(2, 0), std::runtime_error);
  CHECK_THROWS_AS(t.integer(0, 0), std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_tsv("a\tb\n", 3, 1 << 20), std::runtime_error);      // a narrow row
  CHECK_THROWS_AS(clickhouse::parse_tsv("a\tb\tc\td\n", 3, 1 << 20), std::runtime_error);  // a wide one
  CHECK_THROWS_AS(clickhouse::parse_tsv("a\tb\tc", 3, 1 << 20), std::runtime_error);       // cut short
  CHECK_THROWS_AS(clickhouse::parse_tsv("a\\q\n", 1, 1 << 20), std::runtime_error);        // an unknown escape
  CHECK_THROWS_AS(clickhouse::parse_tsv("a\\x4\n", 1, 1 << 20), std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_tsv("a\\", 1, 1 << 20), std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_tsv("a\n", 0, 1 << 20), std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_tsv("abcdef\n", 1, 4), std::runtime_error);  // over the byte cap
  CHECK_THROWS_AS(
      clickhouse::parse_tsv("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist\n", 2, 1 << 20),
      std::runtime_error);
}

TEST_CASE("which series hold an interference verdict: whole days of the bins asked for") {
  timeline::TimelineQuery q;
  q.cc = "KZ";
  q.source = "ooni";
  const int64_t day = kDayMs;
  const auto sql = series_with_verdicts_sql(q, {"blocked", "throttled"}, 3 * day + 600000, 5 * day);
  CHECK(sql.find("verdict IN ('blocked', 'throttled')") != std::string::npos);
  CHECK(sql.find("day_number >= 3 AND day_number <= 4") != std::string::npos);
  CHECK(sql.find("cc = 'KZ'") != std::string::npos);
  CHECK(sql.find("source = 'ooni'") != std::string::npos);
  CHECK(sql.find("asn =") == std::string::npos);
  const std::string meta = R"j({"name":"cc"},{"name":"asn"},{"name":"target"})j";
  const auto keys = series_keys_from_rows(
      clickhouse::parse_reply(reply(meta, R"j(["KZ", 9198, "a.com"], ["KZ", 48503, "a.com"])j"), 1 << 20));
  CHECK(keys == std::set<timeline::SeriesKey>{{"KZ", 9198, "a.com"}, {"KZ", 48503, "a.com"}});
  CHECK_THROWS_AS(series_keys_from_rows(clickhouse::parse_reply(reply(meta, R"j(["KZ", -1, "a.com"])j"), 1 << 20)),
                  std::runtime_error);
}

TEST_CASE("replies that are not what was asked for are refused") {
  CHECK_THROWS_AS(
      clickhouse::parse_reply("Code: 60, e.displayText() = DB::Exception: Table default.x doesn't exist", 1 << 20),
      std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_reply(reply(kSeriesMeta, "[1, \"a\", \"b\"]"), 1 << 20),
                  std::runtime_error);  // narrow row
  CHECK_THROWS_AS(clickhouse::parse_reply(R"j({"meta": [], "data": {}})j", 1 << 20), std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_reply(R"j({"meta": [1], "data": [[1]], "data": [[2]]})j", 1 << 20),
                  std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_reply(reply(kSeriesMeta, R"j([1641081600000, "ok", "", 2])j"), 64),
                  std::runtime_error);
  CHECK_THROWS_AS(clickhouse::parse_reply(R"j({"meta": [1], "data": [[[[[1]]]]]})j", 1 << 20),
                  std::runtime_error);  // depth
}

TEST_CASE("series list: category over every source, extent over the one asked for") {
  const std::string meta = R"j({"name":"cc"},{"name":"asn"},{"name":"target"},{"name":"source"},{"name":"c"},{"name":"f"},{"name":"l"})j";
  const auto rows = clickhouse::parse_reply(reply(meta, R"j(["KZ", 9198, "t.com", "ooni", "news", 100, 900],
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

TEST_CASE("incident windows read together: samples from the probes' presence, tied states from probe_bins") {
  using Window = timeline::TimelineSource::VantageRequest;
  const std::vector<Window> windows = {{{"KZ", 1, "a.com"}, 600, 1800, std::string("blocked")},
                                       {{"KZ", 1, "*"}, 0, 1200, std::nullopt}};
  VantageGroup group(windows);
  // k1 blocked in two bins (one sample, decisive summed); k2 ok (not blocked); k3 after the window; k4 blocked
  // and ok at the same latest time in bin 1200 (the uid decides); k5 the same outside every window; k6 blocked
  // then ok (latest: ok); k7 blocked, its row twice (not merged yet: one sample); k2's network row; a series
  // not asked for.
  group.add_presence(tsv({{"KZ", "1", "a.com", "600", "k1", "blocked", "tag1", "1", "610"},
                          {"KZ", "1", "a.com", "1200", "k1", "blocked", "tag1", "1", "1210"},
                          {"KZ", "1", "a.com", "1200", "k2", "ok", "tag2", "0", "1210"},
                          {"KZ", "1", "a.com", "1800", "k3", "blocked", "", "0", "1810"},
                          {"KZ", "1", "a.com", "1200", "k4", "ok", "tag4", "0", "1250"},
                          {"KZ", "1", "a.com", "1200", "k4", "blocked", "tag4", "1", "1250"},
                          {"KZ", "1", "a.com", "2400", "k5", "ok", "tag5", "0", "2450"},
                          {"KZ", "1", "a.com", "2400", "k5", "blocked", "tag5", "0", "2450"},
                          {"KZ", "1", "a.com", "1200", "k6", "blocked", "tag6", "1", "1220"},
                          {"KZ", "1", "a.com", "1200", "k6", "ok", "tag6", "0", "1230"},
                          {"KZ", "1", "a.com", "1200", "k7", "blocked", "tag7", "1", "1240"},
                          {"KZ", "1", "a.com", "1200", "k7", "blocked", "tag7", "1", "1240"},
                          {"KZ", "1", "*", "600", "k2", "online", "tag2", "0", "610"},
                          {"KZ", "9", "b.com", "600", "k9", "blocked", "tag9", "1", "610"}},
                         kPresenceColumns));
  // Only k4's bin is read from the states (k5's is outside every window).
  REQUIRE(group.mixed() == std::vector<ProbeBin>{{{"KZ", 1, "a.com"}, 1200, "k4"}});
  const auto sql = group.states_sql(600, "kuzet");
  CHECK(sql.find("(cc = 'KZ' AND asn = 1 AND target = 'a.com' AND bin >= 1200 AND bin < 1800)") != std::string::npos);
  CHECK(sql.find("key_id IN ('k4')") != std::string::npos);
  CHECK(sql.find("argMaxMerge(latest)") != std::string::npos);
  CHECK(sql.find("source = 'kuzet'") != std::string::npos);
  // Its latest there: blocked, with decisive evidence. k1's row (a wide read) is not added twice.
  group.add_states(tsv({{"KZ", "1", "a.com", "1200", "k4", "blocked", "tag4", "1"},
                        {"KZ", "1", "a.com", "1200", "k1", "blocked", "tag1", "1"}},
                       kStateColumns));
  const auto samples = group.samples();
  REQUIRE(samples.size() == 2);
  std::map<std::string, std::pair<std::string, int>> first;
  for (const auto& v : samples[0]) first[v.key_id] = {v.vantage, v.decisive};
  CHECK(first == std::map<std::string, std::pair<std::string, int>>{
                     {"k1", {"tag1", 2}}, {"k4", {"tag4", 1}}, {"k7", {"tag7", 1}}});
  REQUIRE(samples[1].size() == 1);
  CHECK(samples[1][0].key_id == "k2");
  CHECK(samples[1][0].vantage == "tag2");

  // Windows of two networks in one reply; names with ':' stay whole (a sample is key and tag, not a split).
  const std::vector<Window> per_network = {{{"KZ", 1, "a.com"}, 0, 1200, std::string("blocked")},
                                           {{"KZ", 2, "a.com"}, 0, 1200, std::string("blocked")}};
  VantageGroup two(per_network);
  two.add_presence(tsv({{"KZ", "1", "a.com", "600", "k:1", "blocked", "t:1", "1", "610"},
                        {"KZ", "2", "a.com", "600", "k:1", "blocked", "t", "0", "610"},
                        {"KZ", "2", "a.com", "600", "k", "blocked", ":1t", "0", "610"}},
                       kPresenceColumns));
  CHECK(two.mixed().empty());
  const auto split = two.samples();
  REQUIRE(split[0].size() == 1);
  CHECK(split[0][0].key_id == "k:1");
  CHECK(split[0][0].vantage == "t:1");
  CHECK(split[0][0].decisive == 1);
  REQUIRE(split[1].size() == 2);  // ("k:1", "t") and ("k", ":1t"): two samples, however they concatenate
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& v : split[1]) pairs.insert({v.key_id, v.vantage});
  CHECK(pairs == std::set<std::pair<std::string, std::string>>{{"k:1", "t"}, {"k", ":1t"}});

  const auto presence = vantage_presence_sql(windows, "kuzet");
  CHECK(presence.find("FROM probe_presence WHERE ((cc = 'KZ' AND asn = 1 AND target = '*' AND bin >= 0 AND bin < 1200) OR "
                      "(cc = 'KZ' AND asn = 1 AND target = 'a.com' AND bin >= 600 AND bin < 1800)) AND source = 'kuzet'") !=
        std::string::npos);
  CHECK(presence.find("GROUP BY") == std::string::npos);  // plain rows: the latest is picked here
  CHECK(presence.find("toInt64(last_at - 9223372036854775808)") != std::string::npos);

  // Broken replies are refused: decisive not 0 or 1, a time that is no integer, a narrow row.
  VantageGroup broken(windows);
  CHECK_THROWS_AS(broken.add_presence(tsv({{"KZ", "1", "a.com", "600", "k1", "blocked", "t", "2", "610"}}, kPresenceColumns)),
                  std::runtime_error);
  CHECK_THROWS_AS(broken.add_presence(tsv({{"KZ", "1", "a.com", "600", "k1", "blocked", "t", "1", "x"}}, kPresenceColumns)),
                  std::runtime_error);
  CHECK_THROWS_AS(tsv({{"KZ", "1", "a.com", "600", "k1", "blocked", "t", "1"}}, kPresenceColumns), std::runtime_error);
}

TEST_CASE("stored incidents: the runs' text round-trips exactly, anything else is refused") {
  timeline::StoredRun open;
  open.kind = "blocked";
  open.start_ms = 1641254400000;
  open.extent = {1641772800000, std::nullopt};
  open.confidence = 0.1 + 0.2;  // not a short decimal: kept as its bits
  open.probes = 6;
  open.bins = 651;
  open.methods = {"dns.nxdomain", "tab\there \"quoted\" \\ back"};
  open.vantage_points = 199;
  open.decisive = 570;
  open.open_vantage_points = 200;
  open.open_decisive = 571;
  timeline::StoredRun shutdown;
  shutdown.kind = "shutdown";
  shutdown.start_ms = 1641276000000;
  shutdown.extent = {1641308400000, 1641309600000};
  shutdown.confidence = 0.75;
  shutdown.severity = 1.0 / 3;
  const std::vector<timeline::StoredRun> runs = {open, shutdown};
  CHECK(runs_from_text(runs_text(runs)) == runs);
  CHECK(runs_from_text("[]").empty());
  for (const char* bad : {"", "{}", "[1]", "[[]]", R"([["blocked",1,2,null,0,1,1,0,[],1,1,1]])",
                          R"([["blocked",1,2,null,0.5,1,1,0,[],1,1,1,1]])", R"([["blocked",1,2,null,0,-1,1,0,[],1,1,1,1]])",
                          R"([["blocked",1,2,null,0,1,1,0,[[]],1,1,1,1]])", R"([[7,1,2,null,0,1,1,0,[],1,1,1,1]])",
                          R"([["blocked",1,2,"3",0,1,1,0,[],1,1,1,1]])", R"([["blocked",1e3,2,null,0,1,1,0,[],1,1,1,1]])",
                          R"([["blocked",1,2,null,0,1,1,0,{},1,1,1,1]])", R"([["blocked",1,2,null,0,1,1,0,[],1,1,1,99999999999]])",
                          "[[\"a\",1,2,null,0,1,1,0,[\"m\"],1,1,1,1]] tail"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(runs_from_text(bad), std::runtime_error);
  }
}

TEST_CASE("stored incidents: the read carries its filters, a recorded reply decodes, watermarks decide whether it answers") {
  timeline::TimelineQuery q;
  q.cc = "U'A";
  q.asn = 1010;
  q.target = "t0.example.org";
  const std::string sql = stored_incidents_sql(q, "kuzet");
  CHECK(sql.find("FROM series_incidents WHERE source = 'kuzet' AND cc = 'U\\'A' AND asn = 1010 AND target = 't0.example.org'") !=
        std::string::npos);
  CHECK(sql.find("(SELECT max(watermark) FROM stored_watermark) AS stored") != std::string::npos);
  CHECK(sql.find("(SELECT max(next_log_index) FROM export_progress) AS exported") != std::string::npos);
  CHECK(sql.find("argMax(runs, v)") != std::string::npos);
  CHECK(sql.find("GROUP BY cc, asn, target") != std::string::npos);
  timeline::TimelineQuery all;
  CHECK(stored_incidents_sql(all, "").find("WHERE source = '' FROM") == std::string::npos);
  CHECK(stored_incidents_sql(all, "").find("WHERE source = ''") != std::string::npos);

  // Recorded from the 10 M benchmark (ClickHouse 18.16, TabSeparated): a network with no shutdown and two of its
  // target series, one blocked for six days.
  const std::string options =
      "share=0.5 close=2 evidence=3 stale=86400000 drop=0.5 baseline=604800000 min=86400000 probes=2 vantage=2";
  CHECK(options == timeline::options_fingerprint(timeline::IncidentOptions{}));
  const std::string recorded =
      "UA\t1010\t*\t" + options + "\t1640995200000\t1641859800000\t[]\t0\t0\n"
      "UA\t1010\tt0.example.org\t" + options + "\t1640995200000\t1641859800000\t"
      "[[\"blocked\",1641254400000,1641772800000,1641774600000,4607182418800017408,6,651,0,[\"dns.nxdomain\"],199,570,199,570]]"
      "\t0\t0\n"
      "UA\t1010\tt5.example.org\t" + options + "\t1640995200000\t1641859800000\t[]\t0\t0\n";
  const StoredRead read = stored_from_rows(clickhouse::parse_tsv(recorded, kStoredColumns, 1 << 20));
  CHECK(read.current);
  REQUIRE(read.series.size() == 3);
  const auto& blocked = read.series.at({"UA", 1010, "t0.example.org"});
  CHECK(blocked.options == options);
  CHECK(blocked.first_bin_ms == 1640995200000);
  CHECK(blocked.data_end_ms == 1641859800000);
  REQUIRE(blocked.runs.size() == 1);
  CHECK(blocked.runs[0].kind == "blocked");
  CHECK(blocked.runs[0].extent == timeline::RunExtent{1641772800000, 1641774600000});
  CHECK(blocked.runs[0].confidence == 1.0);
  CHECK(blocked.runs[0].methods == std::vector<std::string>{"dns.nxdomain"});
  CHECK(blocked.runs[0].vantage_points == 199);
  CHECK(read.series.at({"UA", 1010, "*"}).runs.empty());

  // A method with a tab and a backslash comes escaped twice (JSON, then TabSeparated) and back whole.
  timeline::StoredSeries s;
  s.key = {"KZ", 9198, "a.com"};
  s.runs.push_back(blocked.runs[0]);
  s.runs[0].methods = {"a\tb\\c"};
  std::string cell;
  for (char c : runs_text(s.runs)) cell += c == '\\' ? std::string("\\\\") : std::string(1, c);
  const StoredRead escaped =
      stored_from_rows(clickhouse::parse_tsv("KZ\t9198\ta.com\t\t0\t0\t" + cell + "\t5\t5\n", kStoredColumns, 1 << 20));
  CHECK(escaped.series.at(s.key).runs == s.runs);

  // Behind the export (or never made): not current. No rows: not current either.
  CHECK_FALSE(
      stored_from_rows(clickhouse::parse_tsv("KZ\t9198\ta.com\t\t0\t0\t[]\t4\t5\n", kStoredColumns, 1 << 20)).current);
  CHECK_FALSE(stored_from_rows(clickhouse::parse_tsv("", kStoredColumns, 1 << 20)).current);
  // Broken: an ASN out of range, a series twice, runs that are not runs.
  CHECK_THROWS_AS(
      stored_from_rows(clickhouse::parse_tsv("KZ\t4294967296\ta.com\t\t0\t0\t[]\t5\t5\n", kStoredColumns, 1 << 20)),
      std::runtime_error);
  CHECK_THROWS_AS(stored_from_rows(clickhouse::parse_tsv("KZ\t1\ta\t\t0\t0\t[]\t5\t5\nKZ\t1\ta\t\t0\t0\t[]\t5\t5\n",
                                             kStoredColumns, 1 << 20)),
                  std::runtime_error);
  CHECK_THROWS_AS(stored_from_rows(clickhouse::parse_tsv("KZ\t1\ta\t\t0\t0\t[x]\t5\t5\n", kStoredColumns, 1 << 20)),
                  std::runtime_error);
}

TEST_CASE("stored incidents: a pass searches the series it touched, and network series whose data end moved") {
  const timeline::SeriesKey a{"KZ", 9198, "a.com"}, b{"KZ", 9198, "b.com"}, net{"KZ", 9198, "*"}, other{"KZ", 1, "*"},
      fresh{"UZ", 2, "*"};
  const std::vector<timeline::SeriesInfo> listed = {{a, "news", 0, 10}, {b, "news", 0, 10}, {net, "", 0, 10},
                                                    {other, "", 0, 10}, {fresh, "", 0, 10}};
  StoredRead stored;
  for (const auto& k : {a, b, net, other}) {
    timeline::StoredSeries s;
    s.key = k;
    s.data_end_ms = k == other ? 600000 : 1200000;
    stored.series[k] = s;
  }
  auto keys = [](const std::vector<timeline::SeriesInfo>& infos) {
    std::vector<timeline::SeriesKey> out;
    for (const auto& i : infos) out.push_back(i.key);
    return out;
  };
  const std::set<timeline::SeriesKey> with_bins = {net, other, fresh};
  // Touched a: a; the network whose stored end is older; the network with nothing stored.
  CHECK(keys(series_to_search(listed, std::set<timeline::SeriesKey>{a}, stored, with_bins, 1200000)) ==
        std::vector<timeline::SeriesKey>{a, other, fresh});
  // The data's end moved: every network series.
  CHECK(keys(series_to_search(listed, std::set<timeline::SeriesKey>{}, stored, with_bins, 1800000)) ==
        std::vector<timeline::SeriesKey>{net, other, fresh});
  // A network stored without its bins (before schema 5): searched.
  CHECK(keys(series_to_search(listed, std::set<timeline::SeriesKey>{}, stored, {other, fresh}, 1200000)) ==
        std::vector<timeline::SeriesKey>{net, other, fresh});
  // Every series.
  CHECK(series_to_search(listed, std::nullopt, stored, with_bins, 1200000).size() == listed.size());
}

TEST_CASE("stored incidents: a network's bins as chunk rows, the read of a part's chunks, broken chunks refused") {
  constexpr int64_t kBin = 600000, kChunk = kBinsPerChunk * kBin;
  timeline::StoredSeries net;
  net.key = {"KZ", 9198, "*"};
  // Bins from the middle of chunk 19000 into chunk 19001; the first chunk's last bin and the second's first have data.
  net.bins_from_ms = 19000 * kChunk + 100 * kBin;
  net.bins_until_ms = 19001 * kChunk + 10 * kBin;
  net.bins = {{19000 * kChunk + 100 * kBin, 7, 0}, {19000 * kChunk + 143 * kBin, 5, 2}, {19001 * kChunk, 3, 3}};
  timeline::StoredSeries target = net;
  target.key.target = "a.com";  // target series keep no bins
  const std::string rows = network_bins_rows({net, target}, "kuzet", kBin, 77);
  CHECK(std::count(rows.begin(), rows.end(), '\n') == 2);
  CHECK(rows.find(R"("source":"kuzet")") != std::string::npos);
  CHECK(rows.find(R"("chunk":19000)") != std::string::npos);
  CHECK(rows.find(R"("made_at":77)") != std::string::npos);
  // The text of each chunk, as the reply carries it, decodes to the same bins.
  auto text_of = [&](size_t line) {
    std::string row = rows;
    for (size_t i = 0; i < line; ++i) row = row.substr(row.find('\n') + 1);
    row = row.substr(0, row.find('\n'));
    const size_t at = row.find(R"("bins":")") + 8;
    return row.substr(at, row.find('"', at) - at);
  };
  CHECK(network_bins_from_text(text_of(0), 19000 * kChunk, kBin) ==
        std::vector<timeline::NetworkBin>{net.bins[0], net.bins[1]});
  CHECK(network_bins_from_text(text_of(1), 19001 * kChunk, kBin) == std::vector<timeline::NetworkBin>{net.bins[2]});

  // A part's read: its chunks, then its bins. A later part of another network too.
  timeline::StoredSeries a, b;
  a.key = net.key;
  b.key = {"UZ", 1, "*"};
  const std::vector<timeline::NetworkPart> parts = {{&a, 19000 * kChunk + 120 * kBin, 19001 * kChunk + 5 * kBin},
                                                    {&b, 19001 * kChunk, 19001 * kChunk + kBin}};
  const std::string sql = network_bins_sql(parts, "kuzet", kBin);
  CHECK(sql == "SELECT cc, asn, chunk, argMax(bins, made_at) FROM network_bins WHERE source = 'kuzet' AND "
               "((cc = 'KZ' AND asn = 9198 AND chunk >= 19000 AND chunk <= 19001) OR (cc = 'UZ' AND asn = 1 AND "
               "chunk >= 19001 AND chunk <= 19001)) GROUP BY cc, asn, chunk");
  const std::string reply = "KZ\t9198\t19000\t" + text_of(0) + "\nKZ\t9198\t19001\t" + text_of(1) +
                            "\nKZ\t9198\t18000\t" + text_of(1) + "\nRU\t1\t19001\t" + text_of(1) + "\n";
  add_network_bins(parts, clickhouse::parse_tsv(reply, kNetworkBinColumns, 1 << 20), kBin);
  CHECK(a.bins == std::vector<timeline::NetworkBin>{net.bins[1], net.bins[2]});  // within the part only
  CHECK(a.bins_from_ms == parts[0].from_ms);
  CHECK(a.bins_until_ms == parts[0].until_ms);
  CHECK(b.bins.empty());  // its chunk did not come: not covered, searched
  CHECK(b.bins_until_ms == 0);
  // The same chunk twice is a broken reply.
  CHECK_THROWS_AS(add_network_bins(parts,
                                   clickhouse::parse_tsv(
                                       "KZ\t9198\t19000\t" + text_of(0) + "\nKZ\t9198\t19000\t" + text_of(0) + "\n",
                                       kNetworkBinColumns, 1 << 20),
                                   kBin),
                  std::runtime_error);
  std::string zeros;
  for (int64_t i = 0; i < kBinsPerChunk; ++i) zeros += i ? " 0 0" : "0 0";
  CHECK(network_bins_from_text(zeros, 0, kBin).empty());
  for (const std::string bad : {std::string(""), zeros + " ", zeros.substr(2), zeros + " 0 0", "1 2 " + zeros.substr(4),
                                "x" + zeros.substr(1), "-1 0 " + zeros.substr(4), "2147483648 0 " + zeros.substr(4),
                                "99999999999 0 " + zeros.substr(4), "0  0 " + zeros.substr(4), "+1 0 " + zeros.substr(4)}) {
    CAPTURE(bad.substr(0, 20));
    CHECK_THROWS_AS(network_bins_from_text(bad, 0, kBin), std::runtime_error);
  }
  CHECK(network_bins_from_text("2147483647 0 " + zeros.substr(4), 0, kBin).front().probes == INT32_MAX);
  CHECK(networks_with_bins_sql("ooni") == "SELECT DISTINCT cc, asn FROM network_bins WHERE source = 'ooni'");
  CHECK(networks_from_rows({nlohmann::json::array({"KZ", 9198})}) == std::set<timeline::SeriesKey>{net.key});
  CHECK_THROWS_AS(networks_from_rows({nlohmann::json::array({"KZ", -1})}), std::runtime_error);
}

TEST_CASE("day counts: marks decide which days answer, the latest version's rows are a day's counts, the rest is read") {
  constexpr int64_t kDay = kDayMs, d0 = 1641081600000;  // 2022-01-02
  CHECK(day_marks_sql(d0, d0 + 3 * kDay) ==
        "SELECT bin, maxIf(watermark, kind = 0), maxIf(version, kind = 1), maxIf(version, kind = 2), argMaxIf(watermark,"
        " version, kind = 2) FROM day_marks WHERE bin >= 1641081600000 AND bin < 1641340800000 GROUP BY bin");
  const std::string day = std::to_string(d0), day1 = std::to_string(d0 + kDay), day2 = std::to_string(d0 + 2 * kDay),
                    day3 = std::to_string(d0 + 3 * kDay), day4 = std::to_string(d0 + 4 * kDay);
  // Counted and current; exported after its count; a later pass started but not through; never counted; counted at
  // the very watermark of its last export.
  const auto counted = counted_days_from_rows(tsv({{day, "10", "7", "7", "12"},
                                                   {day1, "13", "7", "7", "12"},
                                                   {day2, "5", "9", "7", "12"},
                                                   {day3, "5", "0", "0", "0"},
                                                   {day4, "12", "8", "8", "12"}},
                                                  kDayMarkColumns));
  CHECK(counted == std::set<int64_t>{d0, d0 + 4 * kDay});
  CHECK(counted_days_from_rows(tsv({}, kDayMarkColumns)).empty());
  CHECK_THROWS_AS(counted_days_from_rows(tsv({{day, "1", "2", "2", "3"}, {day, "1", "2", "2", "3"}}, kDayMarkColumns)),
                  std::runtime_error);  // a day twice
  CHECK_THROWS_AS(counted_days_from_rows(tsv({{std::to_string(d0 + 1), "1", "2", "2", "3"}}, kDayMarkColumns)),
                  std::runtime_error);  // not a day's start
  CHECK_THROWS_AS(counted_days_from_rows(tsv({{day, "-1", "2", "2", "3"}}, kDayMarkColumns)), std::runtime_error);
  CHECK_THROWS_AS(counted_days_from_rows(tsv({{day, "18446744073709551615", "2", "2", "3"}}, kDayMarkColumns)),
                  std::runtime_error);

  const timeline::SeriesKey t{"KZ", 9198, "t.com"}, net{"KZ", 9198, "*"};
  CHECK(day_counts_sql({{t, d0, d0 + 2 * kDay}}, "") ==
        "SELECT cc, asn, target, bin, version, verdict, method, probes FROM day_counts WHERE source = '' AND ((cc = 'KZ'"
        " AND asn = 9198 AND target = 't.com' AND bin >= 1641081600000 AND bin < 1641254400000))");
  const std::vector<timeline::TimelineSource::SeriesRequest> requests = {{t, d0, d0 + 3 * kDay},
                                                                        {net, d0 + kDay, d0 + 2 * kDay}};
  // Day 0 of t: version 7 had an inconclusive probe that version 9 no longer has (its latest of the day is ok now);
  // day 1 of t: no row (silence); day 2 not counted (read); the network's day 1 from its one version. Rows out of
  // order, one of a day outside the network's request.
  const clickhouse::Table rows = tsv({{"KZ", "9198", "t.com", day, "9", "ok", "", "3"},
                          {"KZ", "9198", "*", day1, "4", "online", "", "2"},
                          {"KZ", "9198", "t.com", day, "7", "inconclusive", "", "1"},
                          {"KZ", "9198", "t.com", day, "7", "ok", "", "2"},
                          {"KZ", "9198", "t.com", day, "9", "blocked", "dns.nxdomain", "1"},
                          {"KZ", "9198", "*", day1, "4", "offline", "", "1"},
                          {"KZ", "9198", "*", day, "4", "online", "", "5"},
                          {"KZ", "9198", "t.com", day2, "9", "ok", "", "6"}},
                         kDayCountColumns);
  const auto group = counts_from_stored_days(requests, {d0, d0 + kDay}, rows);
  REQUIRE(group.series.size() == 2);
  REQUIRE(group.series[0].bins.size() == 3);
  CHECK(group.series[0].bin_ms == kDay);
  CHECK(group.series[0].bins[0] ==
        timeline::Bin{d0, 4, {{"blocked", "dns.nxdomain", 1}, {"ok", "", 3}}});
  CHECK(group.series[0].bins[1] == timeline::Bin{d0 + kDay, 0, {}});
  CHECK(group.series[0].bins[2] == timeline::Bin{d0 + 2 * kDay, 0, {}});  // left for the states
  REQUIRE(group.series[1].bins.size() == 1);
  CHECK(group.series[1].bins[0] == timeline::Bin{d0 + kDay, 3, {{"offline", "", 1}, {"online", "", 2}}});
  CHECK(group.mixed == std::vector<MixedBin>{{t, d0 + 2 * kDay}});
  // Nothing counted: every bin left for the states.
  CHECK(counts_from_stored_days(requests, {}, rows).mixed.size() == 4);
  // Broken replies: a state twice in one version, a series not asked for, a bin off the grid, counts out of range.
  const auto refused = [&](const std::vector<std::string>& row) {
    return counts_from_stored_days(requests, {d0}, tsv({{"KZ", "9198", "t.com", day, "9", "ok", "", "3"}, row},
                                                       kDayCountColumns));
  };
  CHECK_THROWS_AS(refused({"KZ", "9198", "t.com", day, "9", "ok", "", "1"}), std::runtime_error);
  CHECK_THROWS_AS(refused({"KZ", "9198", "x.com", day, "9", "ok", "", "1"}), std::runtime_error);
  CHECK_THROWS_AS(refused({"KZ", "9198", "t.com", std::to_string(d0 + 1), "9", "ok", "", "1"}), std::runtime_error);
  CHECK_THROWS_AS(refused({"KZ", "9198", "t.com", day, "9", "blocked", "", "0"}), std::runtime_error);
  CHECK_THROWS_AS(refused({"KZ", "9198", "t.com", day, "9", "blocked", "", "2147483648"}), std::runtime_error);
  CHECK_THROWS_AS(refused({"KZ", "9198", "t.com", day, "0", "blocked", "", "1"}), std::runtime_error);
  CHECK_NOTHROW(refused({"KZ", "9198", "t.com", day, "8", "ok", "", "1"}));  // an older version's same state
}

TEST_CASE("day counts: a day counted over probe_bins per source, all sources together, and the marks") {
  constexpr int64_t d0 = 1641081600000;
  const std::string per_source =
      "INSERT INTO day_counts (source, cc, asn, target, bin, version, verdict, method, probes) SELECT source AS source,"
      " cc, asn, target, 1641081600000 AS bin, toUInt64(77) AS version, s.1 AS verdict, s.2 AS method,"
      " toUInt32(count()) AS probes FROM (SELECT source, cc, asn, target, key_id, argMaxMerge(latest) AS s FROM"
      " probe_bins WHERE day >= '2022-01-01' AND day <= '2022-01-03' AND bin >= 1641081600000 AND bin < 1641168000000"
      " GROUP BY source, cc, asn, target, key_id) GROUP BY source, cc, asn, target, verdict, method";
  CHECK(count_day_sql(d0, 77, {}) == std::vector<std::string>{per_source});
  CHECK(count_day_sql(d0, 77, {"kuzet"}) ==
        std::vector<std::string>{
            per_source,
            "INSERT INTO day_counts (source, cc, asn, target, bin, version, verdict, method, probes) SELECT '', cc, asn,"
            " target, bin, version, verdict, method, probes FROM day_counts WHERE source = 'kuzet' AND bin = 1641081600000"
            " AND version = 77"});
  CHECK(count_day_sql(d0, 77, {"kuzet", "ooni"}) ==
        std::vector<std::string>{
            per_source,
            "INSERT INTO day_counts (source, cc, asn, target, bin, version, verdict, method, probes) SELECT '' AS source,"
            " cc, asn, target, 1641081600000 AS bin, toUInt64(77) AS version, s.1 AS verdict, s.2 AS method,"
            " toUInt32(count()) AS probes FROM (SELECT cc, asn, target, key_id, argMaxMerge(latest) AS s FROM probe_bins"
            " WHERE day >= '2022-01-01' AND day <= '2022-01-03' AND bin >= 1641081600000 AND bin < 1641168000000 GROUP BY"
            " cc, asn, target, key_id) GROUP BY cc, asn, target, verdict, method"});
  CHECK(day_marks_insert_sql({d0, d0 + kDayMs}, DayMark::exported, 12, 12) ==
        "INSERT INTO day_marks (bin, kind, version, watermark) VALUES (1641081600000, 0, 12, 12), (1641168000000, 0, 12, 12)");
  CHECK(day_marks_insert_sql({d0}, DayMark::counted, 99, 12) ==
        "INSERT INTO day_marks (bin, kind, version, watermark) VALUES (1641081600000, 2, 99, 12)");
  CHECK(days_of({d0 + 5, d0 + kDayMs - 1, d0 + kDayMs, -1}) == std::set<int64_t>{-kDayMs, d0, d0 + kDayMs});
  // Days before 1970-01-03 and past a Date's range are never counted (read from the states).
  CHECK(days_to_count({-kDayMs, 0, kDayMs, 2 * kDayMs, d0, d0 + kDayMs, (clickhouse::kMaxDateDays - 2) * kDayMs},
                      {d0}) == std::vector<int64_t>{2 * kDayMs, d0 + kDayMs});
  CHECK(clickhouse::date_of(d0) == "2022-01-02");
  CHECK(clickhouse::date_of(-1) == "1970-01-01");
  CHECK(clickhouse::date_of(int64_t{100000} * kDayMs) == "2149-06-05");  // the last day a Date holds
}
