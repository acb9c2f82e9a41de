// The pure engine and incidents on hand-made inputs; the index against the engine over raw rows.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <thread>

#include <sqlite3.h>

#include "collector/timeline/api/api.hpp"
#include "collector/timeline/incidents.hpp"
#include "collector/timeline/api/query_params.hpp"
#include "collector/timeline/timeline.hpp"
#include "core/background_turn.hpp"
#include "tests/timeline/replay_fixture.hpp"

using namespace kuzet;
using namespace kuzet::timeline;
using namespace kuzet::timeline::api;
using namespace kuzet::replay;

namespace {

constexpr int64_t kT0 = 1641081600000;  // 2022-01-02T00:00:00Z
constexpr int64_t kBin = kDefaultBinMs;

Observation obs(const std::string& probe, int64_t t, const std::string& verdict, const std::string& method = "") {
  return {probe, t, "u" + std::to_string(t) + probe, verdict, method};
}

// A target series where `probes` probes report every bin; verdict chosen per bin by `f`.
Series make_series(int bins, int probes, const std::function<std::string(int bin, int probe)>& f) {
  std::vector<Observation> all;
  for (int b = 0; b < bins; ++b)
    for (int p = 0; p < probes; ++p) {
      auto v = f(b, p);
      if (!v.empty()) all.push_back(obs("p" + std::to_string(p), kT0 + b * kBin + 1000 * p, v, v == "blocked" ? "dns.nxdomain" : ""));
    }
  return build_series({"KZ", 9198, "example.org"}, all, kT0, kT0 + bins * kBin, kBin);
}

Series summaries_series(collector::Store& store, const SeriesKey& key, int64_t from, int64_t until, int64_t bin,
                        const std::string& source = "") {
  collector::SummaryQuery q;
  q.source = source;
  q.cc = key.cc;
  q.asn = key.asn;
  if (key.target != kNetworkTarget) q.target = key.target;
  std::vector<Observation> all;
  for (const auto& s : store.summaries(q)) {
    Observation o{s.key_id, s.started_at_ms, s.uid, s.verdict, s.method};
    all.push_back(key.target == kNetworkTarget ? network_observation(o) : o);
  }
  return build_series(key, all, from, until, bin);
}

// A stored row again as import-ooni stores it (source "ooni", one pseudonymous key per report, no vantage
// tag), under another uid and key and a millisecond later.
collector::NewMeasurement imported_copy(const collector::MeasurementSummary& m) {
  collector::NewMeasurement row;
  row.uid = "ooni-" + m.uid;
  row.source = collector::kSourceOoni;
  row.envelope = "{}";
  row.content_hash = row.uid;
  row.key_id = "ooni:" + m.key_id.substr(0, 12);
  row.started_at_ms = m.started_at_ms + 1;
  row.received_at_ms = m.received_at_ms;
  row.cc = m.cc;
  row.asn = m.asn;
  row.target = m.target;
  row.category = m.category;
  row.verdict = m.verdict;
  row.method = m.method;
  return row;
}

}  // namespace

TEST_CASE("bins: a probe counts once, with its latest measurement in the bin") {
  std::vector<Observation> in{obs("a", kT0 + 1000, "blocked", "dns.nxdomain"), obs("a", kT0 + 5000, "ok"),
                              obs("b", kT0 + 2000, "blocked", "tls.timeout"), obs("b", kT0 + kBin + 1, "ok")};
  auto s = build_series({"KZ", 1, "x"}, in, kT0, kT0 + 3 * kBin, kBin);
  REQUIRE(s.bins.size() == 3);
  CHECK(s.bins[0].probes == 2);
  CHECK(s.bins[0].counts == std::vector<VerdictCount>{{"blocked", "tls.timeout", 1}, {"ok", "", 1}});
  CHECK(s.bins[1].probes == 1);
  CHECK(s.bins[2].probes == 0);  // silence is a bin with no probes
  CHECK(s.bins[2].start_ms == kT0 + 2 * kBin);
}

TEST_CASE("bins: the same measurements in any order give the same series") {
  std::vector<Observation> in;
  std::mt19937 rng(7);
  for (int i = 0; i < 500; ++i)
    in.push_back(obs("p" + std::to_string(rng() % 9), kT0 + static_cast<int64_t>(rng() % (6 * kBin)),
                     rng() % 3 ? "ok" : "blocked"));
  in.push_back(obs("p1", kT0 + 10, "ok"));
  in.push_back({"p1", kT0 + 10, "u0", "blocked", ""});  // same time: the uid decides
  auto reference = build_series({"KZ", 1, "x"}, in, kT0, kT0 + 6 * kBin, kBin);
  for (int round = 0; round < 5; ++round) {
    std::shuffle(in.begin(), in.end(), rng);
    CHECK(build_series({"KZ", 1, "x"}, in, kT0, kT0 + 6 * kBin, kBin) == reference);
  }
}

