// The transparency log inside the collector's store: one entry per stored measurement in the same
// transaction, stored hashes that rebuild the RFC 6962 tree, migration of older databases, no effect of a
// failed transaction, append-only tables; the log key file; the checkpointer's start-up refusals.
#include <doctest/doctest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "collector/log/checkpointer.hpp"
#include "collector/log/log_key.hpp"
#include "collector/store/store.hpp"
#include "collector/vantage/vantage.hpp"
#include "core/crypto/crypto.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/collector/support/test_db.hpp"
#include "tlog/entry.hpp"
#include "tlog/note.hpp"

using namespace kuzet;
using namespace kuzet::collector;
using kuzet::collector::testing::TempDir;
using kuzet::collector::testing::TestDb;

namespace {

NewMeasurement row(const std::string& uid, int64_t started_at_ms = 1641378600000) {
  NewMeasurement m;
  m.uid = uid;
  m.envelope = R"({"measurement":{"measurement_uid":")" + uid + R"("}})";
  m.content_hash = core::sha256_hex(m.envelope);
  m.key_id = "0123456789abcdef";
  m.started_at_ms = started_at_ms;
  m.received_at_ms = started_at_ms + 5000;
  m.cc = "KZ";
  m.asn = 9198;
  m.target = "example.org";
  m.category = "news";
  m.verdict = "ok";
  return m;
}

std::vector<NewMeasurement> rows(int first, int count) {
  std::vector<NewMeasurement> out;
  for (int i = first; i < first + count; ++i) out.push_back(row("u" + std::to_string(i), 1641378600000 + i));
  return out;
}

// The tree built independently from the stored entries' bytes.
tlog::Hash reference_root(Store& store) {
  const auto entries = store.log_entries(0, store.log_head().size);
  tlog::Frontier f;
  for (const auto& e : entries) f.append(tlog::leaf_hash(e));
  return f.root();
}

// SQL run beside the store, on whichever engine the test runs (tests/collector/support/test_db.hpp).
void exec_raw(const TestDb& db, const std::string& sqlite_sql, const std::string& pg_sql, bool expect_ok) {
  if (db.postgres()) {
    bool ok = true;
    std::string error;
    try {
      collector::pg::Connection(db.location()).exec(pg_sql);
    } catch (const std::exception& e) {
      ok = false;
      error = e.what();
    }
    CHECK_MESSAGE(ok == expect_ok, pg_sql << ": " << (ok ? "ok" : error));
    return;
  }
  const std::string& sql = sqlite_sql;
  const std::string& path = db.location();
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &raw) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
  CHECK_MESSAGE((rc == SQLITE_OK) == expect_ok, sql << ": " << (err ? err : "ok"));
  sqlite3_free(err);
  sqlite3_close(raw);
}

}  // namespace

TEST_CASE("every inserted measurement gets the next log index, in the same transaction") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  auto store = open_store(test_db.location());
  CHECK(store->log_head().size == 0);
  CHECK(store->log_head().root == tlog::empty_tree_hash());
  auto batch = rows(0, 5);
  batch.push_back(row("u2"));  // seen earlier in the batch: existing, same index
  auto results = store->insert_batch(batch);
  for (int i = 0; i < 5; ++i) {
    CHECK(results[i].inserted);
    REQUIRE(results[i].log_index);
    CHECK(*results[i].log_index == static_cast<uint64_t>(i));
  }
  CHECK_FALSE(results[5].inserted);
  CHECK(results[5].log_index == std::optional<uint64_t>(2));
  // Duplicates in a later batch get their existing index.
  results = store->insert_batch({row("u4"), row("u5")});
  CHECK(results[0].log_index == std::optional<uint64_t>(4));
  CHECK(results[1].log_index == std::optional<uint64_t>(5));
  CHECK(store->log_head().size == 6);
  CHECK(store->log_index("u3") == std::optional<uint64_t>(3));
  CHECK_FALSE(store->log_index("nope"));

  // The entry commits to the stored envelope and its times.
  std::string error;
  auto entry = tlog::parse_entry(store->log_entries(3, 4).at(0), &error);
  REQUIRE_MESSAGE(entry, error);
  CHECK(entry->measurement_uid == "u3");
  CHECK(entry->envelope_sha256 == core::sha256_hex(*store->envelope("u3")));
  CHECK(entry->key_id == "0123456789abcdef");
  CHECK(entry->started_at_ms == 1641378600003);
  CHECK(entry->received_at_ms == 1641378605003);
  CHECK_THROWS_AS(store->log_entries(5, 7), std::out_of_range);

  log::StoreHashes hashes(*store);
  CHECK(tlog::tree_hash(6, hashes) == store->log_head().root);
  CHECK(reference_root(*store) == store->log_head().root);
}

