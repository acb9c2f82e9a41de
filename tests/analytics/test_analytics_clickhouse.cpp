// ClickHouse analytics against a real two-shard cluster (KUZET_TEST_CLICKHOUSE: ctest starts one with
// scripts/ch-test-cluster.sh; without it this test fails, it never skips). The January 2022 replay stored in the
// collector's store and exported to ClickHouse in two passes: every timeline, series and incident answer of the
// API equal, byte for byte, to the SQLite index's. Then ClickHouse's side alone, on the same answers: incidents
// stored when the data arrived and searched when they are behind, network series of later windows on their stored
// bins, timelines at 1-day bins from the stored day counts (a batch sent again; days whose counts do not answer read
// from the states in the same answer), also after a schema-1, schema-4 or schema-5 database is brought up to date.
// An exporter killed mid-export loses and doubles nothing.
#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <csignal>
#include <cstdlib>
#include <sys/wait.h>
#include <thread>
#include <tuple>

#include "collector/analytics/exporter.hpp"
#include "collector/analytics/queries.hpp"
#include "collector/analytics/schema.hpp"
#include "collector/analytics/timelines.hpp"
#include "collector/network/asn_db.hpp"
#include "collector/timeline/api/api.hpp"
#include "tests/collector/support/spawn.hpp"
#include "tests/timeline/api_server.hpp"
#include "tests/timeline/replay_fixture.hpp"

using namespace kuzet;
using namespace kuzet::timeline;
using namespace kuzet::timeline::api;
using namespace kuzet::replay;
namespace analytics = kuzet::collector::analytics;

