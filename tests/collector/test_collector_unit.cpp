// Unit tests of the collector's pure parts and its store: no network.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include "collector/network/address.hpp"
#include "collector/network/asn_db.hpp"
#include "collector/http/source.hpp"
#include "collector/http/framing.hpp"
#include "collector/http/token_buckets.hpp"
#include "collector/ingest/ingest.hpp"
#include "collector/options.hpp"
#include "collector/store/migrate.hpp"
#include "collector/store/sqlite/sqlite_util.hpp"
#include "collector/store/store.hpp"
#include "collector/store/sqlite/wal_checkpointer.hpp"
#include "i18n/embedded_collector.hpp"
#include "i18n/i18n.hpp"
#include "collector/ingest/upload.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/i18n_parity.hpp"
#include "tests/collector/support/test_db.hpp"
#include "tlog/note.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

using namespace kuzet;
using namespace kuzet::collector;
using namespace kuzet::collector::ingest;
using namespace kuzet::collector::network;
using namespace kuzet::collector::testing;

TEST_CASE("is_bogon: private, special and public addresses") {
  for (const char* ip : {"10.1.2.3", "127.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "100.64.0.1",
                         "100.127.255.255", "169.254.1.1", "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255",
                         "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1", "::", "::1", "fc00::1", "fd12::1",
                         "fe80::1", "ff02::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "2001:db8::1", "64:ff9b::a00:1",
                         "2002:a00:1::1", "3fff::1"})
    CHECK_MESSAGE(is_bogon(std::string(ip)), ip);
  for (const char* ip : {"8.8.8.8", "93.184.216.34", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::1",
                         "::ffff:8.8.8.8", "2001:4860::8888", "64:ff9b::808:808"})
    CHECK_MESSAGE(!is_bogon(std::string(ip)), ip);
  CHECK_FALSE(is_bogon(std::string("example.org")));
  CHECK_FALSE(is_bogon(std::string("")));
}

TEST_CASE("iptoasn TSV: IPv4 and IPv6 ranges, unknown gives asn 0") {
  auto db = TsvAsnDatabase::parse(
      "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
      "2.60.0.0\t2.63.255.255\t9198\tKZ\tKAZTELECOM-AS\n"
      "5.0.0.0\t5.0.0.255\t0\tNone\tNot routed\n"
      "2a00:1450::\t2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE\n");
  CHECK(db->size() == 3);
  auto kz = db->lookup("2.61.1.1");
  CHECK(kz.asn == 9198);
  CHECK(kz.cc == "KZ");
  CHECK(kz.as_name == "KAZTELECOM-AS");
  CHECK(db->lookup("2.60.0.0").asn == 9198);
  CHECK(db->lookup("2.63.255.255").asn == 9198);
  CHECK(db->lookup("2.64.0.0").asn == 0);
  CHECK(db->lookup("5.0.0.1").asn == 0);  // "Not routed"
  CHECK(db->lookup("0.1.1.1").asn == 0);
  CHECK(db->lookup("::ffff:1.0.0.9").asn == 13335);
  CHECK(db->lookup("2a00:1450:4001::5").asn == 15169);
  CHECK(db->lookup("2a01::1").asn == 0);
  CHECK(db->lookup("not an ip").asn == 0);
  // Names by AS number, for the read API and dashboard; "Not routed" and unknown numbers have none.
  CHECK(db->as_name(9198) == "KAZTELECOM-AS");
  CHECK(db->as_name(15169) == "GOOGLE");
  CHECK(db->as_name(0) == "");
  CHECK(db->as_name(48503) == "");
  CHECK_THROWS(TsvAsnDatabase::parse("1.0.0.0\tbogus\t1\tUS\tX\n"));
  CHECK_THROWS(TsvAsnDatabase::parse("1.0.0.9\t1.0.0.1\t1\tUS\tX\n"));
  CHECK_THROWS(load_asn_database("/nonexistent/asn.tsv"));
  CHECK_THROWS(load_asn_database("/nonexistent/asn.mmdb"));
}

TEST_CASE("MaxMind DB (.mmdb): GeoLite2-ASN fields, IPv4 and IPv6, country when present") {
  // tests/collector/data/test-asn.mmdb is written by make_test_mmdb.py in the same directory.
  auto db = load_asn_database(KUZET_COLLECTOR_TEST_DATA "/test-asn.mmdb");
  auto kz = db->lookup("2.61.1.1");
  CHECK(kz.asn == 9198);
  CHECK(kz.as_name == "JSC Kazakhtelecom");
  CHECK(kz.cc == "");
  CHECK(db->lookup("2.63.255.255").asn == 9198);
  CHECK(db->lookup("2.64.0.0").asn == 0);
  auto tele2 = db->lookup("5.34.200.1");
  CHECK(tele2.asn == 48503);
  CHECK(tele2.cc == "KZ");
  CHECK(db->lookup("2a00:1450:4001::1").asn == 15169);
  CHECK(db->lookup("2a01::1").asn == 0);
  CHECK(db->lookup("8.8.8.8").asn == 0);
  CHECK(db->lookup("garbage").asn == 0);
  // Names by AS number: every network of the file, found by walking its search tree once.
  CHECK(db->as_name(9198) == "JSC Kazakhtelecom");
  CHECK(db->as_name(48503) == "Tele2 Kazakhstan");
  CHECK(db->as_name(15169) == "GOOGLE");
  CHECK(db->as_name(13335) == "");
}

namespace {
NewMeasurement row(const std::string& uid, int64_t started, const std::string& cc = "KZ", uint32_t asn = 9198,
                   const std::string& target = "a.example") {
  NewMeasurement m;
  m.uid = uid;
  m.envelope = "{\"uid\":\"" + uid + "\"}";
  m.content_hash = core::sha256_hex(m.envelope);
  m.key_id = "k1";
  m.started_at_ms = started;
  m.received_at_ms = started + 5;
  m.cc = cc;
  m.asn = asn;
  m.target = target;
  m.category = "news";
  m.verdict = "ok";
  return m;
}
}  // namespace

TEST_CASE("store: migrations from an old schema and reopening keep data") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  const auto db = test_db.location();
  {
    auto v1 = open_store(db, 1);
    CHECK(v1->schema_version() == 1);
    CHECK(v1->insert_batch({row("u1", 1000)})[0].inserted);
  }
  {
    auto latest = open_store(db);
    CHECK(latest->schema_version() == latest_schema_version());
    CHECK(latest_schema_version() >= 2);
    CHECK(latest->envelope("u1").has_value());
    // The row stored before the log existed got its entry when the log came (migration 3).
    CHECK(latest->log_index("u1") == 0u);
  }
  if (test_db.postgres()) {
    // The migrations ran once each; several processes opening at once wait for one to apply them.
    auto count = pg::Connection(db).exec("SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_version");
    CHECK(count.integer(0, 0) == latest_schema_version());
    CHECK(count.integer(0, 1) == latest_schema_version());
    std::vector<std::thread> openers;
    for (int i = 0; i < 4; ++i) openers.emplace_back([&db] { CHECK(open_store(db)->schema_version() == latest_schema_version()); });
    for (auto& t : openers) t.join();
    CHECK_THROWS(open_store("postgresql://postgres@127.0.0.1:1/none"));
    return;
  }
  // The migrations ran once each, and the WAL/synchronous settings hold on every connection.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_version", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == latest_schema_version());
  CHECK(sqlite3_column_int(st, 1) == latest_schema_version());
  sqlite3_finalize(st);
  REQUIRE(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
  sqlite3_finalize(st);
  // A country's list pages (the shape SqliteStore::list builds for ?cc=&from=&until= after a cursor) read an
  // index in order: no sort of every matching row per page.
  const char* page =
      "EXPLAIN QUERY PLAN SELECT uid FROM measurements WHERE cc = 'KZ' AND started_at >= 1 AND started_at < 9"
      " AND (started_at > 1 OR (started_at = 1 AND uid > 'u')) ORDER BY started_at, uid LIMIT 1000";
  REQUIRE(sqlite3_prepare_v2(raw, page, -1, &st, nullptr) == SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))) + "\n";
  sqlite3_finalize(st);
  CHECK_MESSAGE(plan.find("TEMP B-TREE") == std::string::npos, plan);
  CHECK_MESSAGE(plan.find("measurements_cc_time") != std::string::npos, plan);
  sqlite3_close(raw);
  CHECK_THROWS(open_store(dir.file("missing-dir/x/c.db")));
}