TEST_CASE("the entry carries the vantage point the measurement supports (issue 10)") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  auto store = open_store(test_db.location());
  constexpr int64_t registered = 1641378600000;
  store->register_key({"0123456789abcdef", std::string(32, 'k'), registered});
  auto with = [](NewMeasurement m, const std::string& tag, const std::string& check) {
    m.vantage = tag;
    m.network_check = check;
    return m;
  };
  const int64_t grace = vantage::kKeyBackdateGraceMs;
  store->insert_batch({
      with(row("match", registered + 1000), "00000000000000aa", "match"),
      with(row("unknown", registered + 2000), "00000000000000bb", "unknown"),
      with(row("mismatch", registered + 3000), "00000000000000cc", "mismatch"),
      // A queued result from shortly before the key was registered still counts; one from long before does not.
      with(row("queued", registered - grace + 1), "00000000000000dd", "match"),
      with(row("backdated", registered - grace - 1), "00000000000000ee", "match"),
      with(row("import", registered + 4000), "", ""),
  });
  std::map<std::string, std::pair<std::string, std::string>> logged;
  for (const auto& bytes : store->log_entries(0, 6)) {
    std::string error;
    auto e = tlog::parse_entry(bytes, &error);
    REQUIRE_MESSAGE(e, error);
    CHECK(e->version == 2);
    logged[e->measurement_uid] = {e->vantage_point, e->network_check};
  }
  CHECK(logged["match"] == std::pair<std::string, std::string>{"00000000000000aa", "match"});
  CHECK(logged["unknown"] == std::pair<std::string, std::string>{"00000000000000bb", "unknown"});
  CHECK(logged["mismatch"] == std::pair<std::string, std::string>{"", "mismatch"});
  CHECK(logged["queued"] == std::pair<std::string, std::string>{"00000000000000dd", "match"});
  CHECK(logged["backdated"] == std::pair<std::string, std::string>{"", "match"});
  CHECK(logged["import"] == std::pair<std::string, std::string>{"", ""});
}

TEST_CASE("reopening continues the same tree; proofs read stored hashes") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  const auto db = test_db.location();
  tlog::Hash root_at_300;
  {
    auto store = open_store(db);
    store->insert_batch(rows(0, 300));
    root_at_300 = store->log_head().root;
  }
  auto store = open_store(db);
  CHECK(store->log_head().size == 300);
  CHECK(store->log_head().root == root_at_300);
  store->insert_batch(rows(300, 233));
  CHECK(store->log_head().size == 533);
  CHECK(reference_root(*store) == store->log_head().root);
  log::StoreHashes hashes(*store);
  const auto proof = tlog::prove_consistency(300, 533, hashes);
  CHECK(tlog::verify_consistency(300, 533, root_at_300, store->log_head().root, proof));
  const auto entry = store->log_entries(301, 302).at(0);
  CHECK(tlog::verify_inclusion(tlog::leaf_hash(entry), 301, 533, tlog::prove_inclusion(301, 533, hashes),
                               store->log_head().root));
}

TEST_CASE("a database from before the log gets its measurements logged in the order they were stored") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  const auto db = test_db.location();
  {
    auto v2 = open_store(db, 2);
    v2->insert_batch({row("b", 2000), row("a", 1000)});
    v2->insert_batch({row("c", 500)});
    CHECK(v2->log_head().size == 0);
  }
  auto store = open_store(db);
  REQUIRE(store->log_head().size == 3);
  CHECK(store->log_index("b") == std::optional<uint64_t>(0));
  CHECK(store->log_index("a") == std::optional<uint64_t>(1));
  CHECK(store->log_index("c") == std::optional<uint64_t>(2));
  CHECK(reference_root(*store) == store->log_head().root);
  CHECK(*store->insert_batch({row("d")})[0].log_index == 3);
}

TEST_CASE("a transaction that fails leaves neither rows nor log entries, and the tree goes on intact") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  const auto db = test_db.location();
  auto store = open_store(db);
  store->insert_batch(rows(0, 5));
  // Make the log's hash insert fail inside the next batch (the 8th leaf completes level 3).
  exec_raw(test_db,
           "CREATE TRIGGER fail_once BEFORE INSERT ON log_hashes WHEN NEW.level = 3 BEGIN SELECT RAISE(ABORT, "
           "'injected'); END;",
           "CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected'; END $$;"
           "CREATE TRIGGER fail_once BEFORE INSERT ON log_hashes FOR EACH ROW WHEN (NEW.level = 3)"
           " EXECUTE FUNCTION fail_once();",
           true);
  CHECK_THROWS(store->insert_batch(rows(5, 4)));
  CHECK(store->log_head().size == 5);
  CHECK_FALSE(store->envelope("u5"));
  exec_raw(test_db, "DROP TRIGGER fail_once", "DROP TRIGGER fail_once ON log_hashes", true);
  auto results = store->insert_batch(rows(5, 4));
  CHECK(*results[0].log_index == 5);
  CHECK(store->log_head().size == 9);
  CHECK(reference_root(*store) == store->log_head().root);
  log::StoreHashes hashes(*store);
  CHECK(tlog::tree_hash(9, hashes) == store->log_head().root);
}

