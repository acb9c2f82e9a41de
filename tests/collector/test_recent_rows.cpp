// The rows the SQLite store's writer committed last, held for the readers that follow new rows
// (collector/store/sqlite/recent_rows.hpp): what they answer is what the file holds, gaps and budget included.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <string>
#include <vector>

#include "collector/store/sqlite/recent_rows.hpp"
#include "collector/store/store.hpp"
#include "core/background_turn.hpp"
#include "tests/collector/support/helpers.hpp"

using namespace kuzet::collector;
using kuzet::collector::sqlite::RecentRows;
using kuzet::collector::testing::TempDir;

namespace {

NewMeasurement summary(int n) {
  NewMeasurement m;
  m.uid = "20220105T103000Z_" + std::to_string(1000000 + n);
  m.source = n % 5 ? kSourceKuzet : kSourceOoni;
  m.content_hash = std::string(64, static_cast<char>('a' + n % 6));
  m.key_id = "key" + std::to_string(n % 3);
  m.started_at_ms = 1641378600000 + n * 1000;
  m.received_at_ms = m.started_at_ms + 700;
  m.cc = n % 2 ? "KZ" : "RU";
  m.asn = n % 2 ? 9198 : 48503;
  m.target = "site" + std::to_string(n % 7) + ".example.org";
  m.category = "news";
  m.verdict = n % 4 ? "ok" : "dns_blocking";
  m.method = n % 4 ? "" : "dns.bogon";
  m.vantage = n % 3 ? "5d41402abc4b2a76" : "";
  m.network_check = n % 3 ? "match" : "";
  m.decisive = n % 4 == 0;
  return m;
}

// Every column in_log_order returns, the envelope left out.
void check_same(const NewMeasurement& got, const NewMeasurement& want) {
  CHECK(got.uid == want.uid);
  CHECK(got.source == want.source);
  CHECK(got.envelope.empty());
  CHECK(got.content_hash == want.content_hash);
  CHECK(got.key_id == want.key_id);
  CHECK(got.started_at_ms == want.started_at_ms);
  CHECK(got.received_at_ms == want.received_at_ms);
  CHECK(got.cc == want.cc);
  CHECK(got.asn == want.asn);
  CHECK(got.target == want.target);
  CHECK(got.category == want.category);
  CHECK(got.verdict == want.verdict);
  CHECK(got.method == want.method);
  CHECK(got.vantage == want.vantage);
  CHECK(got.network_check == want.network_check);
  CHECK(got.decisive == want.decisive);
}

// Rows n in [first, last) committed with rowid n + 1 and log index n + log_offset.
void commit(RecentRows& recent, const std::vector<NewMeasurement>& rows, int first, int last, int64_t log_offset = 0) {
  std::vector<RecentRows::Committed> committed;
  for (int n = first; n < last; ++n) committed.push_back({n + 1, n + log_offset, &rows[static_cast<size_t>(n)]});
  recent.add_committed(committed);
}

}  // namespace