TEST_CASE("store: idempotent inserts, keys, summaries and list paging") {
  TempDir dir;
  TestDb db(dir.file("c.db"));
  auto store = open_store(db.location());
  CHECK(store->register_key({"k1", "pk1", 1}));
  CHECK_FALSE(store->register_key({"k1", "pk1", 2}));
  REQUIRE(store->find_key("k1"));
  CHECK(store->find_key("k1")->first_seen_ms == 1);
  CHECK_FALSE(store->find_key("k2"));

  auto r = store->insert_batch({row("u2", 2000), row("u1", 1000), row("u1", 1000), row("u3", 3000, "KZ", 48503),
                                row("u4", 2000, "RU", 12389, "b.example")});
  REQUIRE(r.size() == 5);
  CHECK(r[0].inserted);
  CHECK(r[1].inserted);
  CHECK_FALSE(r[2].inserted);  // same uid earlier in the same batch
  CHECK(r[2].existing_hash == core::sha256_hex("{\"uid\":\"u1\"}"));
  CHECK(r[3].inserted);
  auto again = store->insert_batch({row("u1", 1000)});
  CHECK_FALSE(again[0].inserted);
  CHECK(again[0].existing_envelope == "{\"uid\":\"u1\"}");
  CHECK(store->measurement_count() == 4);

  auto all = store->summaries({});
  REQUIRE(all.size() == 4);
  CHECK(all[0].uid == "u1");
  CHECK(all[1].uid == "u2");  // (2000, "u2") before (2000, "u4")
  CHECK(all[2].uid == "u4");
  CHECK(all[3].uid == "u3");
  CHECK(all[0].received_at_ms == 1005);
  CHECK(all[0].key_id == "k1");
  CHECK(all[0].category == "news");

  SummaryQuery kz;
  kz.cc = "KZ";
  kz.asn = 9198;
  CHECK(store->summaries(kz).size() == 2);
  SummaryQuery range;
  range.from_ms = 2000;
  range.until_ms = 3000;
  CHECK(store->summaries(range).size() == 2);
  SummaryQuery target;
  target.target = "b.example";
  REQUIRE(store->summaries(target).size() == 1);
  CHECK(store->summaries(target)[0].asn == 12389);

  ListQuery page;
  page.filter.limit = 2;
  auto p1 = store->list(page);
  REQUIRE(p1.size() == 2);
  page.after = p1.back().position;
  auto p2 = store->list(page);
  REQUIRE(p2.size() == 2);
  CHECK(p2[0].position.uid == "u4");
  CHECK(p2[1].position.uid == "u3");
  page.after = p2.back().position;
  CHECK(store->list(page).empty());
}

namespace {
// What list() must return for `q`: `rows` filtered and ordered by (started_at, uid), after the cursor.
std::vector<std::string> expected_page(const std::vector<NewMeasurement>& rows, const ListQuery& q) {
  std::vector<const NewMeasurement*> kept;
  for (const auto& r : rows) {
    const auto& f = q.filter;
    if ((!f.cc.empty() && r.cc != f.cc) || (f.asn && r.asn != *f.asn) || (!f.target.empty() && r.target != f.target) ||
        (!f.verdict.empty() && r.verdict != f.verdict) || (f.from_ms && r.started_at_ms < *f.from_ms) ||
        (f.until_ms && r.started_at_ms >= *f.until_ms))
      continue;
    if (q.after && std::pair(r.started_at_ms, r.uid) <= std::pair(q.after->started_at_ms, q.after->uid)) continue;
    kept.push_back(&r);
  }
  std::sort(kept.begin(), kept.end(), [](auto* a, auto* b) {
    return std::pair(a->started_at_ms, a->uid) < std::pair(b->started_at_ms, b->uid);
  });
  std::vector<std::string> uids;
  for (auto* r : kept)
    if (uids.size() < q.filter.limit) uids.push_back(r->uid);
  return uids;
}

// Every page of `filter` (page size 7), checked against expected_page; the number of rows listed.
size_t check_all_pages(Store& store, const std::vector<NewMeasurement>& rows, SummaryQuery filter) {
  ListQuery q;
  q.filter = filter;
  q.filter.limit = 7;
  size_t listed = 0;
  for (int pages = 0; pages < 1000; ++pages) {
    std::vector<std::string> got;
    for (const auto& m : store.list(q)) got.push_back(m.summary.uid);
    REQUIRE(got == expected_page(rows, q));
    listed += got.size();
    if (got.size() < q.filter.limit) break;
    q.after = ListPosition{0, got.back()};
    for (const auto& r : rows)
      if (r.uid == got.back()) q.after->started_at_ms = r.started_at_ms;
  }
  return listed;
}

int64_t sqlite_int(const std::string& db_path, const std::string& sql) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db_path.c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return v;
}
}  // namespace