namespace {

// A fresh database on every server of the test cluster, dropped at the end.
struct TestCluster {
  analytics::clickhouse::ClickHouseUrl url;
  TestCluster() {
    const char* env = std::getenv("KUZET_TEST_CLICKHOUSE");
    REQUIRE_MESSAGE(env, "KUZET_TEST_CLICKHOUSE is not set: run through ctest (scripts/ch-test-cluster.sh)");
    url = analytics::clickhouse::parse_clickhouse_url(env);
    url.database = "kt_" + core::random_hex(6);
    analytics::create_schema(url, kDefaultBinMs);
  }
  ~TestCluster() {
    for (const auto& s : url.shards) {
      try {
        analytics::clickhouse::Client(s, "default").execute("DROP DATABASE IF EXISTS " + url.database);
      } catch (...) {
        // Left behind in the throwaway cluster's data directory: harmless.
      }
    }
  }
  uint64_t count_on(const analytics::clickhouse::Endpoint& server, const std::string& sql) {
    const auto rows = analytics::clickhouse::Client(server, url.database).select(sql);
    REQUIRE(rows.size() == 1);
    return rows[0][0].get<uint64_t>();
  }
};

// Both servers' answers to a path: (status, body).
std::pair<int, std::string> get(testing::ApiServer& server, const std::string& path) {
  auto r = server.get(path);
  REQUIRE(r);
  return {r->status, r->body};
}

ApiOptions api_options() {
  ApiOptions options;
  options.now_ms = [] { return 1641945600000; };  // 2022-01-12: the replay is in the past
  static auto networks = collector::network::TsvAsnDatabase::parse("2.60.0.0\t2.63.255.255\t9198\tKZ\tJSC Kazakhtelecom\n");
  options.network_name = [](uint32_t asn) { return networks->as_name(asn); };
  return options;
}

// Every answer of both servers to the same requests: equal bytes. Returns how many incidents the listing had.
size_t check_same_answers(TimelineSource& sqlite, TimelineSource& clickhouse) {
  testing::ApiServer a(sqlite, api_options()), b(clickhouse, api_options());
  const std::string period = "from=2022-01-02T00:00:00Z&until=2022-01-12T00:00:00Z";
  std::vector<std::string> paths = {
      "/api/v1/series", "/api/v1/series?cc=KZ", "/api/v1/series?source=kuzet", "/api/v1/series?source=ooni",
      "/api/v1/series?cc=KZ&category=messaging", "/api/v1/series?asn=9198&target=*",
      "/api/v1/timeline?cc=KZ&asn=9198&" + period,
      "/api/v1/timeline?cc=KZ&asn=9198&bin=1h&" + period,
      "/api/v1/timeline?cc=KZ&asn=9198&bin=30m&" + period,
      "/api/v1/timeline?cc=KZ&bin=1d&" + period,
      "/api/v1/timeline?cc=KZ&asn=9198&bin=1d&source=ooni&" + period,
      "/api/v1/timeline?cc=KZ&target=*&bin=1d&source=kuzet&from=2022-01-04T06:00:00Z&until=2022-01-09T00:00:00Z",
      "/api/v1/timeline?cc=KZ&bin=7d&" + period,  // week bins: read from the states
      "/api/v1/timeline?cc=KZ&bin=2d&source=kuzet&" + period,
      "/api/v1/timeline?cc=KZ&bin=2h&source=kuzet&" + period,
      "/api/v1/timeline?cc=KZ&target=*&bin=20m&from=2022-01-05T07:13:00Z&until=2022-01-06T13:00:00Z",
      "/api/v1/timeline?cc=KZ&category=messaging&bin=6h&format=csv&" + period,
      "/api/v1/timeline?cc=KZ&asn=9198",  // the default window: the data's last week
      "/api/v1/timeline?cc=KZ&asn=9198&bin=7m&" + period,  // refused alike
      "/api/v1/incidents?cc=KZ&" + period,
      "/api/v1/incidents?cc=KZ&source=kuzet&" + period,
      "/api/v1/incidents?cc=KZ&source=ooni&" + period,
      "/api/v1/incidents?cc=KZ&format=csv&" + period,
      "/api/v1/incidents?kind=shutdown&confirmed=true&" + period,
      "/api/v1/incidents?cc=KZ&asn=9198&from=2022-01-05T12:00:00Z&until=2022-01-05T18:00:00Z",
      // Later than a week after the first data: the network series' search runs on their stored bins.
      "/api/v1/incidents?cc=KZ&from=2022-01-09T06:00:00Z&until=2022-01-12T00:00:00Z",
      "/api/v1/incidents?kind=shutdown&source=kuzet&from=2022-01-10T00:00:00Z&until=2022-01-11T00:00:00Z",
      "/api/v1/incidents?cc=KZ",
      "/api/v1/feeds/incidents.atom?cc=KZ",
  };
  auto [status, listing] = get(a, "/api/v1/incidents?cc=KZ&" + period);
  REQUIRE(status == 200);
  const auto incidents = nlohmann::json::parse(listing)["incidents"];
  for (const auto& i : incidents) paths.push_back(i["permalink"].get<std::string>() + ".json");
  for (const auto& path : paths) {
    CAPTURE(path);
    auto [sa, body_a] = get(a, path);
    auto [sb, body_b] = get(b, path);
    CHECK(sa == sb);
    CHECK(body_a == body_b);
  }
  return incidents.size();
}

}  // namespace

// The January 2022 replay, a store it goes into (SQLite, or PostgreSQL with a fed index: KUZET_TEST_DB), a fresh
// database on the cluster, and an exporter whose every pass counts the days it touched.
struct ReplayOnCluster {
  testing::TempDir dir;
  ReplayConfig config = testing::test_config();
  Replay replay = generate_replay(config);
  testing::IndexedStore indexed{dir};
  TestCluster cluster;
  analytics::Exporter exporter{*indexed.store, cluster.url, every_pass()};
  TimelineQuery q = whole_period(config);
  analytics::ClickHouseTimelines clickhouse{cluster.url, kDefaultBinMs};

  static analytics::ExporterOptions every_pass() {
    analytics::ExporterOptions options;
    options.day_counts_every = std::chrono::milliseconds(0);
    return options;
  }
  static TimelineQuery whole_period(const ReplayConfig& config) {
    TimelineQuery whole;
    whole.cc = "KZ";
    whole.from_ms = config.start_ms;
    whole.until_ms = config.start_ms + config.days * 24 * 3600 * 1000LL;
    return whole;
  }