TEST_CASE("recent rows: held rows come back whole, by log index and by rowid, from where the reader asks") {
  std::vector<NewMeasurement> rows;
  for (int n = 0; n < 300; ++n) rows.push_back(summary(n));
  RecentRows recent(1 << 20, std::chrono::minutes(1));
  commit(recent, rows, 0, 120);
  commit(recent, rows, 120, 300);
  REQUIRE(recent.size() == 300);

  std::vector<NewMeasurement> out;
  CHECK(recent.by_log_index(37, 137, out) == 100);
  REQUIRE(out.size() == 100);
  for (size_t i = 0; i < out.size(); ++i) check_same(out[i], rows[37 + i]);
  out.clear();
  CHECK(recent.by_log_index(250, 1000, out) == 50);  // to the end of what is held; the file has the rest
  CHECK(out.back().uid == rows[299].uid);
  out.clear();
  CHECK(recent.by_log_index(300, 400, out) == 0);  // past the last commit: nothing held
  CHECK(recent.by_log_index(10, 10, out) == 0);
  CHECK(out.empty());

  std::vector<RecentRows::PlaceView> seen;
  std::vector<std::string> uids, ccs, targets;
  CHECK(recent.by_rowid(11, 21, [&](const RecentRows::PlaceView& v) {
    seen.push_back(v);
    uids.emplace_back(v.uid);
    ccs.emplace_back(v.cc);
    targets.emplace_back(v.target);
  }) == 10);
  REQUIRE(seen.size() == 10);
  for (size_t i = 0; i < seen.size(); ++i) {
    const auto& want = rows[10 + i];
    CHECK(seen[i].rowid == static_cast<int64_t>(11 + i));
    CHECK(uids[i] == want.uid);
    CHECK(seen[i].started_at_ms == want.started_at_ms);
    CHECK(ccs[i] == want.cc);
    CHECK(seen[i].asn == want.asn);
    CHECK(targets[i] == want.target);
  }
}