TEST_CASE("bins: boundaries are multiples of the bin since the epoch") {
  CHECK(bin_floor(kT0 + 599999, kBin) == kT0);
  CHECK(bin_ceil(kT0 + 1, kBin) == kT0 + kBin);
  CHECK(bin_ceil(kT0, kBin) == kT0);
  CHECK(bin_floor(-1, kBin) == -kBin);
  auto s = build_series({"KZ", 1, "x"}, {}, kT0 + 5, kT0 + kBin + 5, kBin);
  CHECK(s.bins.size() == 2);
}

TEST_CASE("target incidents: open on the majority state, survive silence and one noisy bin") {
  // Bins 10..29 blocked, bin 15 one probe says ok (noise), bins 18..21 silent, then ok.
  auto s = make_series(60, 3, [](int b, int p) -> std::string {
    if (b >= 18 && b < 22) return "";
    if (b >= 10 && b < 30) return (b == 15 && p == 0) ? "ok" : "blocked";
    return "ok";
  });
  auto found = target_incidents(s, IncidentOptions{});
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == "blocked");
  CHECK(found[0].start_ms == kT0 + 10 * kBin);
  REQUIRE(found[0].end_ms);
  CHECK(*found[0].end_ms == kT0 + 30 * kBin);
  CHECK(found[0].probes == 3);
  CHECK(found[0].confidence > 0.8);
  CHECK(found[0].id == "KZ.9198.blocked.20220102T0140Z.example.org");
}

TEST_CASE("target incidents: one stray blocked result is noise; a block still going on is ongoing") {
  auto stray = make_series(40, 3, [](int b, int p) { return b == 7 && p == 1 ? "blocked" : "ok"; });
  CHECK(target_incidents(stray, IncidentOptions{}).empty());
  auto ongoing = make_series(40, 2, [](int b, int) { return b >= 30 ? "intercepted" : "ok"; });
  auto found = target_incidents(ongoing, IncidentOptions{});
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == "intercepted");
  CHECK_FALSE(found[0].end_ms.has_value());
  // Two clear bins close it: the end is the end of the last bin in the state.
  auto closed = make_series(40, 2, [](int b, int) { return b >= 30 && b < 37 ? "throttled" : "ok"; });
  found = target_incidents(closed, IncidentOptions{});
  REQUIRE(found.size() == 1);
  CHECK(*found[0].end_ms == kT0 + 37 * kBin);
}

TEST_CASE("shutdowns: online probes below half the baseline median, silence included") {
  IncidentOptions o;
  o.min_baseline_ms = 6 * kBin;
  const SeriesKey net{"KZ", 9198, kNetworkTarget};
  std::vector<Observation> all;
  for (int b = 0; b < 100; ++b)
    for (int p = 0; p < 6; ++p) {
      const bool cut = b >= 40 && b < 70;
      if (cut && p < 3) continue;  // half the probes fall silent
      all.push_back(network_observation(obs("p" + std::to_string(p), kT0 + b * kBin + p, cut ? "offline" : "ok")));
    }
  auto s = build_series(net, all, kT0, kT0 + 100 * kBin, kBin);
  auto found = shutdown_incidents(s, o);
  REQUIRE(found.size() == 1);
  CHECK(found[0].kind == "shutdown");
  CHECK(found[0].start_ms == kT0 + 40 * kBin);
  CHECK(*found[0].end_ms == kT0 + 70 * kBin);
  CHECK(found[0].probes == 6);
  CHECK(found[0].severity == doctest::Approx(300.0));
  CHECK(found[0].id == "KZ.9198.shutdown.20220102T0640Z");
  // Without enough history nothing is judged: the shutdown is seen from the first bin with history.
  o.min_baseline_ms = 50 * kBin;
  found = shutdown_incidents(s, o);
  REQUIRE(found.size() == 1);
  CHECK(found[0].start_ms == kT0 + 50 * kBin);
  o.min_baseline_ms = 80 * kBin;
  CHECK(shutdown_incidents(s, o).empty());
}

TEST_CASE("incident ids parse back; anything else is refused") {
  auto ref = parse_incident_id("KZ.9198.blocked.20220104T1430Z.web.whatsapp.com");
  REQUIRE(ref);
  CHECK(ref->key == SeriesKey{"KZ", 9198, "web.whatsapp.com"});
  CHECK(ref->kind == "blocked");
  CHECK(ref->start_ms == 1641306600000);
  auto net = parse_incident_id("KZ.9198.shutdown.20220105T1100Z");
  REQUIRE(net);
  CHECK(net->key.target == kNetworkTarget);
  for (const char* bad : {"", "KZ", "KZ.9198.blocked.20220104T1430Z", "KZ.x.blocked.20220104T1430Z.a",
                          "KZ.9198.eaten.20220104T1430Z.a", "KZ.9198.blocked.2022-01-04.a",
                          "KZ.99999999999.blocked.20220104T1430Z.a", "KZ.9198.shutdown.20220105T1100Z.a",
                          "KZ.9198.blocked.20221399T9999Z.a", "KZ.9198.blocked.02220104T1430Z.a",
                          "KZ.9198.blocked.2022 104T1430Z.a", "KZ.09198.blocked.20220104T1430Z.a"})
    CHECK_MESSAGE(!parse_incident_id(bad), bad);
}