  // Timelines at 1-day bins, every series of every source, as SQLite's: from the day counts stored when the data
  // arrived (`from_days`), else from the states. A single series read too, and one not starting at a day's start.
  void same_days(bool from_days) {
    std::vector<TimelineSource::SeriesRequest> all;
    for (const auto& info : indexed.index.series_list(q)) all.push_back({info.key, q.from_ms, q.until_ms});
    REQUIRE(!all.empty());
    for (const std::string source : {"", "kuzet", "ooni"}) {
      CAPTURE(source);
      CHECK(clickhouse.series_many(all, analytics::kDayMs, source) == indexed.index.series_many(all, analytics::kDayMs, source));
      const auto paths = clickhouse.last_series_paths();
      MESSAGE("day bins, source '", source, "': ", paths.from_days, " from day counts, ", paths.read, " read");
      CHECK((paths.from_days > 0) == from_days);
      const SeriesKey network{"KZ", 9198, kNetworkTarget};
      CHECK(clickhouse.series(network, q.from_ms + 3600000, q.until_ms, analytics::kDayMs, source) ==
            indexed.index.series(network, q.from_ms + 3600000, q.until_ms, analytics::kDayMs, source));
    }
  }

  // A later window (more than a week after the first data) of every source: the network series searched on their
  // stored bins, the rest from stored runs, nothing read from the per-probe tables; SQLite's answer.
  void later_window(bool from_stored) {
    for (const std::string source : {"", "kuzet", "ooni"}) {
      TimelineQuery later = q;
      later.source = source;
      later.from_ms = q.until_ms - 2 * 24 * 3600 * 1000LL - 6 * 3600 * 1000LL;
      CAPTURE(source);
      CHECK(clickhouse.incidents(later, IncidentOptions{}) == indexed.index.incidents(later, IncidentOptions{}));
      const auto paths = clickhouse.last_incident_paths();
      MESSAGE("later window, source '", source, "': ", paths.stored, " series from stored runs, ", paths.from_bins,
              " on stored bins, ", paths.searched, " searched");
      if (source.empty()) CHECK((paths.from_bins > 0) == from_stored);
    }
  }
};

TEST_CASE_FIXTURE(ReplayOnCluster,
                  "ClickHouse answers what the SQLite index answers on the January 2022 replay, sent in two passes") {
  REQUIRE(cluster.url.shards.size() >= 2);
  const size_t half = replay.envelopes.size() / 2;
  size_t n = testing::ingest(*indexed.store, replay, 0, half);
  REQUIRE(n == half);
  CHECK(exporter.export_pending() == n);
  // Half the data: its days counted on the first pass (every day: the exporter's first).
  same_days(true);
  // The rest arrives later: the second pass stores again only the incidents of the series it touched (and of
  // the network series, whose silent tail grew).
  n += testing::ingest(*indexed.store, replay, half, replay.envelopes.size());
  REQUIRE(n == replay.envelopes.size());
  CHECK(exporter.export_pending() == n - half);
  CHECK(exporter.watermark() == n);
  CHECK(exporter.export_pending() == 0);  // nothing new

  // Sharded by probe key over the cluster: every shard holds part, together all of it.
  uint64_t total = 0;
  for (const auto& shard : cluster.url.shards) {
    const uint64_t here = cluster.count_on(shard, "SELECT count() FROM measurements_local");
    CHECK(here > 0);
    CHECK(here < n);
    total += here;
  }
  CHECK(total == n);
  CHECK(cluster.count_on(cluster.url.query, "SELECT uniqExact(uid) FROM measurements") == n);

  // The second pass counted again only the days its batches held: every day bin as SQLite's.
  same_days(true);
  const auto expected = indexed.index.incidents(q, IncidentOptions{});
  CHECK(expected.size() == replay.truth.size());
  CHECK(clickhouse.incidents(q, IncidentOptions{}) == expected);
  // Every series of the whole period answered from the incidents stored when the data arrived.
  CHECK(clickhouse.last_incident_paths().stored > 0);
  CHECK(clickhouse.last_incident_paths().searched == 0);
  CHECK(clickhouse.series_list(q) == indexed.index.series_list(q));
  CHECK(check_same_answers(indexed.index, clickhouse) == expected.size());
  later_window(true);
}