TEST_CASE("store: a target's list pages (the SQLite place index) are every matching row, in order, at once") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  auto store = open_store(test_db.location());
  std::vector<NewMeasurement> rows;
  std::mt19937 random(7);
  const char* targets[] = {"a.example", "b.example", "c.example"};
  const char* verdicts[] = {"ok", "dns_blocking", "tls_interference"};
  auto add_rows = [&](int count) {
    std::vector<NewMeasurement> batch;
    for (int i = 0; i < count; ++i) {
      // Few distinct times, so that ties are ordered by uid.
      auto m = row("u" + std::to_string(rows.size() + batch.size()), 1000 * static_cast<int64_t>(random() % 40),
                   random() % 2 ? "KZ" : "RU", random() % 2 ? 9198 : 48503, targets[random() % 3]);
      m.verdict = verdicts[random() % 3];
      batch.push_back(m);
    }
    for (const auto& r : store->insert_batch(batch)) REQUIRE(r.inserted);
    rows.insert(rows.end(), batch.begin(), batch.end());
  };
  auto check_filters = [&] {
    size_t listed = 0;
    for (const char* target : targets) {
      SummaryQuery f;
      f.target = target;
      listed += check_all_pages(*store, rows, f);
      f.cc = "KZ";
      check_all_pages(*store, rows, f);
      f.asn = 9198;  // the whole place
      check_all_pages(*store, rows, f);
      f.from_ms = 10000;
      f.until_ms = 30000;
      check_all_pages(*store, rows, f);
      f.verdict = "dns_blocking";
      check_all_pages(*store, rows, f);
      SummaryQuery by_asn;
      by_asn.target = target;
      by_asn.asn = 48503;
      check_all_pages(*store, rows, by_asn);
    }
    CHECK(listed == rows.size());
  };
  add_rows(2300);  // more than one read piece of the index's catch-up
  check_filters();
  // Rows stored just before a query are in its answer (the index catches up first).
  add_rows(40);
  check_filters();
  if (test_db.postgres()) return;

  const std::string db = test_db.location(), places = db + ".places";
  // The list above read the index: it holds every row, and a row taken out of it goes missing from the list.
  CHECK(sqlite_int(places, "SELECT value FROM place_meta WHERE key = 'next_rowid'") ==
        sqlite_int(db, "SELECT max(rowid) + 1 FROM measurements"));
  CHECK(sqlite_int(places, "SELECT count(*) FROM by_target") == static_cast<int64_t>(rows.size()));
  CHECK(sqlite_int(places, "SELECT count(*) FROM by_place") == static_cast<int64_t>(rows.size()));
  const std::string taken = rows.front().uid;
  CHECK(sqlite_int(places, "DELETE FROM by_target WHERE uid = '" + taken + "' RETURNING 1") == 1);
  SummaryQuery f;
  f.target = rows.front().target;
  f.limit = 1000;
  auto listed = store->list({f, std::nullopt});
  CHECK(std::none_of(listed.begin(), listed.end(), [&](const auto& m) { return m.summary.uid == taken; }));
  // The table itself carries no place-keyed index any more (migration 7); the index's pages are read in order.
  CHECK(sqlite_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN ('measurements_target', 'measurements_place')") == 0);
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, ("ATTACH DATABASE '" + places + "' AS places").c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  for (const char* table : {"by_target", "by_place"}) {
    const std::string place = std::string(table) == "by_place" ? "p.cc = 'KZ' AND p.asn = 9198 AND " : "";
    const std::string sql = "EXPLAIN QUERY PLAN SELECT m.uid, m.envelope FROM places." + std::string(table) +
                            " p CROSS JOIN measurements m WHERE " + place +
                            "p.target = 'a.example' AND p.started_at >= 1 AND m.rowid = p.rid AND m.uid = p.uid"
                            " AND m.verdict = 'ok' AND (p.started_at > 1 OR (p.started_at = 1 AND p.uid > 'u'))"
                            " ORDER BY p.started_at, p.uid LIMIT 1000";
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(raw, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string plan;
    while (sqlite3_step(st) == SQLITE_ROW) plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))) + "\n";
    sqlite3_finalize(st);
    CHECK_MESSAGE(plan.find("TEMP B-TREE") == std::string::npos, plan);
    CHECK_MESSAGE(plan.find("SEARCH p USING PRIMARY KEY") != std::string::npos, plan);
  }
  sqlite3_close(raw);
  store.reset();

  // The file is derived data. Deleted, it is rebuilt; left over from another database at the same path, it is
  // thrown away rather than believed.
  std::filesystem::remove(places);
  store = open_store(db);
  check_filters();
  store.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  store = open_store(db);
  rows.clear();
  add_rows(120);
  check_filters();
  CHECK(sqlite_int(places, "SELECT count(*) FROM by_target") == 120);
  store.reset();
  // An index that cannot be opened (here a directory in its place) leaves the table to answer, as completely.
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(places + suffix);
  std::filesystem::create_directory(places);
  store = open_store(db);
  add_rows(30);
  check_filters();
}

TEST_CASE("store: in_log_order reads long ranges whole and in order (in pieces of its own), and stops at the log's end") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  auto store = open_store(test_db.location());
  std::vector<NewMeasurement> rows;
  for (int i = 0; i < 4500; ++i) rows.push_back(row("u" + std::to_string(100000 + i), 1000 + i));
  for (size_t i = 0; i < rows.size(); i += 1000)
    store->insert_batch(std::vector<NewMeasurement>(rows.begin() + static_cast<long>(i),
                                                    rows.begin() + static_cast<long>(std::min(rows.size(), i + 1000))));
  auto check_range = [&](uint64_t begin, size_t limit, size_t expected) {
    auto got = store->in_log_order(begin, limit, begin == 0);
    REQUIRE(got.size() == expected);
    for (size_t i = 0; i < got.size(); ++i) REQUIRE(got[i].uid == rows[begin + i].uid);
    if (begin == 0) CHECK(got.back().envelope == rows[expected - 1].envelope);
  };
  check_range(0, 5000, 4500);     // past the end: everything
  check_range(1000, 2500, 2500);  // across two pieces
  check_range(1999, 2, 2);
  check_range(4400, 1000, 100);
  check_range(4500, 10, 0);
}

TEST_CASE("store: concurrent batches (group commit): each uid stored and logged once, results per batch") {
  TempDir dir;
  TestDb db(dir.file("c.db"));
  auto store = open_store(db.location());
  REQUIRE(store->register_key({"k1", "pk1", 1}));
  // 8 threads, 20 batches each of 25 rows; consecutive threads share half their uids, so a uid is often
  // written by two batches at once, in one group or in two.
  constexpr int kThreads = 8, kBatches = 20, kRows = 25;
  std::vector<std::vector<std::vector<InsertResult>>> results(kThreads);
  std::vector<std::vector<std::vector<NewMeasurement>>> sent(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    for (int b = 0; b < kBatches; ++b) {
      std::vector<NewMeasurement> batch;
      for (int r = 0; r < kRows; ++r) {
        const int n = (t / 2) * kBatches * kRows + b * kRows + r;  // threads 2k and 2k+1 send the same uids
        NewMeasurement m = row("g" + std::to_string(n), 1000 + n);
        if (t % 2 == 1 && r == 0) {  // and one of each pair's shared uids with other bytes: a conflict
          m.envelope = "{\"uid\":\"" + m.uid + "\",\"other\":1}";
          m.content_hash = core::sha256_hex(m.envelope);
        }
        batch.push_back(std::move(m));
      }
      sent[t].push_back(std::move(batch));
    }
    threads.emplace_back([&, t] {
      for (const auto& batch : sent[t]) results[t].push_back(store->insert_batch(batch));
    });
  }
  for (auto& th : threads) th.join();

  const size_t distinct = kThreads / 2 * kBatches * kRows;
  CHECK(store->measurement_count() == distinct);
  CHECK(store->log_head().size == distinct);
  std::map<std::string, int> inserted;
  std::set<uint64_t> indexes;
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(results[t].size() == static_cast<size_t>(kBatches));
    for (int b = 0; b < kBatches; ++b) {
      REQUIRE(results[t][b].size() == static_cast<size_t>(kRows));
      for (int r = 0; r < kRows; ++r) {
        const auto& got = results[t][b][r];
        const auto& m = sent[t][b][r];
        REQUIRE(got.log_index.has_value());
        CHECK(store->log_index(m.uid) == got.log_index);  // new or existing: the uid's one entry
        if (got.inserted) {
          ++inserted[m.uid];
          indexes.insert(*got.log_index);
          CHECK(store->envelope(m.uid) == m.envelope);
        } else {
          // Stored by the other batch: its bytes and hash come back, whichever of the two was first.
          CHECK(got.existing_envelope == *store->envelope(m.uid));
          CHECK(got.existing_hash == core::sha256_hex(got.existing_envelope));
        }
      }
    }
  }
  CHECK(inserted.size() == distinct);
  for (const auto& [uid, times] : inserted) CHECK_MESSAGE(times == 1, uid);
  CHECK(indexes.size() == distinct);
  CHECK(*indexes.rbegin() == distinct - 1);
}

