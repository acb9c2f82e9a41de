// The VFS that writes a connection's WAL appends at once (collector/store/sqlite/wal_buffer.hpp): fewer writes, and
// the files stay what any SQLite reads, whatever the writer's sync setting.
#include <doctest/doctest.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "collector/store/sqlite/sqlite_util.hpp"
#include "collector/store/sqlite/wal_buffer.hpp"
#include "tests/collector/support/helpers.hpp"

using namespace kuzet::collector;

namespace {

constexpr int kRowBytes = 3000;  // about one 4 KiB page per row, as a stored envelope

sqlite3* open_buffered(const std::string& path, const char* synchronous) {
  sqlite3* db = sqlite::open_database(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "open");
  sqlite3_busy_timeout(db, 10000);
  sqlite::exec(db, std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + synchronous +
                       "; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-256");
  sqlite::exec(db, "CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
  return db;
}

// Another connection through SQLite's default VFS, as a reader in another process would open the file.
sqlite3* open_plain(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  return db;
}

// Rows first..first+count-1, each body its id's byte repeated, in one transaction.
void insert_rows(sqlite3* db, int first, int count) {
  sqlite::exec(db, "BEGIN");
  sqlite::Statement insert(db, "INSERT INTO rows(id, body) VALUES(?, ?)");
  for (int id = first; id < first + count; ++id) {
    const std::string body(kRowBytes, static_cast<char>('a' + id % 26));
    insert.reset();
    insert.bind(1, static_cast<int64_t>(id));
    insert.bind_blob(2, body.data(), body.size());
    insert.step();
  }
  sqlite::exec(db, "COMMIT");
}

// The rows a connection sees, each body checked against its id; -1 when one is wrong.
int64_t checked_rows(sqlite3* db) {
  sqlite::Statement query(db, "SELECT id, body FROM rows ORDER BY id");
  int64_t count = 0;
  while (query.step()) {
    const int64_t id = query.int_at(0);
    if (query.blob_at(1) != std::string(kRowBytes, static_cast<char>('a' + id % 26))) return -1;
    ++count;
  }
  return count;
}

std::string integrity(sqlite3* db) {
  sqlite::Statement check(db, "PRAGMA integrity_check");
  check.step();
  return check.text_at(0);
}

}  // namespace

TEST_CASE("wal buffer: a transaction's frames reach the log in a few writes, and any SQLite reads them") {
  testing::TempDir dir;
  const std::string path = dir.file("buffered.db");
  sqlite3* writer = open_buffered(path, "FULL");
  const auto before = sqlite::wal_buffer_stats();
  // 2,000 rows of ~3 KB in one transaction, with a page cache of 256 KiB: SQLite spills pages to the log
  // mid-transaction, rewrites some in place and reads them back, all through the buffer.
  insert_rows(writer, 1, 2000);
  const auto after = sqlite::wal_buffer_stats();
  const uint64_t appends = after.appends - before.appends;
  const uint64_t flushes = after.flushes - before.flushes;
  CHECK(appends >= 2 * 2000);  // a frame header and a page per row at least
  CHECK(flushes * 20 < appends);
  CHECK(flushes > 0);

  sqlite3* reader = open_plain(path);
  CHECK(checked_rows(reader) == 2000);
  CHECK(integrity(reader) == "ok");
  sqlite3_close(reader);
  sqlite3_close(writer);
}

TEST_CASE("wal buffer: without a sync at commit, a commit is published only with its frames in the file") {
  // synchronous=OFF: SQLite writes a commit's frames and publishes it without syncing the log, the case
  // where only the wal-index barrier flushes the buffer. Another connection (default VFS) reads every row
  // right after each commit.
  testing::TempDir dir;
  const std::string path = dir.file("unsynced.db");
  sqlite3* writer = open_buffered(path, "OFF");
  sqlite3* reader = open_plain(path);
  for (int round = 0; round < 5; ++round) {
    insert_rows(writer, 1 + round * 100, 100);
    CHECK(checked_rows(reader) == (round + 1) * 100);
  }
  CHECK(integrity(reader) == "ok");
  sqlite3_close(reader);
  sqlite3_close(writer);
}

TEST_CASE("wal buffer: checkpoints and restarts of the log by another connection lose nothing") {
  testing::TempDir dir;
  const std::string path = dir.file("restarts.db");
  sqlite3* writer = open_buffered(path, "FULL");
  sqlite3* other = open_plain(path);
  const char* modes[] = {"PASSIVE", "FULL", "RESTART", "TRUNCATE"};
  for (int round = 0; round < 8; ++round) {
    insert_rows(writer, 1 + round * 300, 300);
    sqlite::exec(other, std::string("PRAGMA wal_checkpoint(") + modes[round % 4] + ")");
  }
  CHECK(checked_rows(writer) == 2400);
  sqlite3_close(writer);
  // Reopened through the buffered VFS after all connections closed: the log was checkpointed away.
  sqlite3* reopened = open_buffered(path, "FULL");
  CHECK(checked_rows(reopened) == 2400);
  CHECK(integrity(reopened) == "ok");
  sqlite3_close(reopened);
  sqlite3_close(other);
}

TEST_CASE("wal buffer: a checkpoint reads the log ahead, and the database file alone then holds every row") {
  testing::TempDir dir;
  const std::string path = dir.file("read_ahead.db");
  sqlite3* writer = open_buffered(path, "FULL");
  for (int batch = 0; batch < 6; ++batch) insert_rows(writer, 1 + batch * 400, 400);
  // The checkpoint on a connection of its own, as the store's checkpointer thread runs it.
  sqlite3* checkpointer = sqlite::open_database(path, SQLITE_OPEN_READWRITE, "open");
  sqlite::exec(checkpointer, "PRAGMA journal_mode");  // reads the file: the connection is in WAL mode
  const auto before = sqlite::wal_buffer_stats();
  int log_frames = 0, copied_frames = 0;
  REQUIRE(sqlite3_wal_checkpoint_v2(checkpointer, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames, &copied_frames) ==
          SQLITE_OK);
  const auto after = sqlite::wal_buffer_stats();
  const uint64_t reads = after.checkpoint_reads - before.checkpoint_reads;
  const uint64_t fills = after.checkpoint_fills - before.checkpoint_fills;
  const uint64_t pages = after.checkpoint_pages - before.checkpoint_pages;
  const uint64_t writes = after.checkpoint_writes - before.checkpoint_writes;
  CHECK(copied_frames == log_frames);
  CHECK(reads >= static_cast<uint64_t>(copied_frames) * 9 / 10);  // nearly every copied frame
  CHECK(fills > 0);
  CHECK(fills * 10 < reads);
  // The pages it wrote into the database, most of them in runs: far fewer writes than pages.
  CHECK(pages >= static_cast<uint64_t>(copied_frames) * 9 / 10);
  CHECK(writes > 0);
  CHECK(writes * 10 < pages);
  // The log is empty now: a plain connection reads the rows from the database file the checkpoint wrote.
  sqlite3* reader = open_plain(path);
  CHECK(checked_rows(reader) == 2400);
  CHECK(integrity(reader) == "ok");
  // Reads outside a checkpoint are not read ahead.
  const auto quiet = sqlite::wal_buffer_stats();
  insert_rows(writer, 2401, 100);
  CHECK(checked_rows(writer) == 2500);
  CHECK(sqlite::wal_buffer_stats().checkpoint_fills == quiet.checkpoint_fills);
  sqlite3_close(reader);
  sqlite3_close(checkpointer);
  sqlite3_close(writer);
}

TEST_CASE("wal buffer: a checkpoint whose last pages cannot be written stops the process, and nothing is lost") {
  testing::TempDir dir;
  const std::string path = dir.file("fail_stop.db");
  sqlite3* writer = open_buffered(path, "FULL");
  insert_rows(writer, 1, 400);
  sqlite::exec(writer, "PRAGMA wal_checkpoint(TRUNCATE)");
  const auto database_bytes = std::filesystem::file_size(path);
  insert_rows(writer, 401, 20);  // pages past the file's end: the checkpoint's last run
  // A reader's snapshot ends the checkpoint there, short of the log's end (rows 421..440 after it): SQLite
  // then marks those frames as in the database without a further call that could report a failure.
  sqlite3* reader = open_plain(path);
  sqlite::exec(reader, "BEGIN");
  REQUIRE(checked_rows(reader) == 420);
  insert_rows(writer, 421, 20);
  const std::string message_file = dir.file("stderr");
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The file may not grow (writes past its size fail, as on a full disk). The checkpoint runs on a
    // connection of this process's own; the test runner's own handlers of the abort are set aside.
    signal(SIGABRT, SIG_DFL);
    signal(SIGXFSZ, SIG_IGN);
    const int out = ::open("/dev/null", O_WRONLY);
    const int err = ::open(message_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out >= 0) dup2(out, 1);
    if (err >= 0) dup2(err, 2);
    const rlimit limit{static_cast<rlim_t>(database_bytes), static_cast<rlim_t>(database_bytes)};
    setrlimit(RLIMIT_FSIZE, &limit);
    sqlite3* checkpointer = nullptr;
    if (sqlite3_open_v2(path.c_str(), &checkpointer, SQLITE_OPEN_READWRITE, sqlite::wal_buffer_vfs()) != SQLITE_OK)
      _exit(3);
    sqlite3_exec(checkpointer, "PRAGMA journal_mode", nullptr, nullptr, nullptr);
    const int rc = sqlite3_wal_checkpoint_v2(checkpointer, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    _exit(rc == SQLITE_OK ? 0 : 4);  // reached only when the failed write went unnoticed or was reported
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  if (WIFSIGNALED(status)) CHECK(WTERMSIG(status) == SIGABRT);
  if (WIFEXITED(status)) MESSAGE("the checkpoint's process exited with ", WEXITSTATUS(status));
  std::stringstream said;
  said << std::ifstream(message_file).rdbuf();
  CHECK(said.str().find("fail_stop.db") != std::string::npos);
  // Every row is still there: for the connections that stayed open, once the reader has let go of its
  // snapshot, and for one opened after they closed.
  sqlite::exec(reader, "COMMIT");
  CHECK(checked_rows(reader) == 440);
  CHECK(checked_rows(writer) == 440);
  CHECK(integrity(writer) == "ok");
  sqlite3_close(reader);
  sqlite3_close(writer);
  sqlite3* reopened = open_plain(path);
  CHECK(checked_rows(reopened) == 440);
  CHECK(integrity(reopened) == "ok");
  sqlite3_close(reopened);
}