// From here on only ClickHouse's side changes: the PostgreSQL variant leaves these cases out (CMakeLists.txt).
TEST_CASE_FIXTURE(ReplayOnCluster, "ClickHouse's read paths and older schemas give SQLite's answers (January 2022)") {
  const size_t n = testing::ingest(*indexed.store, replay, 0, replay.envelopes.size());
  REQUIRE(n == replay.envelopes.size());
  REQUIRE(exporter.export_pending() == n);
  const auto expected = indexed.index.incidents(q, IncidentOptions{});
  REQUIRE(expected.size() == replay.truth.size());
  // The whole period's incidents and every answer equal SQLite's, from the stored incidents or from the search.
  auto same_answers = [&](bool from_stored) {
    CHECK(clickhouse.incidents(q, IncidentOptions{}) == expected);
    CHECK((clickhouse.last_incident_paths().stored > 0) == from_stored);
    later_window(from_stored);
    check_same_answers(indexed.index, clickhouse);
  };

  // Stored incidents behind the export (a pass that failed after its batch was recorded): not used, every series
  // searched, the same answers; the next pass brings every series up.
  analytics::clickhouse::Client(cluster.url.query, cluster.url.database)
      .execute(std::string("INSERT INTO ") + analytics::kExportProgress + " VALUES (" + std::to_string(n + 1) + ", now())");
  same_answers(false);
  CHECK(exporter.export_pending() == 0);
  CHECK(clickhouse.incidents(q, IncidentOptions{}) == expected);
  CHECK(clickhouse.last_incident_paths().stored > 0);
  // Other options than those stored with: searched.
  IncidentOptions stricter;
  stricter.min_vantage_points = 3;
  CHECK(clickhouse.incidents(q, stricter) == indexed.index.incidents(q, stricter));
  CHECK(clickhouse.last_incident_paths().stored == 0);

  // A batch sent again (a crash between a batch and its watermark) changes no answer.
  auto again = indexed.store->in_log_order(0, 5000, false);
  analytics::clickhouse::Client(cluster.url.query, cluster.url.database)
      .insert_json_rows(analytics::kMeasurements,
                        analytics::export_rows(again, [&](const std::string& k) -> std::optional<int64_t> {
                          auto key = indexed.store->find_key(k);
                          return key ? std::optional(key->first_seen_ms) : std::nullopt;
                        }));
  same_answers(true);

  same_days(true);

  // A day whose data changed after its count (another exporter's batch, marked exported, not yet counted) and a day
  // whose later count was cut short (started, never marked counted): both read from the states, the other days from
  // their counts, in the same answers. A pass counting the days that do not answer brings them back.
  {
    analytics::clickhouse::Client db(cluster.url.query, cluster.url.database);
    const int64_t day3 = bin_floor(q.from_ms, analytics::kDayMs) + 3 * analytics::kDayMs, day5 = day3 + 2 * analytics::kDayMs;
    db.execute(analytics::day_marks_insert_sql({day3}, analytics::DayMark::exported, n + 1, n + 1));
    db.execute(analytics::day_marks_insert_sql({day5}, analytics::DayMark::started, uint64_t{1} << 62, n));
    same_days(true);
    std::vector<TimelineSource::SeriesRequest> all;
    for (const auto& info : indexed.index.series_list(q)) all.push_back({info.key, q.from_ms, q.until_ms});
    clickhouse.series_many(all, analytics::kDayMs, "");
    CHECK(clickhouse.last_series_paths().read == 2 * all.size());
    check_same_answers(indexed.index, clickhouse);
    analytics::IncidentMaterializer counter(cluster.url, kDefaultBinMs, IncidentOptions{});
    CHECK(counter.count_days(std::nullopt, n + 1) == 2);
    clickhouse.series_many(all, analytics::kDayMs, "");
    CHECK(clickhouse.last_series_paths().read == 0);
    same_days(true);
  }

  // Both paths of a series read are exercised: at 1-day bins probes change state within a bin (mixed bins,
  // read from the states), at the base bin most bins are exact from the counts.
  analytics::clickhouse::Client query(cluster.url.query, cluster.url.database);
  for (const int64_t bin : {kDefaultBinMs, int64_t{24} * 3600 * 1000}) {
    std::vector<TimelineSource::SeriesRequest> all;
    std::vector<analytics::KeyRange> ranges;
    for (const auto& info : indexed.index.series_list(q)) {
      all.push_back({info.key, q.from_ms, q.until_ms});
      ranges.push_back({info.key, bin_floor(q.from_ms, bin), bin_ceil(q.until_ms, bin)});
    }
    const auto group = analytics::series_counts_from_rows(
        all, bin, query.select_tsv(analytics::bin_probes_sql(ranges, bin, ""), analytics::kCountColumns));
    size_t bins = 0;
    for (const auto& s : group.series) bins += s.bins.size();
    MESSAGE("bin ", bin, " ms: ", group.mixed.size(), " mixed bins of ", bins);
    CHECK(!group.mixed.empty());
    CHECK(group.mixed.size() < bins);
  }

  // The incident windows' read: a window per series over the whole period (blocked for the targets, any verdict
  // for the networks) gives SQLite's samples (ties at a probe's latest time: the next test case).
  {
    std::vector<TimelineSource::VantageRequest> windows;
    for (const auto& info : indexed.index.series_list(q))
      windows.push_back({info.key, q.from_ms, q.until_ms,
                         info.key.target == kNetworkTarget ? std::nullopt
                                                           : std::optional<std::string>(core::verdict::blocked)});
    analytics::VantageGroup group(windows);
    group.add_presence(query.select_tsv(analytics::vantage_presence_sql(windows, ""), analytics::kPresenceColumns));
    MESSAGE(group.mixed().size(), " probes' bins with two states at their latest time");
    group.add_states(query.select_tsv(group.states_sql(kDefaultBinMs, ""), analytics::kStateColumns));
    const auto samples = group.samples();
    auto ordered = [](std::vector<VantageSample> v) {
      std::vector<std::tuple<std::string, std::string, int>> out;
      for (auto& s : v) out.emplace_back(std::move(s.key_id), std::move(s.vantage), s.decisive);
      std::sort(out.begin(), out.end());
      return out;
    };
    size_t nonempty = 0;
    for (size_t k = 0; k < windows.size(); ++k) {
      CAPTURE(windows[k].key.target);
      const auto& w = windows[k];
      CHECK(ordered(samples[k]) == ordered(indexed.index.vantage_samples(w.key, w.from_ms, w.until_ms, w.verdict, "")));
      nonempty += !samples[k].empty();
    }
    CHECK(nonempty > 1);
  }

  // Every shard's database as if brought to `version` (its tables left as they are).
  auto set_schema_version = [&](int version) {
    for (const auto& shard : cluster.url.shards) {
      analytics::clickhouse::Client db(shard, cluster.url.database);
      db.execute(std::string("DROP TABLE ") + analytics::kSchemaVersionTable);
      db.execute(std::string("CREATE TABLE ") + analytics::kSchemaVersionTable +
                 " (version UInt32, upgraded_at DateTime) ENGINE = TinyLog");
      db.execute(std::string("INSERT INTO ") + analytics::kSchemaVersionTable + " VALUES (" + std::to_string(version) +
                 ", now())");
    }
  };
  // A database of schema 5 (no day counts): after the upgrade every day bin is read from the states, until the
  // first pass of the exporter started with it (a restart) counts every day.
  set_schema_version(5);
  for (const char* t : {analytics::kDayCounts, analytics::kDayMarks})
    analytics::clickhouse::Client(cluster.url.query, cluster.url.database).execute(std::string("DROP TABLE ") + t);
  analytics::create_schema(cluster.url, kDefaultBinMs);
  CHECK(cluster.count_on(cluster.url.query, "SELECT toUInt64(count()) FROM day_counts") == 0);
  same_days(false);
  same_answers(true);
  {
    analytics::Exporter restarted(*indexed.store, cluster.url);
    CHECK(restarted.export_pending() == 0);
  }
  CHECK(cluster.count_on(cluster.url.query, "SELECT toUInt64(count()) FROM day_counts") > 0);
  same_days(true);
  check_same_answers(indexed.index, clickhouse);

  // A database of schema 4 (stored incidents without network bins, their watermark in incidents_watermark): after
  // the upgrade nothing stored answers until the exporter's first pass, which stores runs and bins.
  set_schema_version(4);
  {
    analytics::clickhouse::Client db(cluster.url.query, cluster.url.database);
    for (const char* t : {analytics::kNetworkBins, analytics::kIncidentsWatermark})
      db.execute(std::string("DROP TABLE ") + t);
    db.execute(std::string("CREATE TABLE ") + analytics::kIncidentsWatermarkV4 +
               " (watermark UInt64, made_at UInt64) ENGINE = MergeTree ORDER BY watermark");
    db.execute(std::string("INSERT INTO ") + analytics::kIncidentsWatermarkV4 + " VALUES (" + std::to_string(n) + ", 1)");
  }
  analytics::create_schema(cluster.url, kDefaultBinMs);
  CHECK(cluster.count_on(cluster.url.query, "SELECT toUInt64(count()) FROM network_bins") == 0);
  same_answers(false);
  CHECK(exporter.export_pending() == 0);
  CHECK(cluster.count_on(cluster.url.query, "SELECT toUInt64(count()) FROM network_bins") > 0);
  same_answers(true);

  // A database of schema 1 (before bin_probes, verdict_days, probe_presence and the stored incidents): the next
  // start rebuilds those tables from measurements_local, and the answers stay the same.
  for (const auto& shard : cluster.url.shards) {
    analytics::clickhouse::Client db(shard, cluster.url.database);
    for (const char* t : {"bin_probes_targets", "bin_probes_targets_whole", "bin_probes_networks",
                          "bin_probes_networks_whole", "verdict_days_targets", "probe_presence_targets",
                          "probe_presence_networks", "bin_probes", "verdict_days", "probe_presence",
                          "bin_probes_local", "verdict_days_local", "probe_presence_local", "kuzet_schema"})
      db.execute(std::string("DROP TABLE ") + t);
  }
  for (const char* t : {analytics::kSeriesIncidents, analytics::kNetworkBins, analytics::kIncidentsWatermark})
    analytics::clickhouse::Client(cluster.url.query, cluster.url.database).execute(std::string("DROP TABLE ") + t);
  analytics::create_schema(cluster.url, kDefaultBinMs);
  CHECK(cluster.count_on(cluster.url.query, "SELECT toUInt64(count()) FROM bin_probes") > 0);
  CHECK(cluster.count_on(cluster.url.query, "SELECT toUInt64(count()) FROM probe_presence") > 0);
  // Upgraded, before the exporter's first pass: no stored incidents, every series searched.
  same_answers(false);
  // The first pass, with nothing new to send, stores every series' incidents.
  CHECK(exporter.export_pending() == 0);
  same_answers(true);
  // A schema newer than this Kuzet's is refused, not written to.
  analytics::clickhouse::Client(cluster.url.shards.back(), cluster.url.database)
      .execute(std::string("INSERT INTO ") + analytics::kSchemaVersionTable + " VALUES (" +
               std::to_string(analytics::kSchemaVersion + 1) + ", now())");
  CHECK_THROWS_WITH_AS(analytics::create_schema(cluster.url, kDefaultBinMs), doctest::Contains("newer than this Kuzet"),
                       std::runtime_error);
}