TEST_CASE("CSV: one row per bin and state, no-data rows, quoted fields") {
  auto s = build_series({"KZ", 9198, "a,b"}, {obs("p", kT0 + 1, "blocked", "dns.nxdomain")}, kT0, kT0 + 2 * kBin, kBin);
  s.category = "news";
  auto csv = timeline_csv({s});
  CHECK(csv ==
        "cc,asn,target,category,bin_start,bin_seconds,probes,state,verdict,method,verdict_probes,share,as_name\n"
        "KZ,9198,\"a,b\",news,2022-01-02T00:00:00Z,600,1,blocked,blocked,dns.nxdomain,1,1.0000,\n"
        "KZ,9198,\"a,b\",news,2022-01-02T00:10:00Z,600,0,no_data,,,0,0,\n");
  auto j = series_to_json(s);
  CHECK(j["bins"][1]["state"] == "no_data");
  // The API's fast writer gives the same JSON, hostile strings included.
  std::vector<Observation> odd{obs("p", kT0 + 1, "ok"), obs("q", kT0 + 2, "bl\"ock\\ed\n", "m\u00e9thod"),
                               obs("r", kT0 + 3, "ok")};
  for (const auto& series : {s, build_series({"KZ", 1, "t\"x"}, odd, kT0, kT0 + 3 * kBin, kBin)}) {
    std::string fast;
    append_series_json(fast, series);
    CHECK(nlohmann::json::parse(fast) == series_to_json(series));
  }
  CHECK(j["bins"][0]["counts"][0]["share"] == 1.0);
}

TEST_CASE("index: maintained on ingest equals the engine over raw rows, in any arrival order, with late uploads") {
  testing::TempDir dir;
  auto config = testing::test_config();
  config.probes = 10;
  config.days = 6;  // 2..8 Jan: covers the blocking and the shutdown
  const Replay replay = generate_replay(config);
  const int64_t from = config.start_ms, until = config.start_ms + config.days * 86400000LL;

  // A: index first, then ingest in arrival order (late uploads arrive late). Half first, then the rest.
  const auto db_a = (dir.path / "a.db").string();
  auto store_a = collector::open_sqlite_store(db_a);
  TimelineIndex index_a(db_a);
  const size_t half = replay.envelopes.size() / 2;
  testing::ingest(*store_a, replay, 0, half);
  const SeriesKey whatsapp{"KZ", 9198, "web.whatsapp.com"}, net{"KZ", 9198, kNetworkTarget};
  auto partial = index_a.series(net, from, until, kBin);
  testing::ingest(*store_a, replay, half, replay.envelopes.size());
  testing::ingest(*store_a, replay, 0, replay.envelopes.size());  // duplicates change nothing
  CHECK_FALSE(index_a.series(net, from, until, kBin) == partial);  // the late half landed in old bins

  // B: ingest in reverse order with no index, then build the index from what is stored.
  const auto db_b = (dir.path / "b.db").string();
  auto store_b = collector::open_sqlite_store(db_b);
  Replay reversed = replay;
  std::reverse(reversed.envelopes.begin(), reversed.envelopes.end());
  std::reverse(reversed.sources.begin(), reversed.sources.end());
  testing::ingest(*store_b, reversed, 0, reversed.envelopes.size());
  TimelineIndex index_b(db_b);

  for (const auto& key : {whatsapp, net, SeriesKey{"KZ", 48716, "www.gov.kz"}}) {
    CAPTURE(key.target);
    // Every path: base aggregates, streamed base rows, coarse aggregates, streamed coarse rows.
    for (int64_t bin : {kBin, 2 * kBin, 6 * kBin, 144 * kBin}) {
      CAPTURE(bin);
      auto reference = summaries_series(*store_a, key, from, until, bin);
      CHECK(reference.bins.size() == static_cast<size_t>((until - from) / bin));
      CHECK(index_a.series(key, from, until, bin) == reference);
      CHECK(index_b.series(key, from, until, bin) == reference);
    }
  }
  TimelineQuery q;
  q.cc = "KZ";
  q.from_ms = from;
  q.until_ms = until;
  auto incidents_a = index_a.incidents(q, IncidentOptions{});
  CHECK(incidents_a == index_b.incidents(q, IncidentOptions{}));
  CHECK(incidents_a.size() >= 5);
  CHECK_THROWS_AS(index_a.series(net, from, until, 7 * kMinuteMs), std::invalid_argument);

  // Reopening with another base bin rebuilds the aggregates from the stored measurements.
  TimelineIndex hourly(db_b, 60 * kMinuteMs);
  CHECK(hourly.series(whatsapp, from, until, 60 * kMinuteMs) ==
        summaries_series(*store_a, whatsapp, from, until, 60 * kMinuteMs));
}