TEST_CASE("WalCheckpointer: the thread checkpoints after the writer's commits; the writer itself when far behind") {
  TempDir dir;
  const std::string path = dir.file("w.db");
  auto open = [&] {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite::exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL");
    return db;
  };
  sqlite3* writer = open();
  sqlite::exec(writer, "CREATE TABLE t (b BLOB NOT NULL)");
  const std::string blob(200 * 1024, 'x');  // ~50 pages a commit
  auto commit_some = [&](int commits) {
    for (int i = 0; i < commits; ++i) {
      sqlite::Statement ins(writer, "INSERT INTO t(b) VALUES(?)");
      ins.bind_blob(1, blob.data(), blob.size());
      ins.step();
    }
  };
  {
    // The thread is never asked (threshold out of reach): past 100 pages the writer checkpoints itself, so
    // the log's file stays near that size although 30 commits write ~6 MB.
    sqlite::WalCheckpointer checkpoints(writer, open(), 1 << 30, 100);
    commit_some(30);
    CHECK(checkpoints.writer_checkpoints() > 0);
    CHECK(checkpoints.background_checkpoints() == 0);
    CHECK(std::filesystem::file_size(path + "-wal") < 2u * 1024 * 1024);
  }
  {
    // From 20 pages the thread is asked; it runs on its own connection while the writer goes on.
    sqlite::WalCheckpointer checkpoints(writer, open(), 20, 1 << 30);
    commit_some(10);
    // Waiting for a thread, not timing it: the deadline only keeps a broken build from hanging.
    for (int i = 0; i < 600 && checkpoints.background_checkpoints() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(checkpoints.background_checkpoints() > 0);
    CHECK(checkpoints.writer_checkpoints() == 0);
  }
  {
    // A reader holds an old snapshot, so the thread's checkpoints copy only part of the log. It then syncs
    // the database itself: SQLite syncs only after a complete copy, and under steady uploads that is the
    // writer's, which would otherwise flush every page copied since the last one inside an upload's commit.
    commit_some(2);
    sqlite3* reader = open();
    sqlite::exec(reader, "BEGIN");
    {
      sqlite::Statement snapshot(reader, "SELECT count(*) FROM t");
      REQUIRE(snapshot.step());
      sqlite::WalCheckpointer checkpoints(writer, open(), 20, 1 << 30);
      commit_some(10);
      for (int i = 0; i < 600 && checkpoints.background_syncs() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      CHECK(checkpoints.background_syncs() > 0);
    }
    sqlite::exec(reader, "COMMIT");
    sqlite3_close(reader);
  }
  sqlite::Statement count(writer, "SELECT count(*) FROM t");
  REQUIRE(count.step());
  CHECK(count.int_at(0) == 52);
}

TEST_CASE("store: SQLite commits are durable in the log before any checkpoint; the last close checkpoints") {
  if (testing_postgres()) return;  // SQLite's write-ahead log only
  TempDir dir;
  const std::string path = dir.file("c.db");
  auto store = open_sqlite_store(path);
  REQUIRE(store->register_key({"k1", "pk1", 1}));
  const std::string padding(3000, 'x');
  for (int b = 0; b < 20; ++b) {  // ~6 MB: past the checkpoint threshold
    std::vector<NewMeasurement> batch;
    for (int r = 0; r < 100; ++r) {
      NewMeasurement m = row("w" + std::to_string(b * 100 + r), 1000 + b * 100 + r);
      m.envelope = "{\"uid\":\"" + m.uid + "\",\"padding\":\"" + padding + "\"}";
      m.content_hash = core::sha256_hex(m.envelope);
      batch.push_back(std::move(m));
    }
    for (const auto& result : store->insert_batch(batch)) REQUIRE(result.inserted);
  }
  // Another connection sees every committed row, checkpointed or not.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  {
    sqlite::Statement count(raw, "SELECT count(*) FROM measurements");
    REQUIRE(count.step());
    CHECK(count.int_at(0) == 2000);
  }
  sqlite3_close(raw);
  store.reset();
  CHECK_FALSE(std::filesystem::exists(path + "-wal"));  // the last connection checkpointed and removed it
  auto again = open_sqlite_store(path);
  CHECK(again->measurement_count() == 2000);
  CHECK(again->log_head().size == 2000);
}

TEST_CASE("split_upload_body: exact envelope bytes, malformed and oversized bodies") {
  auto ok = split_upload_body(R"( {"x": [1,{"a":"]"}], "measurements" : [ {"a": "b\"}"} , {"c":[1,2]} ] } )", 10);
  REQUIRE(ok.error.empty());
  REQUIRE(ok.envelopes.size() == 2);
  CHECK(ok.envelopes[0] == R"({"a": "b\"}"})");
  CHECK(ok.envelopes[1] == R"({"c":[1,2]})");
  CHECK(split_upload_body(R"({"measurements":[]})", 10).envelopes.empty());
  CHECK(split_upload_body(R"({"measurements":[]})", 10).error.empty());
  // A quote after an odd run of backslashes is inside the string; after an even run (or none) it ends it.
  auto runs = split_upload_body(R"({"measurements":[{"a":"\\"},{"b":"x\\\"]}\\\\"},{"c":"\"}"}]})", 10);
  REQUIRE_MESSAGE(runs.error.empty(), runs.detail);
  REQUIRE(runs.envelopes.size() == 3);
  CHECK(runs.envelopes[0] == R"({"a":"\\"})");
  CHECK(runs.envelopes[1] == R"({"b":"x\\\"]}\\\\"})");
  CHECK(runs.envelopes[2] == R"({"c":"\"}"})");
  CHECK(split_upload_body(R"({"measurements":[{"a":"\\\"}]})", 10).error == "malformed");
  for (const char* bad : {"", "[]", "{", "not json", R"({"measurements":{}})", R"({"other":1})",
                          R"({"measurements":[1,]})", R"({"measurements":[{"a":1}]} trailing)",
                          R"({"measurements":[{"a":1]})", R"({"measurements":[], "measurements":[]})",
                          R"({"x": tru, "measurements":[]})", R"({"measurements":[{"a":"unterminated}]})"})
    CHECK_MESSAGE(split_upload_body(bad, 10).error == "malformed", bad);
  std::string deep = R"({"measurements":[)" + std::string(10000, '[') + std::string(10000, ']') + "]}";
  CHECK(split_upload_body(deep, 10).error == "malformed");
  auto big = split_upload_body(R"({"measurements":[{},{},{}]})", 2);
  CHECK(big.error == "too_large");
}