TEST_CASE("log tables are append-only") {
  TempDir dir;
  TestDb test_db(dir.file("c.db"));
  const auto db = test_db.location();
  {
    auto store = open_store(db);
    store->insert_batch(rows(0, 3));
    store->add_checkpoint(3, "note", 1);
  }
  exec_raw(test_db, "UPDATE log_entries SET entry = 'x' WHERE idx = 0", "UPDATE log_entries SET entry = 'x' WHERE idx = 0", false);
  exec_raw(test_db, "DELETE FROM log_entries WHERE idx = 2", "DELETE FROM log_entries WHERE idx = 2", false);
  exec_raw(test_db, "UPDATE log_hashes SET hash = zeroblob(32)", "UPDATE log_hashes SET hash = decode(repeat('00', 32), 'hex')", false);
  exec_raw(test_db, "DELETE FROM log_hashes", "DELETE FROM log_hashes", false);
  exec_raw(test_db, "DELETE FROM log_checkpoints", "DELETE FROM log_checkpoints", false);
  if (test_db.postgres()) exec_raw(test_db, "", "TRUNCATE log_entries, log_hashes, log_checkpoints", false);
  auto store = open_store(db);
  CHECK(store->log_head().size == 3);
  CHECK(store->latest_checkpoint() == std::optional<std::string>("note"));
}

TEST_CASE("log key file: created once with mode 0600, reloaded, origin pinned, garbage refused") {
  TempDir dir;
  const auto path = dir.file("log.key");
  const auto key = log::load_or_create_log_key(path, "kuzet.example.org/log");
  CHECK(key.name == "kuzet.example.org/log");
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const auto again = log::load_or_create_log_key(path, "");
  CHECK(again.key.private_key == key.key.private_key);
  CHECK(again.name == key.name);
  CHECK(log::load_or_create_log_key(path, "kuzet.example.org/log").key.public_key == key.key.public_key);
  CHECK_THROWS_AS(log::load_or_create_log_key(path, "other.example/log"), log::LogKeyError);
  CHECK_THROWS_AS(log::load_or_create_log_key(dir.file("new.key"), "bad origin"), log::LogKeyError);
  {
    std::ofstream out(dir.file("garbage.key"));
    out << "not a key\n";
  }
  CHECK_THROWS_AS(log::load_or_create_log_key(dir.file("garbage.key"), ""), log::LogKeyError);
  CHECK_THROWS_AS(log::load_or_create_log_key(dir.file("no/such/dir/k"), ""), log::LogKeyError);
  CHECK(tlog::valid_key_name(log::default_log_origin()));
}

TEST_CASE("checkpointer: signs when the log grew, verifies, refuses a stored log that does not extend it") {
  TempDir dir;
  TestDb db_a(dir.file("a.db")), db_b(dir.file("b.db")), db_c(dir.file("c.db"));
  const auto signer = tlog::make_signer("kuzet.example.org/log", core::generate_ed25519());
  std::string note_at_10;
  {
    auto store = open_store(db_a.location());
    log::Checkpointer cp(*store, signer, std::chrono::seconds(1));
    CHECK(cp.latest().checkpoint.size == 0);  // signed at start
    CHECK_FALSE(cp.sign_if_grown());
    store->insert_batch(rows(0, 10));
    CHECK(cp.sign_if_grown());
    CHECK_FALSE(cp.sign_if_grown());
    note_at_10 = cp.latest().note;
    std::string error;
    auto opened = tlog::open_checkpoint(note_at_10, tlog::verifier_of(signer), &error);
    REQUIRE_MESSAGE(opened, error);
    CHECK(opened->size == 10);
    CHECK(opened->root == store->log_head().root);
    CHECK(store->latest_checkpoint() == std::optional<std::string>(note_at_10));
  }
  {
    // Restart: the stored log extends the checkpoint; it grew while down, so a new one is signed at once.
    auto store = open_store(db_a.location());
    store->insert_batch(rows(10, 5));
    log::Checkpointer cp(*store, signer, std::chrono::seconds(1));
    CHECK(cp.latest().checkpoint.size == 15);
  }
  // Another database with other entries, holding the first one's checkpoint: a rewritten log.
  {
    auto store = open_store(db_b.location());
    store->insert_batch(rows(100, 12));
    store->add_checkpoint(10, note_at_10, 0);
    try {
      log::Checkpointer cp(*store, signer, std::chrono::seconds(1));
      FAIL("started on a rewritten log");
    } catch (const log::LogStartError& e) {
      CHECK(std::string(e.what()).find("do not hash to") != std::string::npos);
    }
  }
  // A database rolled back below the checkpoint.
  {
    auto store = open_store(db_c.location());
    store->insert_batch(rows(0, 4));
    store->add_checkpoint(10, note_at_10, 0);
    try {
      log::Checkpointer cp(*store, signer, std::chrono::seconds(1));
      FAIL("started on a shorter log");
    } catch (const log::LogStartError& e) {
      CHECK(std::string(e.what()).find("fewer than") != std::string::npos);
    }
  }
  // The right log, the wrong key.
  {
    auto store = open_store(db_a.location());
    CHECK_THROWS_AS(log::Checkpointer(*store, tlog::make_signer("kuzet.example.org/log", core::generate_ed25519()),
                                      std::chrono::seconds(1)),
                    log::LogStartError);
  }
}