TEST_CASE("index: one source's series equals the engine over that source's rows; the sources add up") {
  testing::TempDir dir;
  auto config = testing::test_config();
  config.probes = 6;
  config.days = 4;
  const Replay replay = generate_replay(config);
  const int64_t from = config.start_ms, until = config.start_ms + config.days * 86400000LL;
  const auto db = (dir.path / "mixed.db").string();
  auto store = collector::open_sqlite_store(db);
  TimelineIndex index(db);
  testing::ingest(*store, replay, 0, replay.envelopes.size());
  // The Kuzet rows' summaries again as imported rows, so both sources fill the same series.
  std::vector<collector::NewMeasurement> imported;
  for (const auto& m : store->summaries({})) {
    if (m.started_at_ms % 3 == 0) continue;  // not the same rows as Kuzet's: a third left out
    if (m.target == "signal.org") continue;  // a series of Kuzet's alone
    collector::NewMeasurement row = imported_copy(m);
    row.verdict = m.verdict == "ok" ? "blocked" : m.verdict;  // the sources disagree
    row.method = m.verdict == "ok" ? "dns.bogon" : m.method;
    imported.push_back(row);
  }
  REQUIRE(!imported.empty());
  store->insert_batch(imported);

  const SeriesKey whatsapp{"KZ", 9198, "web.whatsapp.com"}, net{"KZ", 9198, kNetworkTarget};
  for (const auto& key : {whatsapp, net}) {
    CAPTURE(key.target);
    for (int64_t bin : {kBin, 2 * kBin, 6 * kBin, 144 * kBin}) {
      CAPTURE(bin);
      auto all = index.series(key, from, until, bin);
      CHECK(all == summaries_series(*store, key, from, until, bin));
      auto kuzet = index.series(key, from, until, bin, collector::kSourceKuzet);
      auto ooni = index.series(key, from, until, bin, collector::kSourceOoni);
      CHECK(kuzet == summaries_series(*store, key, from, until, bin, collector::kSourceKuzet));
      CHECK(ooni == summaries_series(*store, key, from, until, bin, collector::kSourceOoni));
      int kuzet_probes = 0, ooni_probes = 0;
      for (size_t i = 0; i < all.bins.size(); ++i) {
        CHECK(all.bins[i].probes == kuzet.bins[i].probes + ooni.bins[i].probes);
        kuzet_probes += kuzet.bins[i].probes, ooni_probes += ooni.bins[i].probes;
      }
      CHECK(kuzet_probes > 0);
      CHECK(ooni_probes > 0);
    }
  }
  // A series of one source only: its source's series reads the aggregates, and equals the engine's too.
  const SeriesKey signal{"KZ", 9198, "signal.org"};
  for (int64_t bin : {kBin, 2 * kBin, 6 * kBin, 144 * kBin}) {
    CAPTURE(bin);
    auto kuzet = index.series(signal, from, until, bin, collector::kSourceKuzet);
    CHECK(kuzet == summaries_series(*store, signal, from, until, bin, collector::kSourceKuzet));
    CHECK(kuzet == index.series(signal, from, until, bin));
    CHECK(std::any_of(kuzet.bins.begin(), kuzet.bins.end(), [](const Bin& b) { return b.probes > 0; }));
  }
  TimelineQuery q;
  q.cc = "KZ";
  q.asn = 9198;
  for (const char* source : {collector::kSourceKuzet, collector::kSourceOoni}) {
    q.source = source;
    auto series = index.series_list(q);
    CHECK(std::any_of(series.begin(), series.end(), [&](const SeriesInfo& s) { return s.key == whatsapp; }));
    CHECK(std::any_of(series.begin(), series.end(), [&](const SeriesInfo& s) { return s.key == signal; }) ==
          (q.source == collector::kSourceKuzet));
  }
  // The imported rows never confirm: they carry no vantage tag.
  q.source = collector::kSourceOoni;
  q.from_ms = from;
  q.until_ms = until;
  auto ooni_incidents = index.incidents(q, IncidentOptions{});
  CHECK(!ooni_incidents.empty());
  for (const auto& inc : ooni_incidents) {
    CHECK(inc.vantage_points == 0);
    CHECK_FALSE(inc.confirmed);
  }
}

namespace {
int64_t single_int(const std::string& db_path, const char* sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  int64_t value = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    value = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return value;
}
// 4 probes over 2 days: enough rows in every series for the index tests.
struct SmallReplay {
  ReplayConfig config = [] {
    auto c = testing::test_config();
    c.probes = 4;
    c.days = 2;
    return c;
  }();
  Replay replay = generate_replay(config);
  int64_t from = config.start_ms, until = config.start_ms + config.days * 86400000LL;
};
}  // namespace