TEST_CASE("recent rows: a gap in rowids or log indexes drops what was held; the budget drops the oldest") {
  std::vector<NewMeasurement> rows;
  for (int n = 0; n < 400; ++n) rows.push_back(summary(n));
  std::vector<NewMeasurement> out;

  SUBCASE("another writer's rows between two commits (rowids 101-150 not ours)") {
    RecentRows recent(1 << 20, std::chrono::minutes(1));
    commit(recent, rows, 0, 100);
    commit(recent, rows, 150, 200);
    CHECK(recent.size() == 50);
    const auto misses = sqlite::recent_rows_stats().misses;
    CHECK(recent.by_log_index(100, 200, out) == 0);  // the other writer's rows: the reader reads the file
    CHECK(recent.by_log_index(0, 200, out) == 0);
    CHECK(sqlite::recent_rows_stats().misses == misses + 2);
    CHECK(recent.by_log_index(150, 200, out) == 50);
    check_same(out.front(), rows[150]);
  }
  SUBCASE("rowids that follow on, log indexes that do not") {
    RecentRows recent(1 << 20, std::chrono::minutes(1));
    commit(recent, rows, 0, 100);
    commit(recent, rows, 100, 200, 5);
    CHECK(recent.size() == 100);
    CHECK(recent.by_log_index(100, 105, out) == 0);
    CHECK(recent.by_log_index(105, 106, out) == 1);
    check_same(out.front(), rows[100]);
  }
  SUBCASE("a store without a log: held by rowid, never by log index") {
    RecentRows recent(1 << 20, std::chrono::minutes(1));
    std::vector<RecentRows::Committed> committed;
    for (int n = 0; n < 50; ++n) committed.push_back({n + 1, -1, &rows[static_cast<size_t>(n)]});
    recent.add_committed(committed);
    CHECK(recent.size() == 50);
    CHECK(recent.by_log_index(0, 50, out) == 0);
    CHECK(recent.by_rowid(1, 51, [](const auto&) {}) == 50);
  }
  SUBCASE("the byte budget") {
    RecentRows probe_size(1 << 20, std::chrono::minutes(1));
    commit(probe_size, rows, 0, 10);
    const size_t per_row = probe_size.bytes() / 10;
    RecentRows recent(per_row * 100, std::chrono::minutes(1));
    commit(recent, rows, 0, 400);
    CHECK(recent.bytes() <= per_row * 100);
    CHECK(recent.size() >= 90);
    CHECK(recent.size() <= 100);
    const auto first = static_cast<int>(400 - recent.size());
    CHECK(recent.by_log_index(static_cast<uint64_t>(first - 1), 400, out) == 0);  // dropped: read from the file
    CHECK(recent.by_log_index(static_cast<uint64_t>(first), 400, out) == recent.size());
    check_same(out.front(), rows[static_cast<size_t>(first)]);
    check_same(out.back(), rows[399]);
  }
  SUBCASE("rows older than their readers need are let go, with or without new commits") {
    RecentRows recent(1 << 20, std::chrono::milliseconds(50));
    commit(recent, rows, 0, 100);
    CHECK(recent.first_log_index() == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    CHECK(recent.by_log_index(0, 100, out) == 0);
    CHECK(recent.size() == 0);
    CHECK(recent.first_rowid() == std::nullopt);
    commit(recent, rows, 100, 150);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    commit(recent, rows, 150, 200);  // the older commit goes; this one stays
    CHECK(recent.size() == 50);
    CHECK(recent.first_rowid() == 151);
  }
}

TEST_CASE("recent rows in the store: in_log_order and the place index answer what the file holds") {
  TempDir dir;
  const std::string path = dir.file("c.db");
  std::vector<NewMeasurement> rows;
  for (int n = 0; n < 900; ++n) {
    NewMeasurement m = summary(n);
    m.envelope = "{\"uid\":\"" + m.uid + "\"}";
    m.content_hash = kuzet::core::sha256_hex(m.envelope);
    rows.push_back(std::move(m));
  }
  auto write = [&](Store& store, int first, int last) {
    for (const auto& r : store.insert_batch(std::vector<NewMeasurement>(rows.begin() + first, rows.begin() + last)))
      REQUIRE(r.inserted);
  };
  // Rows stored before this store was opened are only in the file.
  write(*open_sqlite_store(path), 0, 300);
  auto store = open_sqlite_store(path);
  write(*store, 300, 500);
  // A batch that repeats stored rows: they are not written again, and the rows after them follow on.
  std::vector<NewMeasurement> repeated(rows.begin() + 450, rows.begin() + 600);
  const auto results = store->insert_batch(repeated);
  for (size_t i = 0; i < results.size(); ++i) CHECK(results[i].inserted == (i >= 50));
  write(*store, 600, 850);

  // The place index threads take rows from memory too (by rowid); held off while the counters are compared.
  std::unique_lock turn(kuzet::core::background_turn());
  const auto before = sqlite::recent_rows_stats();
  auto got = store->in_log_order(0, 2000, false);
  REQUIRE(got.size() == 850);
  for (size_t i = 0; i < got.size(); ++i) check_same(got[i], rows[i]);
  // The file up to this store's first commit, memory from there.
  CHECK(sqlite::recent_rows_stats().served - before.served == 550);
  turn.unlock();
  // Ranges starting inside what is held, across its end, and past it.
  got = store->in_log_order(450, 300, false);
  REQUIRE(got.size() == 300);
  for (size_t i = 0; i < got.size(); ++i) check_same(got[i], rows[450 + i]);
  CHECK(store->in_log_order(840, 100, false).size() == 10);
  CHECK(store->in_log_order(850, 100, false).empty());
  // Envelopes are never held: a reader that asks for them reads the file.
  got = store->in_log_order(400, 10, true);
  REQUIRE(got.size() == 10);
  CHECK(got.front().envelope == rows[400].envelope);

  // Another store on the file holds nothing of this one's: it reads everything from the file, the same.
  auto reader = open_sqlite_store(path);
  const auto from_file = reader->in_log_order(0, 2000, false);
  REQUIRE(from_file.size() == 850);
  for (size_t i = 0; i < from_file.size(); ++i) check_same(from_file[i], rows[i]);

  // The place index follows by rowid: every row, stored before or since, is in its target's list.
  for (int t = 0; t < 7; ++t) {
    SummaryQuery f;
    f.target = "site" + std::to_string(t) + ".example.org";
    f.limit = 1000;
    const auto listed = store->list({f, std::nullopt});
    const auto expected = static_cast<size_t>(
        std::count_if(rows.begin(), rows.begin() + 850, [&](const auto& m) { return m.target == f.target; }));
    CHECK(listed.size() == expected);
  }
}