TEST_CASE("check_envelope: each rejection reason") {
  auto key = core::generate_ed25519();
  auto other = core::generate_ed25519();
  const std::string kid = core::key_id(key.public_key);
  CheckOptions opt;
  opt.now_ms = core::to_unix_ms(std::chrono::system_clock::now());
  int64_t registered_ms = opt.now_ms;
  opt.key_registered_ms = [&](const std::string& id) -> std::optional<int64_t> {
    if (id != kid) return std::nullopt;
    return registered_ms;
  };

  MeasurementSpec spec;
  spec.uid = "20220105T103000Z_0123456789abcdef";
  auto good = signed_envelope(spec, key);
  auto c = check_envelope(good, opt);
  CHECK(c.reason == "");
  CHECK(c.row.uid == spec.uid);
  CHECK(c.row.envelope == good);
  CHECK(c.row.cc == "KZ");
  CHECK(c.row.asn == 9198);
  CHECK(c.row.target == "www.example.org");
  CHECK(c.row.verdict == "blocked");
  CHECK(c.row.method == "tls.timeout");
  CHECK(c.row.key_id == kid);
  CHECK(c.row.started_at_ms == core::to_unix_ms(*core::parse_rfc3339(spec.started_at)));

  CHECK(check_envelope(signed_envelope(spec, other), opt).reason == "unknown_key");

  auto altered = nlohmann::json::parse(good);
  altered["measurement"]["verdict"] = "ok";
  CHECK(check_envelope(altered.dump(), opt).reason == "bad_signature");

  auto forged = nlohmann::json::parse(good);
  forged["signature"] = core::base64_encode(std::string(64, 'x'));
  CHECK(check_envelope(forged.dump(), opt).reason == "bad_signature");

  MeasurementSpec future = spec;
  future.started_at = now_plus(std::chrono::minutes(11));
  CHECK(check_envelope(signed_envelope(future, key), opt).reason == "future_timestamp");
  future.started_at = now_plus(std::chrono::minutes(9));
  CHECK(check_envelope(signed_envelope(future, key), opt).reason == "");

  // Backdating: a key may date measurements up to 30 days before it was first registered (a shutdown's
  // queued results), not earlier; an old key keeps its old results acceptable.
  MeasurementSpec old = spec;
  old.started_at = now_plus(-std::chrono::hours(24 * 30) + std::chrono::minutes(1));
  CHECK(check_envelope(signed_envelope(old, key), opt).reason == "");
  old.started_at = now_plus(-std::chrono::hours(24 * 30) - std::chrono::minutes(1));
  CHECK(check_envelope(signed_envelope(old, key), opt).reason == "backdated");
  old.started_at = "2022-01-05T10:30:00.000Z";  // issue 10: fresh keys made a 2022 "ongoing" incident
  CHECK(check_envelope(signed_envelope(old, key), opt).reason == "backdated");
  registered_ms = core::to_unix_ms(*core::parse_rfc3339("2022-01-20T00:00:00Z"));
  CHECK(check_envelope(signed_envelope(old, key), opt).reason == "");
  registered_ms = opt.now_ms;
  // Outside 1970-2199 a time is malformed: 2300 used to wrap to 1715, 1500 was "in the future".
  for (const char* when : {"2300-01-01T00:00:00Z", "1500-01-01T00:00:00Z"}) {
    old.started_at = when;
    CHECK(check_envelope(signed_envelope(old, key), opt).reason == "malformed");
  }

  MeasurementSpec bad_uid = spec;
  bad_uid.uid = "has spaces/slash";
  CHECK(check_envelope(signed_envelope(bad_uid, key), opt).reason == "malformed");
  MeasurementSpec bad_time = spec;
  bad_time.started_at = "yesterday";
  CHECK(check_envelope(signed_envelope(bad_time, key), opt).reason == "malformed");
  // A series' names never hold control characters (they become incident ids, header and CSV lines); other
  // text, any script, is theirs to hold.
  for (const char* target : {"a\r\nX-Injected: 1", "tab\there", "del\x7f"}) {
    MeasurementSpec bad_target = spec;
    bad_target.target = target;
    CHECK(check_envelope(signed_envelope(bad_target, key), opt).reason == "malformed");
  }
  MeasurementSpec unicode_target = spec;
  unicode_target.target = "https://\u049b\u0430\u0437\u0430\u049b.example/\u0436\u0430\u04a3\u0430\u043b\u044b\u049b";
  CHECK(check_envelope(signed_envelope(unicode_target, key), opt).reason == "");
  // "*" is the network series' own name; "**" or "*.kz" are only odd names.
  for (const auto& [target, expected] : {std::pair{"*", "malformed"}, {"**", ""}, {"*.kz", ""}}) {
    CAPTURE(target);
    MeasurementSpec starred = spec;
    starred.target = target;
    CHECK(check_envelope(signed_envelope(starred, key), opt).reason == expected);
  }

  auto no_key = nlohmann::json::parse(good);
  no_key.erase("public_key");
  CHECK(check_envelope(no_key.dump(), opt).reason == "malformed");
  auto asn_text = nlohmann::json::parse(good);
  asn_text["measurement"]["network"]["asn"] = "9198";
  CHECK(check_envelope(asn_text.dump(), opt).reason == "malformed");
  CHECK(check_envelope("[1,2]", opt).reason == "malformed");
  auto not_json = check_envelope("{nope", opt);
  CHECK(not_json.reason == "malformed");
  CHECK(not_json.not_json);
}

TEST_CASE("check_envelope: the batch and network members read without nlohmann decide as the DOM path") {
  auto key = core::generate_ed25519();
  CheckOptions opt;
  opt.now_ms = core::to_unix_ms(std::chrono::system_clock::now());
  MeasurementSpec spec;
  spec.uid = "20220105T103000Z_0123456789abcdef";
  // The plain forms (unescaped strings, small unsigned integers, literals, nesting) and those it leaves to
  // nlohmann (escapes, signs, fractions, exponents); each signed, so only the network
  // member decides, and sent compact and with whitespace everywhere.
  const std::vector<std::pair<nlohmann::json, std::string>> networks = {
      {{{"cc", "KZ"}, {"asn", 9198}}, ""},
      {{{"cc", "KZ"}, {"asn", 0}, {"extra", {nullptr, true, false, {{"a", {1, 2}}}, nlohmann::json::array()}}}, ""},
      {{{"cc", "KZ"}, {"asn", 4294967295u}, {"as_name", "K\\Z\u00e9"}}, ""},
      {{{"cc", ""}, {"asn", 9198}}, ""},  // unknown
      {{{"cc", "K\\Z\u00e9"}, {"asn", 9198}}, "malformed"},  // a country code is two capitals, nothing else
      {{{"cc", "kz"}, {"asn", 9198}}, "malformed"},
      {{{"cc", "KAZ"}, {"asn", 9198}}, "malformed"},
      {{{"cc", "Kazakhstan"}, {"asn", 9198}}, "malformed"},
      {{{"cc", "KZ"}, {"asn", 4294967296u}}, "malformed"},
      {{{"cc", "KZ"}, {"asn", -1}}, "malformed"},
      {{{"cc", "KZ"}, {"asn", 9198.0}}, "malformed"},
      {{{"cc", "KZ"}, {"asn", 1e3}}, "malformed"},
      {{{"cc", 7}, {"asn", 9198}}, "malformed"},
      {{{"cc", "KZ"}, {"asn", nullptr}}, ""},
      {{{"cc", "K\nZ"}, {"asn", 9198}}, "malformed"},  // a control character, escaped or not
      {{{"cc", "KZ\u007f"}, {"asn", 9198}}, "malformed"},
      {nlohmann::json::array({"KZ", 9198}), "malformed"},
      {nullptr, ""},
  };
  for (const auto& [network, expected] : networks) {
    auto m = make_measurement(spec);
    m["network"] = network;
    const auto env = envelope::sign(m, key);
    for (const std::string& raw : {env.dump(), env.dump(2)}) {
      CAPTURE(raw.substr(raw.find("\"network\"")).substr(0, 120));
      const auto fast = check_envelope(raw, opt);
      const auto dom = check_envelope_with_dom(raw, opt);
      CHECK(fast.reason == expected);
      CHECK(fast.reason == dom.reason);
      CHECK(fast.row.cc == dom.row.cc);
      CHECK(fast.row.asn == dom.row.asn);
    }
  }
  // Batch-signed envelopes (the batch member: scheme, indexes, audit path, signature), compact and spaced;
  // a batch member whose index is negative or fractional is malformed either way.
  std::vector<nlohmann::json> part;
  for (int i = 0; i < 5; ++i) {
    spec.uid = "20220105T103000Z_012345678900000" + std::to_string(i);
    part.push_back(make_measurement(spec));
  }
  for (auto env : envelope::sign_batch(part, key)) {
    for (const std::string& raw : {env.dump(), env.dump(2)}) {
      CHECK(check_envelope(raw, opt).reason == "");
      CHECK(check_envelope_with_dom(raw, opt).reason == "");
    }
    for (const nlohmann::json& index : {nlohmann::json(-1), nlohmann::json(1.5), nlohmann::json("1")}) {
      auto bad = env;
      bad["batch"]["leaf_index"] = index;
      CHECK(check_envelope(bad.dump(), opt).reason == check_envelope_with_dom(bad.dump(), opt).reason);
      CHECK(check_envelope(bad.dump(), opt).reason != "");
    }
  }
}

