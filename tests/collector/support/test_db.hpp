#pragma once
// The database a collector test runs against: an SQLite file by default; with KUZET_TEST_DB=postgresql://…
// a fresh schema on that server (dropped at the end), so the same tests run on both engines. ctest registers
// each collector test a second time as <name>_pg with KUZET_TEST_DB set and a PostgreSQL server started
// for it (scripts/pg-test-server.sh; docs/deployment.md, "Tests").
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "collector/store/pg_util.hpp"
#include "collector/store/sqlite/sqlite_util.hpp"
#include "collector/store/store.hpp"

namespace kuzet::collector::testing {

// The PostgreSQL server of this run ("" = SQLite).
inline std::string test_server_url() {
  const char* v = std::getenv("KUZET_TEST_DB");
  return v ? v : "";
}
inline bool testing_postgres() { return !test_server_url().empty(); }

// A URL names no file, so a collector serving one is given its log key file explicitly; the tests keep it
// in the temp directory under a name derived from the URL (the same across restarts of that collector).
inline std::string test_log_key_path(const std::string& url) {
  return (std::filesystem::temp_directory_path() /
          ("kuzet-test-log-key-" + std::to_string(std::hash<std::string>{}(url))))
      .string();
}

class TestDb {
 public:
  // `file`: the SQLite database's path, used when KUZET_TEST_DB is unset (or `server` is given "").
  explicit TestDb(std::string file, const std::string& server = test_server_url())
      : location_(std::move(file)), server_(server) {
    if (server.empty()) return;
    std::random_device rd;
    schema_ = "kt_" + std::to_string(rd()) + "_" + std::to_string(rd());
    pg::Connection(server).exec("CREATE SCHEMA " + schema_);
    location_ = server + (server.find('?') == std::string::npos ? "?" : "&") + "options=-c%20search_path%3D" + schema_;
  }
  ~TestDb() {
    if (schema_.empty()) return;
    // The key file, and the timeline index a collector on a URL keeps next to it (collector/main.cpp).
    std::error_code ec;
    const std::string key = test_log_key_path(location_);
    for (const char* suffix : {"", ".timelines", ".timelines-wal", ".timelines-shm", ".timelines-journal"})
      std::filesystem::remove(key + suffix, ec);
    try {
      pg::Connection(server_).exec("DROP SCHEMA " + schema_ + " CASCADE");
    } catch (...) {
      // A schema left behind is harmless: the test server's data directory is thrown away.
    }
  }
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  // The --db value: the SQLite file's path or the PostgreSQL URL.
  const std::string& location() const { return location_; }
  bool postgres() const { return !schema_.empty(); }
  const std::string& schema() const { return schema_; }
  // The collector's command-line arguments for this database (--db, and --log-key for a URL).
  std::vector<std::string> serve_args() const {
    if (!postgres()) return {"--db", location_};
    return {"--db", location_, "--log-key", test_log_key_path(location_)};
  }

 private:
  std::string location_;
  std::string server_;
  std::string schema_;
};

// Every signed checkpoint the store kept, oldest first (the Store interface serves only the latest).
inline std::vector<std::string> stored_checkpoints(const TestDb& db) {
  std::vector<std::string> notes;
  if (db.postgres()) {
    auto r = pg::Connection(db.location()).exec("SELECT note FROM log_checkpoints ORDER BY id");
    for (int i = 0; i < r.rows(); ++i) notes.push_back(r.text(i, 0));
    return notes;
  }
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db.location().c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(raw);
    throw std::runtime_error("cannot open " + db.location());
  }
  {
    sqlite::Statement st(raw, "SELECT note FROM log_checkpoints ORDER BY id");
    while (st.step()) notes.push_back(st.text_at(0));
  }
  sqlite3_close(raw);
  return notes;
}

}  // namespace kuzet::collector::testing