TEST_CASE("incident windows: a probe's latest state from its presence, a tie at its latest time from the uid") {
  TestCluster cluster;
  // One probe-bin per case, 10-min bins from 2022-01-03: k1 blocked then ok (latest: ok); k2 ok then blocked,
  // decisive (latest: blocked); k3 blocked and ok at the same millisecond (the uid orders them: "u3b", ok) and
  // k4 the same the other way round ("u4b", blocked); k5 blocked twice (one state). The network series: k1's
  // two rows differ in decisive only.
  const int64_t t0 = 1641168000000;
  struct Row {
    const char *uid, *key;
    int64_t at;
    const char *verdict, *tag;
    int decisive;
  };
  const std::vector<Row> rows = {{"u1a", "k1", t0 + 1000, "blocked", "v1", 1}, {"u1b", "k1", t0 + 2000, "ok", "v1", 0},
                                 {"u2a", "k2", t0 + 1000, "ok", "v2", 0},      {"u2b", "k2", t0 + 2000, "blocked", "v2", 1},
                                 {"u3a", "k3", t0 + 3000, "blocked", "v3", 1}, {"u3b", "k3", t0 + 3000, "ok", "v3", 0},
                                 {"u4b", "k4", t0 + 3000, "blocked", "v4", 0}, {"u4a", "k4", t0 + 3000, "ok", "v4", 0},
                                 {"u5a", "k5", t0 + 1000, "blocked", "v5", 1}, {"u5b", "k5", t0 + 4000, "blocked", "v5", 1}};
  std::string body;
  for (const auto& r : rows)
    body += nlohmann::json{{"uid", r.uid}, {"source", "kuzet"}, {"key_id", r.key}, {"started_at", r.at},
                           {"day", "2022-01-03"}, {"cc", "KZ"}, {"asn", 9198}, {"target", "a.com"},
                           {"category", "news"}, {"verdict", r.verdict}, {"method", ""}, {"vantage", r.tag},
                           {"decisive", r.decisive}}
                .dump() +
            "\n";
  analytics::clickhouse::Client(cluster.url.query, cluster.url.database)
      .insert_json_rows(analytics::kMeasurements, body);
  const std::vector<TimelineSource::VantageRequest> windows = {
      {{"KZ", 9198, "a.com"}, t0, t0 + kDefaultBinMs, std::string(core::verdict::blocked)},
      {{"KZ", 9198, "*"}, t0, t0 + kDefaultBinMs, std::nullopt}};
  analytics::clickhouse::Client query(cluster.url.query, cluster.url.database);
  analytics::VantageGroup group(windows);
  group.add_presence(query.select_tsv(analytics::vantage_presence_sql(windows, ""), analytics::kPresenceColumns));
  // The ties: k3 and k4 on the target; k3 on the network (its two states differ in decisive), not k4 (alike).
  CHECK(group.mixed() == std::vector<analytics::ProbeBin>{{{"KZ", 9198, "*"}, t0, "k3"},
                                                          {{"KZ", 9198, "a.com"}, t0, "k3"},
                                                          {{"KZ", 9198, "a.com"}, t0, "k4"}});
  analytics::ClickHouseTimelines clickhouse(cluster.url, kDefaultBinMs);
  const auto samples = clickhouse.vantage_samples_many(windows, "");
  REQUIRE(samples.size() == 2);
  std::map<std::string, std::pair<std::string, int>> blocked, network;
  for (const auto& v : samples[0]) blocked[v.key_id] = {v.vantage, v.decisive};
  for (const auto& v : samples[1]) network[v.key_id] = {v.vantage, v.decisive};
  CHECK(blocked == std::map<std::string, std::pair<std::string, int>>{{"k2", {"v2", 1}}, {"k4", {"v4", 0}}, {"k5", {"v5", 1}}});
  CHECK(network == std::map<std::string, std::pair<std::string, int>>{
                       {"k1", {"v1", 0}}, {"k2", {"v2", 1}}, {"k3", {"v3", 0}}, {"k4", {"v4", 0}}, {"k5", {"v5", 1}}});
}