TEST_CASE("index: the background indexer applies new measurements without a query; queries catch up first") {
  testing::TempDir dir;
  const SmallReplay small;
  const Replay& replay = small.replay;
  const int64_t from = small.from, until = small.until;
  const SeriesKey net{"KZ", 9198, kNetworkTarget};
  const char* indexed = "SELECT indexed_rowid FROM timeline_meta";
  const char* stored = "SELECT max(rowid) FROM measurements";

  const auto db_bg = (dir.path / "bg.db").string();
  auto store_bg = collector::open_sqlite_store(db_bg);
  TimelineIndex background(db_bg, kDefaultBinMs, std::chrono::milliseconds(20));
  testing::ingest(*store_bg, replay, 0, replay.envelopes.size());
  REQUIRE(single_int(db_bg, stored) > 0);
  bool caught_up = false;
  for (int i = 0; i < 500 && !caught_up; ++i) {
    caught_up = single_int(db_bg, indexed) == single_int(db_bg, stored);
    if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(caught_up);

  const auto db_q = (dir.path / "q.db").string();
  auto store_q = collector::open_sqlite_store(db_q);
  TimelineIndex on_query(db_q, kDefaultBinMs, std::chrono::milliseconds(0));
  testing::ingest(*store_q, replay, 0, replay.envelopes.size());
  CHECK(single_int(db_q, indexed) == 0);  // no thread: nothing applied yet
  auto series = on_query.series(net, from, until, kBin);
  CHECK(single_int(db_q, indexed) == single_int(db_q, stored));
  CHECK(series == summaries_series(*store_q, net, from, until, kBin));
  CHECK(background.series(net, from, until, kBin) == series);
}

TEST_CASE("index: background indexers wait for the process's turn; queries do not") {
  testing::TempDir dir;
  const SmallReplay small;
  const Replay& replay = small.replay;
  const size_t half = replay.envelopes.size() / 2;
  const auto store_path = (dir.path / "store.db").string();
  auto store = collector::open_sqlite_store(store_path);  // its place index: a round every second
  const auto index_path = (dir.path / "store.db.timelines").string();
  TimelineIndex fed(index_path, kDefaultBinMs, std::chrono::milliseconds(20), store.get());
  const auto places_path = store_path + ".places";
  const char* placed = "SELECT coalesce((SELECT value FROM place_meta WHERE key = 'next_rowid'), 1) - 1";
  const char* applied = "SELECT next_log_index FROM timeline_feed";
  const char* stored = "SELECT count(*) FROM measurements";
  {
    std::lock_guard turn(core::background_turn());
    REQUIRE(testing::ingest(*store, replay, 0, half) > 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // two rounds of one, a hundred of the other
    CHECK(single_int(places_path, placed) == 0);
    CHECK(single_int(index_path, applied) == 0);
  }
  bool caught_up = false;
  for (int i = 0; i < 1000 && !caught_up; ++i) {
    caught_up = single_int(places_path, placed) == single_int(store_path, stored) &&
                single_int(index_path, applied) == single_int(store_path, stored);
    if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(caught_up);

  std::lock_guard turn(core::background_turn());
  REQUIRE(testing::ingest(*store, replay, half, replay.envelopes.size()) > 0);
  const SeriesKey net{"KZ", 9198, kNetworkTarget};
  CHECK(fed.series(net, small.from, small.until, kBin) ==
        summaries_series(*store, net, small.from, small.until, kBin));
  CHECK(single_int(index_path, applied) == single_int(store_path, stored));
  collector::ListQuery page;
  page.filter.target = "web.whatsapp.com";
  page.filter.limit = 10;
  CHECK(store->list(page).size() == 10);
  CHECK(single_int(places_path, placed) == single_int(store_path, stored));
}

TEST_CASE("index: a database indexed by triggers (the earlier layout) is rebuilt") {
  testing::TempDir dir;
  const SmallReplay small;
  const Replay& replay = small.replay;
  const int64_t from = small.from, until = small.until;
  const auto db_path = (dir.path / "old.db").string();
  auto store = collector::open_sqlite_store(db_path);
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TABLE timeline_meta (base_bin_ms INTEGER NOT NULL);"
                       "INSERT INTO timeline_meta VALUES (600000);"
                       "CREATE TABLE timeline_probe_bins (x);"
                       "CREATE TRIGGER timeline_measurement_added AFTER INSERT ON measurements BEGIN "
                       "INSERT INTO timeline_probe_bins VALUES (1); END;",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  TimelineIndex index(db_path);
  CHECK(single_int(db_path, "SELECT count(*) FROM sqlite_master WHERE name = 'timeline_measurement_added'") == 0);
  testing::ingest(*store, replay, 0, replay.envelopes.size());
  const SeriesKey whatsapp{"KZ", 9198, "web.whatsapp.com"};
  CHECK(index.series(whatsapp, from, until, kBin) == summaries_series(*store, whatsapp, from, until, kBin));
}

TEST_CASE("index: an index kept inside the store is dropped once it has a file of its own") {
  testing::TempDir dir;
  const SmallReplay small;
  const Replay& replay = small.replay;
  const int64_t from = small.from, until = small.until;
  const auto db_path = (dir.path / "store.db").string();
  auto store = collector::open_sqlite_store(db_path);
  testing::ingest(*store, replay, 0, replay.envelopes.size());
  const char* index_entries = "SELECT count(*) FROM sqlite_master WHERE name LIKE 'timeline%'";
  const char* stored = "SELECT count(*) FROM measurements";
  const int64_t measurements = single_int(db_path, stored);
  REQUIRE(measurements > 0);
  { TimelineIndex inside(db_path); }  // the earlier default: the index's tables in the store's file
  REQUIRE(single_int(db_path, index_entries) > 0);

  TimelineIndex::drop_from(db_path);
  CHECK(single_int(db_path, index_entries) == 0);
  CHECK(single_int(db_path, stored) == measurements);  // the store's own tables are left alone
  TimelineIndex::drop_from(db_path);                    // nothing left to drop: no change, no error
  CHECK(single_int(db_path, stored) == measurements);

  // The index in its own file, fed from the store, answers as the one inside it did.
  TimelineIndex own((dir.path / "store.db.timelines").string(), kDefaultBinMs, std::chrono::seconds(1), store.get());
  CHECK(single_int(db_path, index_entries) == 0);
  const SeriesKey whatsapp{"KZ", 9198, "web.whatsapp.com"};
  CHECK(own.series(whatsapp, from, until, kBin) == summaries_series(*store, whatsapp, from, until, kBin));
}

// Probes counted over a series' bins: > 0 when it has data.
int probes_in(const Series& s) {
  int n = 0;
  for (const auto& bin : s.bins) n += bin.probes;
  return n;
}

// Runs SQL on a database file; whether it succeeded.
bool exec_on(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  bool ok = sqlite3_open(db_path.c_str(), &db) == SQLITE_OK &&
            sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK;
  sqlite3_close(db);
  return ok;
}

TEST_CASE("index in its own file: applies the feed without keeping a copy; a new bin applies it again") {
  testing::TempDir dir;
  const SmallReplay small;
  const Replay& replay = small.replay;
  const int64_t from = small.from, until = small.until;
  auto store = collector::open_sqlite_store((dir.path / "store.db").string());
  testing::ingest(*store, replay, 0, replay.envelopes.size() / 2);
  const auto index_path = (dir.path / "store.db.timelines").string();
  const SeriesKey whatsapp{"KZ", 9198, "web.whatsapp.com"};
  const SeriesKey net{"KZ", 9198, kNetworkTarget};
  {
    TimelineIndex own(index_path, kDefaultBinMs, std::chrono::milliseconds(0), store.get());
    testing::ingest(*store, replay, replay.envelopes.size() / 2, replay.envelopes.size());
    CHECK(own.series(whatsapp, from, until, kBin) == summaries_series(*store, whatsapp, from, until, kBin));
    CHECK(own.series(net, from, until, kBin) == summaries_series(*store, net, from, until, kBin));
  }
  CHECK(single_int(index_path, "SELECT count(*) FROM measurements") == 0);
  CHECK(single_int(index_path, "SELECT next_log_index FROM timeline_feed") == static_cast<int64_t>(store->log_head().size));

  // Another base bin rebuilds the aggregates: from the store, since the file keeps no copy.
  const int64_t twenty_minutes = 2 * kDefaultBinMs;
  TimelineIndex rebinned(index_path, twenty_minutes, std::chrono::milliseconds(0), store.get());
  CHECK(rebinned.series(whatsapp, from, until, twenty_minutes) ==
        summaries_series(*store, whatsapp, from, until, twenty_minutes));
  CHECK(probes_in(rebinned.series(whatsapp, from, until, twenty_minutes)) > 0);
}

TEST_CASE("index in its own file: a copy an earlier version left unapplied is applied once, then emptied") {
  testing::TempDir dir;
  const SmallReplay small;
  const Replay& replay = small.replay;
  const int64_t from = small.from, until = small.until;
  const auto store_path = (dir.path / "store.db").string();
  auto store = collector::open_sqlite_store(store_path);
  testing::ingest(*store, replay, 0, replay.envelopes.size());
  const auto index_path = (dir.path / "store.db.timelines").string();
  { TimelineIndex own(index_path, kDefaultBinMs, std::chrono::milliseconds(0), store.get()); }
  // The file as an earlier version left it: every summary copied (the feed's watermark at the end), none
  // applied yet.
  REQUIRE(exec_on(index_path, "ATTACH '" + store_path + "' AS s;"
                  "INSERT INTO measurements(uid, key_id, started_at, cc, asn, target, category, verdict, method, source,"
                  " vantage, network_check, decisive) SELECT uid, key_id, started_at, cc, asn, target, category, verdict,"
                  " method, source, vantage, network_check, decisive FROM s.measurements ORDER BY rowid;"
                  "DELETE FROM timeline_probe_bins; DELETE FROM timeline_bins; DELETE FROM timeline_probe_bins_coarse;"
                  "DELETE FROM timeline_bins_coarse; DELETE FROM timeline_series; DELETE FROM timeline_series_sources;"
                  "UPDATE timeline_meta SET indexed_rowid = 0;"));
  REQUIRE(single_int(index_path, "SELECT count(*) FROM measurements") > 0);

  TimelineIndex reopened(index_path, kDefaultBinMs, std::chrono::milliseconds(0), store.get());
  CHECK(single_int(index_path, "SELECT count(*) FROM measurements") == 0);
  CHECK(single_int(index_path, "SELECT indexed_rowid FROM timeline_meta") == 0);
  const SeriesKey whatsapp{"KZ", 9198, "web.whatsapp.com"};
  CHECK(probes_in(reopened.series(whatsapp, from, until, kBin)) > 0);
  CHECK(reopened.series(whatsapp, from, until, kBin) == summaries_series(*store, whatsapp, from, until, kBin));
}

namespace {
// Rows that one file's timeline table holds and the other's does not, both ways.
int64_t rows_differing(const std::string& db_path, const std::string& other_path, const std::string& table) {
  sqlite3* db = nullptr;
  int64_t differing = -1;
  if (sqlite3_open(db_path.c_str(), &db) == SQLITE_OK &&
      sqlite3_exec(db, ("ATTACH '" + other_path + "' AS other").c_str(), nullptr, nullptr, nullptr) == SQLITE_OK) {
    const std::string sql = "SELECT (SELECT count(*) FROM (SELECT * FROM main." + table + " EXCEPT SELECT * FROM other." +
                            table + ")) + (SELECT count(*) FROM (SELECT * FROM other." + table +
                            " EXCEPT SELECT * FROM main." + table + ")), (SELECT count(*) FROM main." + table + ")";
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_int64(st, 1) > 0)  // an empty table compares nothing
      differing = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return differing;
}
}  // namespace

// A fed batch applies only each probe's latest row per place and bin (latest_in_batch in index.cpp). Here
// probes measure every target several times per base bin, with many verdict changes, and the second half
// arrives newest first: the tables must be those that applying every row gives (the index kept inside the
// store, which does), and the series those of the engine over the raw rows.
TEST_CASE("index in its own file: a batch with many rows per probe and bin gives what every row applied gives") {
  testing::TempDir dir;
  ReplayConfig config = testing::test_config();
  config.probes = 4;
  config.start_ms = 1641254400000;  // 2022-01-04T00:00:00Z: the shutdown of 5 January inside
  config.days = 2;
  config.round_ms = 3 * kMinuteMs;  // each target ~3 times per base bin, ~20 times per coarse bin
  config.noise = 0.3;
  const Replay replay = generate_replay(config);
  const int64_t from = config.start_ms, until = config.start_ms + config.days * 86400000LL;
  Replay newest_first = replay;
  const size_t half = replay.envelopes.size() / 2;
  std::reverse(newest_first.envelopes.begin() + static_cast<std::ptrdiff_t>(half), newest_first.envelopes.end());
  std::reverse(newest_first.sources.begin() + static_cast<std::ptrdiff_t>(half), newest_first.sources.end());

  const auto store_path = (dir.path / "store.db").string();
  auto store = collector::open_sqlite_store(store_path);
  testing::ingest(*store, newest_first, 0, half);
  const auto fed_path = (dir.path / "store.db.timelines").string();
  TimelineIndex fed(fed_path, kDefaultBinMs, std::chrono::milliseconds(0), store.get());  // the first batch
  testing::ingest(*store, newest_first, half, newest_first.envelopes.size());
  // And rows of another source whose categories differ from the probes' (the series keep the bytewise
  // greatest): the extents the fed index aggregates itself must be those of the SQL over every row.
  std::vector<collector::NewMeasurement> imported;
  size_t n = 0;
  for (const auto& m : store->summaries({})) {
    if (++n % 5 != 0) continue;
    collector::NewMeasurement row = imported_copy(m);
    row.category = n % 2 ? "zz-imported" : "";
    imported.push_back(row);
  }
  REQUIRE(imported.size() > 10);
  store->insert_batch(imported);
  fed.catch_up();  // the second
  REQUIRE(single_int(fed_path, "SELECT next_log_index FROM timeline_feed") == static_cast<int64_t>(store->log_head().size));

  const auto copy_path = (dir.path / "copy.db").string();  // the same rows, indexed one by one from the table
  auto copy = collector::open_sqlite_store(copy_path);
  for (const auto& k : store->probe_keys()) copy->register_key(k);
  const size_t stored = replay.envelopes.size() + imported.size();
  REQUIRE(copy->insert_batch(store->in_log_order(0, stored, true)).size() == stored);
  { TimelineIndex inside(copy_path); }
  for (const char* table : {"timeline_probe_bins", "timeline_bins", "timeline_probe_bins_coarse", "timeline_bins_coarse",
                            "timeline_series", "timeline_series_sources"}) {
    CAPTURE(std::string(table));
    CHECK(rows_differing(fed_path, copy_path, table) == 0);
  }

  TimelineQuery all;
  all.from_ms = from;
  all.until_ms = until;
  const auto series = fed.series_list(all);
  CHECK(series.size() >= 6);
  for (const auto& info : series) {
    CAPTURE(info.key.asn);
    CAPTURE(info.key.target);
    for (int64_t bin : {kBin, 2 * kBin, 6 * kBin, 12 * kBin})
      CHECK(fed.series(info.key, from, until, bin) == summaries_series(*store, info.key, from, until, bin));
  }
}

TEST_CASE("CSV: cells from measurements that a spreadsheet would run are neutralised") {
  Series s{{"KZ", 9198, "=cmd|' /C calc'!A0"}, "+sum(1)", kBin, {}, "=AS name"};
  s.bins.push_back({kT0, 1, {{"-2+3", "@SUM(A1)", 1}}});
  const std::string csv = timeline_csv({s});
  CHECK(csv.find(",\"'=cmd|' /C calc'!A0\",\"'+sum(1)\",") != std::string::npos);
  CHECK(csv.find(",\"'-2+3\",\"'@SUM(A1)\",") != std::string::npos);
  Incident inc;
  inc.kind = "blocked";
  inc.key = {"KZ", 9198, "\tx"};
  inc.category = "\rnews";
  inc.id = incident_id(inc.key, inc.kind, kT0);
  const std::string icsv = incidents_csv({inc});
  CHECK(icsv.find(",\"'\tx\",\"'\rnews\",") != std::string::npos);
  // Every cell: none starts with a formula character once parsed (quotes stripped).
  for (const std::string& text : {csv, icsv})
    for (size_t at = 0; at < text.size(); ++at) {
      if (at > 0 && text[at - 1] != ',' && text[at - 1] != '\n') continue;
      size_t cell = text[at] == '"' ? at + 1 : at;
      CHECK(std::string_view("=+-@\t\r").find(text[cell]) == std::string_view::npos);
    }
}

TEST_CASE("query parameters: defaults from the data, strict values, incident filters") {
  const QueryLimits limits{10 * kMinuteMs, 2000, 7 * 24 * 60 * kMinuteMs};
  const int64_t now = 1767225600000;            // 2026-01-01
  const int64_t data_end = 1641600000000;       // 2022-01-08
  auto end_of_data = [&](const TimelineQuery&) { return data_end; };
  auto parse = [&](collector::query::Params p, const std::vector<std::string_view>& allowed = kTimelineParams) {
    return parse_query(p, end_of_data, limits, now, allowed);
  };

  SUBCASE("no dates: the week before the data ends, not before the clock") {
    auto pq = parse({{"cc", "kz"}, {"asn", "AS9198"}});
    REQUIRE(pq.error.empty());
    CHECK(pq.query.cc == "KZ");
    CHECK(pq.query.asn == 9198u);
    CHECK(pq.query.until_ms == data_end);
    CHECK(pq.query.from_ms == data_end - limits.default_period_ms);
    CHECK(pq.query.bin_ms == limits.base_bin_ms);
  }
  SUBCASE("no data: the week before now") {
    auto pq = parse_query({}, [](const TimelineQuery&) { return int64_t{0}; }, limits, now, kTimelineParams);
    REQUIRE(pq.error.empty());
    CHECK(pq.query.until_ms == now);
  }
  SUBCASE("bins: units, multiples of the base bin, a year at most, no overflow") {
    CHECK(parse_bin("600") == 600000);
    CHECK(parse_bin("1h") == 3600000);
    CHECK(parse_bin("366d") == 366LL * 24 * 3600 * 1000);
    CHECK_FALSE(parse_bin("367d"));
    CHECK_FALSE(parse_bin("9999999999999999999d"));
    CHECK_FALSE(parse_bin("0"));
    CHECK_FALSE(parse_bin("-1h"));
    CHECK(parse({{"bin", "7m"}}).error == "bin must be a multiple of 600 seconds");
    CHECK(parse({{"bin", "1h"}}).query.bin_ms == 3600000);
    CHECK(parse({{"from", "1970-01-01"}, {"until", "2199-12-31"}}).error.find("too many bins") == 0);
  }
  SUBCASE("bad values and names are named") {
    CHECK(parse({{"cc", "KAZ"}}).error.find("cc must be") == 0);
    CHECK(parse({{"asn", "-1"}}).error.find("asn must be") == 0);
    CHECK(parse({{"from", "2022-01-09"}, {"until", "2022-01-08"}}).error == "until must be after from");
    CHECK(parse({{"format", "xml"}}).error == "format must be json or csv");
    CHECK(parse({{"source", "ooni"}}).query.source == "ooni");
    CHECK(parse({{"source", "kuzet"}}, kIncidentParams).query.source == "kuzet");
    CHECK(parse({{"source", "all"}}).query.source == "");
    CHECK(parse({}).query.source == "");
    for (const char* bad : {"", "OONI", "both", "kuzet,ooni"})
      CHECK(parse({{"source", bad}}).error == "source must be kuzet, ooni or all");
    CHECK_FALSE(parse({{"kind", "blocked"}}).error.empty());  // not a timeline parameter
  }
  SUBCASE("incidents: kind and confirmed") {
    auto pq = parse({{"kind", "shutdown"}, {"confirmed", "false"}}, kIncidentParams);
    REQUIRE(pq.error.empty());
    CHECK(pq.kind == "shutdown");
    CHECK(pq.confirmed == false);
    CHECK(parse({{"kind", "dns"}}, kIncidentParams).error.find("kind must be") == 0);
    CHECK(parse({{"confirmed", "yes"}}, kIncidentParams).error == "confirmed must be true or false");
    CHECK_FALSE(parse({}, kIncidentParams).confirmed.has_value());
  }
}