// The store's commit must not wait out the timeline indexer's whole catch-up: a writer that asks while the
// gate is held gets it before the holder takes it again.
TEST_CASE("sqlite write gate: first come, first served, one gate per file") {
  TempDir dir;
  const std::string path = dir.file("gate.db");
  { std::ofstream(path) << ""; }
  auto& gate = sqlite::write_gate(path);
  CHECK(&gate == &sqlite::write_gate(dir.file("./gate.db")));  // the same file, another spelling
  CHECK(&gate != &sqlite::write_gate(dir.file("other.db")));
  std::vector<std::string> order;
  gate.lock();
  std::thread waiter([&] {
    std::lock_guard held(gate);
    order.push_back("waiter");
  });
  for (int i = 0; i < 5000 && gate.queued() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(gate.queued() == 2);
  gate.unlock();
  {
    std::lock_guard again(gate);  // the holder's next transaction, at once
    order.push_back("holder");
  }
  waiter.join();
  CHECK(order == std::vector<std::string>{"waiter", "holder"});
  CHECK(gate.queued() == 0);
}

// The phase timings cost system calls on every envelope: only the benchmark asks for them.
TEST_CASE("ingest: phase timings only when asked") {
  TempDir dir;
  TestDb db(dir.file("c.db"));
  auto store = open_store(db.location());
  auto key = core::generate_ed25519();
  store->register_key({core::key_id(key.public_key), core::base64_encode(key.public_key), 0});
  std::vector<std::string> envs;
  for (int i = 0; i < 40; ++i) {
    MeasurementSpec s;
    s.uid = "t" + std::to_string(i);
    envs.push_back(signed_envelope(s, key));
  }
  Metrics metrics;
  Ingestor quiet(*store, metrics, IngestOptions{});
  CHECK(quiet.ingest_body(upload_body({envs.begin(), envs.begin() + 20})).http_status == 200);
  const auto none = quiet.timings();
  CHECK(none.parse_ms == 0);
  CHECK(none.verify_ms == 0);
  CHECK(none.store_ms == 0);
  IngestOptions timed;
  timed.phase_timings = true;
  Ingestor measured(*store, metrics, timed);
  CHECK(measured.ingest_body(upload_body({envs.begin() + 20, envs.end()})).http_status == 200);
  const auto some = measured.timings();
  CHECK(some.parse_ms > 0);
  CHECK(some.verify_ms > 0);
  CHECK(some.store_ms > 0);
  CHECK(metrics.stored == 40);
}

TEST_CASE("ingest: statuses, duplicates by content, conflicts, answer JSON") {
  TempDir dir;
  TestDb db(dir.file("c.db"));
  auto store = open_store(db.location());
  Metrics metrics;
  Ingestor ingestor(*store, metrics, IngestOptions{});
  auto key = core::generate_ed25519();
  store->register_key({core::key_id(key.public_key), core::base64_encode(key.public_key), 0});

  std::vector<std::string> envs;
  for (int i = 0; i < 40; ++i) {
    MeasurementSpec s;
    s.uid = "u" + std::to_string(i);
    envs.push_back(signed_envelope(s, key));
  }
  auto first = ingestor.ingest_body(upload_body(envs));
  CHECK(first.http_status == 200);
  REQUIRE(first.items.size() == 40);
  for (const auto& item : first.items) CHECK(item.status == ItemStatus::stored);
  CHECK(metrics.stored == 40);

  // The same measurement re-serialized with other whitespace is still a duplicate.
  auto pretty = nlohmann::json::parse(envs[0]).dump(2);
  auto again = ingestor.ingest_body(upload_body({envs[1], pretty}));
  CHECK(again.http_status == 200);
  CHECK(again.items[0].status == ItemStatus::duplicate);
  CHECK(again.items[1].status == ItemStatus::duplicate);
  CHECK(store->envelope("u0") == envs[0]);

  MeasurementSpec changed;
  changed.uid = "u0";
  changed.verdict = "ok";
  auto conflict = ingestor.ingest_body(upload_body({signed_envelope(changed, key)}));
  CHECK(conflict.http_status == 409);
  CHECK(conflict.error == "conflict");
  CHECK(conflict.items[0].reason == "conflict");

  MeasurementSpec fresh;
  fresh.uid = "new";
  auto mixed = ingestor.ingest_body(upload_body({signed_envelope(fresh, key), signed_envelope(changed, key), "{}"}));
  CHECK(mixed.http_status == 207);
  CHECK(mixed.items[0].status == ItemStatus::stored);
  CHECK(mixed.items[1].status == ItemStatus::rejected);
  CHECK(mixed.items[2].reason == "malformed");
  auto answer = nlohmann::json::parse(upload_answer_json(mixed));
  CHECK(answer["results"].size() == 3);
  CHECK(answer["results"][0]["measurement_uid"] == "new");
  CHECK(answer["results"][0]["status"] == "stored");
  CHECK(answer["results"][1]["reason"] == "conflict");
  CHECK(answer["stored"] == 1);
  CHECK(answer["rejected"] == 2);
  CHECK(metrics.rejected_count(Rejection::conflict) == 2);
  CHECK(metrics.rejected_count(Rejection::malformed) == 1);

  CHECK(ingestor.ingest_body("{\"measurements\": [{\"a\": tru}]}").http_status == 400);
  CHECK(store->measurement_count() == 41);
}

// The answer is written straight; these are the bytes a DOM of the same answer dumps (nlohmann sorts keys).
TEST_CASE("upload_answer_json: the bytes of the answer's DOM, strings escaped") {
  auto by_dom = [](const UploadOutcome& o) {
    nlohmann::json results = nlohmann::json::array();
    size_t counts[3] = {0, 0, 0};
    const char* names[3] = {"stored", "duplicate", "rejected"};
    for (const auto& item : o.items) {
      const bool rejected = item.status == ItemStatus::rejected;
      nlohmann::json j{{"measurement_uid", item.measurement_uid},
                       {"status", names[static_cast<int>(item.status)]},
                       {"reason", rejected ? item.reason : ""}};
      if (item.log_index && !rejected) j["index"] = *item.log_index;
      results.push_back(j);
      counts[static_cast<int>(item.status)]++;
    }
    nlohmann::json body = nlohmann::json::object();
    if (o.error.empty() || !o.items.empty())
      body = {{"results", results}, {"stored", counts[0]}, {"duplicate", counts[1]}, {"rejected", counts[2]}};
    if (!o.error.empty()) body["error"] = o.error, body["detail"] = o.detail;
    return body.dump();
  };
  UploadOutcome mixed;
  mixed.items.resize(4);
  mixed.items[0] = {"plain", ItemStatus::stored, "", 7};
  mixed.items[1] = {"q\"uo\\te\x01\x1f\x7f/\xC3\xA9\xF0\x9F\x98\x80", ItemStatus::duplicate, "", 18446744073709551615ull};
  mixed.items[2] = {"", ItemStatus::rejected, "malformed", 3};  // a rejected item's index is not shown
  mixed.items[3] = {"no-index", ItemStatus::stored, "", std::nullopt};
  UploadOutcome refused;
  refused.http_status = 413;
  refused.error = "too_large";
  refused.detail = "more than 1000 \"measurements\"";
  UploadOutcome all_rejected = refused;
  all_rejected.items = {{"x", ItemStatus::rejected, "bad_signature", std::nullopt}};
  for (const auto& outcome : {mixed, refused, all_rejected, UploadOutcome{}}) {
    const std::string written = upload_answer_json(outcome);
    CHECK(written == by_dom(outcome));
    CHECK(nlohmann::json::parse(written).dump() == written);
  }
}

TEST_CASE("command line: typed options and usage errors") {
  const char* serve[] = {"kuzet-collector", "serve", "--listen", "127.0.0.1:8080", "--db", "x.db",
                         "--allow-private-targets", "--control-concurrency", "4", "--resolver", "127.0.0.1:5353"};
  auto cl = parse_command_line(11, serve);
  CHECK(cl.command == Command::serve);
  CHECK(cl.serve.listen_host == "127.0.0.1");
  CHECK(cl.serve.port == 8080);
  CHECK(cl.serve.allow_private_targets);
  CHECK(cl.serve.control_concurrency == 4);
  const char* v6[] = {"kuzet-collector", "serve", "--listen", "[::1]:0", "--db", "x.db"};
  CHECK(parse_command_line(6, v6).serve.listen_host == "::1");
  const char* no_db[] = {"kuzet-collector", "serve", "--listen", "127.0.0.1:1"};
  CHECK_THROWS_AS(parse_command_line(4, no_db), UsageError);
  const char* bad_port[] = {"kuzet-collector", "serve", "--listen", "127.0.0.1:99999", "--db", "x"};
  CHECK_THROWS_AS(parse_command_line(6, bad_port), UsageError);
  const char* bad_opt[] = {"kuzet-collector", "serve", "--bogus"};
  CHECK_THROWS_AS(parse_command_line(3, bad_opt), UsageError);
  const char* proxies[] = {"kuzet-collector", "serve", "--listen", "127.0.0.1:1", "--db", "x", "--trusted-proxy",
                           "127.0.0.1", "--trusted-proxy", "::1", "--max-connections-per-source", "4"};
  auto pc = parse_command_line(12, proxies);
  CHECK(pc.serve.trusted_proxies == std::vector<std::string>{"127.0.0.1", "::1"});
  CHECK(pc.serve.max_connections_per_source == 4);
  const char* bad_proxy[] = {"kuzet-collector", "serve", "--listen", "127.0.0.1:1", "--db", "x", "--trusted-proxy",
                             "proxy.example"};
  CHECK_THROWS_AS(parse_command_line(8, bad_proxy), UsageError);
  const char* imp[] = {"kuzet-collector", "import", "--db", "x.db", "in.jsonl"};
  auto ic = parse_command_line(5, imp);
  CHECK(ic.command == Command::import);
  CHECK(ic.import.file == "in.jsonl");
}

TEST_CASE("i18n/collector: ru and kk have exactly the English keys, each translated, with its placeholders and options") {
  CHECK(kuzet::testing::i18n_marks("--db {path} --no-pdf {x} {") ==
        std::multiset<std::string>{"--db", "--no-pdf", "{path}", "{x}"});
  CHECK(i18n::Catalog::parse(i18n::embedded::collector("en")).keys().size() > 40);
  kuzet::testing::check_translations(i18n::embedded::collector, /*all_translated=*/true);
}

TEST_CASE("http::network_key: the /24 or /48 a limit counts by") {
  using kuzet::collector::http::network_key;
  CHECK(network_key("203.0.113.77", 24, 48) == "203.0.113.0/24");
  CHECK(network_key("203.0.113.77", 32, 64) == "203.0.113.77/32");
  CHECK(network_key("::ffff:203.0.113.77", 24, 48) == "203.0.113.0/24");
  CHECK(network_key("2001:db8:1:2:3:4:5:6", 24, 48) == "2001:db8:1::/48");
  CHECK(network_key("2001:db8:1:2:3:4:5:6", 24, 64) == "2001:db8:1:2::/64");
  CHECK_FALSE(network_key("203.0.113.0/24", 24, 48));
  CHECK_FALSE(network_key("example.org", 24, 48));
  CHECK_FALSE(network_key("", 24, 48));
}

TEST_CASE("http::TokenBuckets: burst, separate keys, give_back, bounded key count") {
  kuzet::collector::http::TokenBuckets buckets(/*per_minute=*/0, /*burst=*/3, /*max_keys=*/2);
  CHECK(buckets.take("a"));
  CHECK(buckets.take("a"));
  CHECK(buckets.take("a"));
  CHECK_FALSE(buckets.take("a"));
  buckets.give_back("a");
  CHECK(buckets.take("a"));
  CHECK(buckets.take("b"));
  // Two keys with spent tokens are remembered; a third cannot push them out (that would refill them).
  CHECK_FALSE(buckets.take("c"));
}

TEST_CASE("http::body_framing and scan_chunked: where a body ends, from untrusted bytes") {
  using namespace kuzet::collector::http;
  SUBCASE("Content-Length, Transfer-Encoding and Expect, any case") {
    auto f = body_framing("POST /x HTTP/1.1\r\ncontent-length:  42 \r\nEXPECT: 100-Continue\r\n\r\n");
    CHECK(f.content_length == 42u);
    CHECK(f.expect_continue);
    CHECK_FALSE(f.chunked());
    CHECK_FALSE(f.ambiguous());
    CHECK(body_framing("POST /x HTTP/1.1\r\nTransfer-Encoding:  Chunked \r\n\r\n").chunked());
    CHECK_FALSE(body_framing("GET / HTTP/1.1\r\nHost: a\r\n\r\n").content_length);
  }
  SUBCASE("only one Transfer-Encoding line saying chunked frames a body; other codings are refused") {
    auto coding = [](const std::string& lines) {
      return body_framing("POST /x HTTP/1.1\r\n" + lines + "\r\n\r\n");
    };
    CHECK(coding("Host: a").coding == TransferCoding::none);
    CHECK(coding("Transfer-Encoding: chunked").coding == TransferCoding::chunked);
    // chunked last and once, after a coding we would have to decode: 501 (RFC 9112 6.1)
    for (const char* lines : {"Transfer-Encoding: gzip, chunked", "Transfer-Encoding: x-custom ,CHUNKED",
                              "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked"}) {
      CAPTURE(lines);
      const auto f = coding(lines);
      CHECK(f.coding == TransferCoding::unsupported);
      CHECK_FALSE(f.chunked());
      CHECK_FALSE(f.ambiguous());
    }
    // httplib reads only the first line, whole: anything else would be read two ways (RFC 9112 6.3)
    for (const char* lines : {"Transfer-Encoding: chunked, gzip", "Transfer-Encoding: gzip", "Transfer-Encoding:",
                              "Transfer-Encoding: chunked, chunked", "Transfer-Encoding: chunked,",
                              "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
                              "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip", "Transfer-Encoding: chunkedx"}) {
      CAPTURE(lines);
      const auto f = coding(lines);
      CHECK(f.ambiguous());
      CHECK_FALSE(f.chunked());
    }
    // A length beside any Transfer-Encoding, even the one good form.
    CHECK(coding("Transfer-Encoding: chunked\r\nContent-Length: 5").ambiguous());
    CHECK(coding("Content-Length: 5\r\nTransfer-Encoding: gzip, chunked").ambiguous());
    CHECK(chunked_value(" chunked"));
    CHECK_FALSE(chunked_value("gzip, chunked"));
  }
  SUBCASE("lengths that are not one plain number are invalid") {
    CHECK(body_framing("POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n").invalid_length);
    CHECK(body_framing("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").invalid_length);
    CHECK(body_framing("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n").invalid_length);
    CHECK(body_framing("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n").invalid_length);
    CHECK(body_framing("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n").invalid_length);
  }
  SUBCASE("a Content-Encoding naming any coding but identity is refused") {
    for (const char* plain : {"", "identity", " Identity ", "identity, IDENTITY", ",,"}) CHECK(identity_coding(plain));
    for (const char* coded : {"gzip", "identity, gzip", "br", "deflate", "x-gzip", "compress", "identityx", "gzip,"})
      CHECK_FALSE(identity_coding(coded));
  }
  SUBCASE("gzip is offered to a client that takes it, by name or by \"*\", with a weight above zero") {
    for (const char* takes : {"gzip", "x-gzip", "deflate, GZIP, br", "br;q=1.0, gzip;q=0.5", "*", "br, *;q=0.1",
                              "gzip;q=0.001", "gzip ; Q = 1", "gzip;level=9", "gzip, gzip;q=0"})
      CHECK_MESSAGE(accepts_gzip(takes), takes);
    for (const char* refuses : {"", "br", "identity", "br, zstd", "gzip;q=0", "gzip;q=0.000, *", "*;q=0", "gzipx",
                                "x, gzip;q=0.0", "gzip;q=0, gzip", ",,;"})
      CHECK_MESSAGE(!accepts_gzip(refuses), refuses);
  }
  SUBCASE("the Expect line is found so it can be removed") {
    const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nX: y\r\n\r\n";
    auto line = expect_line(head);
    REQUIRE(line);
    CHECK(head.substr(line->first, line->second) == "Expect: 100-continue\r\n");
  }
  SUBCASE("a chunked body is complete at the last chunk and the blank line, whatever the data holds") {
    const std::string body = "5\r\n0\r\n\r\n\r\n3;ext=1\r\nabc\r\n0\r\nTrailer: t\r\n\r\nNEXT";
    ChunkScan scan;
    // Fed a byte at a time: never complete early (the data "0\r\n\r\n" is skipped by size, not scanned).
    for (size_t n = 0; n + 4 < body.size(); ++n) {
      ChunkScan s = scan;
      CHECK(scan_chunked(std::string_view(body).substr(0, n), s) == ChunkProgress::need_more);
      scan = s;
    }
    CHECK(scan_chunked(std::string_view(body).substr(0, body.size() - 4), scan) == ChunkProgress::complete);
    CHECK(body.substr(scan.next) == "NEXT");
  }
  SUBCASE("malformed size lines and overlong lines") {
    ChunkScan a, b, c;
    CHECK(scan_chunked("zz\r\n", a) == ChunkProgress::malformed);
    CHECK(scan_chunked(std::string(kMaxChunkLine + 1, '1'), b) == ChunkProgress::malformed);
    CHECK(scan_chunked("ffffffffffffffffffff\r\n", c) == ChunkProgress::malformed);
  }
}

TEST_CASE("migrate: an SQLite store copied in log order, every envelope checked; same log; resumable") {
  TempDir dir;
  const std::string source_path = dir.file("source.db");
  auto source = open_sqlite_store(source_path);
  Metrics metrics;
  Ingestor ingestor(*source, metrics, IngestOptions{});
  auto key = core::generate_ed25519();
  source->register_key({core::key_id(key.public_key), core::base64_encode(key.public_key), 7});
  source->register_key({"unused", "cHVibGlj", 9});  // registered, never measured: copied too
  std::vector<std::string> envs;
  for (int i = 0; i < 1300; ++i) {
    MeasurementSpec s;
    s.uid = "m" + std::to_string(i);
    s.verdict = i % 3 ? "ok" : "blocked";
    envs.push_back(signed_envelope(s, key));
  }
  for (size_t i = 0; i < envs.size(); i += 650) {
    auto outcome = ingestor.ingest_body(upload_body({envs.begin() + i, envs.begin() + i + 650}));
    REQUIRE(outcome.http_status == 200);
  }
  NewMeasurement imported = row("ooni-1", 1641378600000);  // an OONI import: not signed by a Kuzet key
  imported.source = kSourceOoni;
  imported.key_id = "ooni:abc";
  REQUIRE(source->insert_batch({imported})[0].inserted);
  tlog::Checkpoint checkpoint{"example.org/log", 1301, source->log_head().root, {}};
  const std::string note =
      tlog::sign_note(tlog::checkpoint_text(checkpoint), tlog::make_signer("example.org/log", core::generate_ed25519()));
  source->add_checkpoint(1301, note, 1);

  SUBCASE("a complete copy") {
    TestDb target_db(dir.file("target.db"));
    auto target = open_store(target_db.location());
    const auto report = copy_store(*source, *target);
    REQUIRE_MESSAGE(report.error.empty(), report.error);
    CHECK(report.keys == 2);
    CHECK(report.copied == 1301);
    CHECK(report.checkpoint);
    CHECK(target->log_head().size == source->log_head().size);
    CHECK(target->log_head().root == source->log_head().root);
    CHECK(target->log_entries(0, 1301) == source->log_entries(0, 1301));
    CHECK(target->envelope("m1234") == envs[1234]);
    CHECK(target->find_key("unused").has_value());
    CHECK(target->latest_checkpoint() == source->latest_checkpoint());
    SummaryQuery blocked;
    blocked.verdict = "blocked";
    CHECK(target->summaries(blocked).size() == source->summaries(blocked).size());
    // Again: nothing new to copy, the same log.
    const auto again = copy_store(*source, *target);
    CHECK(again.error.empty());
    CHECK(again.copied == 0);
    CHECK(again.already == 1301);
  }
  SUBCASE("a copy stopped half-way resumes; a target with other entries is refused") {
    TestDb target_db(dir.file("target.db"));
    auto target = open_store(target_db.location());
    for (const auto& k : source->probe_keys()) target->register_key(k);
    REQUIRE(target->insert_batch(source->in_log_order(0, 600, true)).size() == 600);
    const auto report = copy_store(*source, *target);
    REQUIRE_MESSAGE(report.error.empty(), report.error);
    CHECK(report.already == 600);
    CHECK(report.copied == 701);
    CHECK(target->log_head().root == source->log_head().root);

    TestDb other_db(dir.file("other.db"));
    auto other = open_store(other_db.location());
    other->insert_batch({row("elsewhere", 1000)});
    const auto refused = copy_store(*source, *other);
    CHECK(refused.error.find("another collector's store") != std::string::npos);
  }
  SUBCASE("a tampered envelope stops the copy before its batch is written") {
    source.reset();
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(source_path.c_str(), &raw) == SQLITE_OK);
    // The verdict rewritten, the stored hash made to match: only the signature can tell.
    std::string tampered = envs[1102];
    tampered.replace(tampered.find("\"verdict\":\"ok\""), 14, "\"verdict\":\"no\"");
    {
      sqlite::Statement st(raw, "UPDATE measurements SET envelope = ?, content_hash = ? WHERE uid = 'm1102'");
      st.bind(1, tampered);
      st.bind(2, core::sha256_hex(tampered));
      st.step();
    }
    sqlite3_close(raw);
    source = open_sqlite_store(source_path);
    TestDb target_db(dir.file("target.db"));
    auto target = open_store(target_db.location());
    const auto report = copy_store(*source, *target);
    CHECK(report.error.find("m1102") != std::string::npos);
    CHECK(report.error.find("bad_signature") != std::string::npos);
    CHECK(target->log_head().size == 1000);  // the batches before it, not the one holding it
    CHECK_FALSE(target->envelope("m1102"));
  }
}