TEST_CASE("an exporter killed mid-export goes on from its watermark: nothing lost, nothing doubled") {
  testing::TempDir dir;
  auto config = testing::test_config();
  config.probes = 12;
  config.days = 6;
  const Replay replay = generate_replay(config);
  testing::IndexedStore indexed(dir);
  // The last tenth arrives after the kill (below).
  const size_t later = replay.envelopes.size() - replay.envelopes.size() / 10;
  const size_t n = testing::ingest(*indexed.store, replay, 0, later);
  REQUIRE(n == later);
  TestCluster cluster;
  analytics::Exporter watcher(*indexed.store, cluster.url);

  // The real binary, in small batches, killed with SIGKILL once some batches are recorded.
  const std::vector<std::string> args = {"analytics-export", "--db",    indexed.db.location(), "--analytics",
                                         analytics::clickhouse::url_text(cluster.url), "--batch", "50"};
  int out = -1;
  const pid_t pid = collector::testing::spawn_process(KUZET_COLLECTOR_BINARY, args, &out);
  REQUIRE(pid > 0);
  uint64_t at_kill = 0;
  for (int i = 0; i < 3000 && at_kill < n / 4; ++i) {  // a quarter in: batches recorded, most still to go
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    at_kill = watcher.watermark();
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out);
  CHECK(WIFSIGNALED(status));
  const uint64_t recorded = watcher.watermark();
  MESSAGE("killed at log index ", recorded, " of ", n);
  CHECK(recorded > 0);
  CHECK(recorded < n);

  CHECK(watcher.export_pending() == n - recorded);  // goes on from the record, not from 0
  CHECK(watcher.watermark() == n);
  CHECK(cluster.count_on(cluster.url.query, "SELECT uniqExact(uid) FROM measurements") == n);
  for (const auto& shard : cluster.url.shards)
    analytics::clickhouse::Client(shard, cluster.url.database).execute("OPTIMIZE TABLE measurements_local FINAL");
  CHECK(cluster.count_on(cluster.url.query, "SELECT count() FROM measurements") == n);  // duplicates merged away
  analytics::ClickHouseTimelines clickhouse(cluster.url, kDefaultBinMs);
  check_same_answers(indexed.index, clickhouse);

  // Every day bin within the series' data from the day counts: the watcher's first pass counted every day the
  // killed exporter left uncounted (or half counted).
  auto day_paths = [&] {
    TimelineQuery all;
    std::vector<TimelineSource::SeriesRequest> requests;
    for (const auto& info : indexed.index.series_list(all))
      requests.push_back({info.key, info.first_bin_ms, info.last_bin_ms + kDefaultBinMs});
    CHECK(clickhouse.series_many(requests, analytics::kDayMs, "") ==
          indexed.index.series_many(requests, analytics::kDayMs, ""));
    return clickhouse.last_series_paths();
  };
  CHECK(day_paths().read == 0);
  CHECK(day_paths().from_days > 0);
  // More data within the default interval between counts: the days it touched are read from the states until a
  // count (here a new exporter's first pass), in the same answers.
  CHECK(testing::ingest(*indexed.store, replay, later, replay.envelopes.size()) == replay.envelopes.size() - later);
  CHECK(watcher.export_pending() == replay.envelopes.size() - later);
  CHECK(day_paths().read > 0);
  check_same_answers(indexed.index, clickhouse);
  analytics::Exporter restarted(*indexed.store, cluster.url);
  CHECK(restarted.export_pending() == 0);
  CHECK(day_paths().read == 0);
  check_same_answers(indexed.index, clickhouse);
}
