#pragma once
// The transparency log as the collector's SQLite database holds it (tables log_entries, log_hashes and
// log_checkpoints; collector/store/sqlite_store.cpp), read through any connection. The store serves the API from
// it and kuzet-report builds proofs from a read-only copy (--db) with the same code.
// Compiled into kuzet_collector (the store needs it); collector/log's service sits on top.
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tlog/merkle.hpp"

namespace kuzet::collector::log {

// Stored subtree hashes (tlog::Frontier::append), in the order asked: a run of consecutive indexes on one
// level is one range query (tiles). Throws std::runtime_error when one is missing.
std::vector<tlog::Hash> read_log_hashes(sqlite3* db, const std::vector<tlog::Subtree>& subtrees);

// A connection's log hashes as a tlog::HashSource. The caller serializes use of the connection.
class SqliteLogHashes : public tlog::HashSource {
 public:
  explicit SqliteLogHashes(sqlite3* db) : db_(db) {}
  std::vector<tlog::Hash> read(const std::vector<tlog::Subtree>& subtrees) override {
    return read_log_hashes(db_, subtrees);
  }

 private:
  sqlite3* db_;
};

// Whether the database has the log's tables (schema 3 and later).
bool has_log_tables(sqlite3* db);
// Entries stored: one past the highest index.
uint64_t stored_log_size(sqlite3* db);
// The last signed checkpoint the collector stored (the signed note, as served at /log/checkpoint).
std::optional<std::string> read_latest_checkpoint(sqlite3* db);

struct StoredEntry {
  uint64_t index = 0;
  std::string entry;  // tlog::encode_entry bytes
};
// The log entry of a measurement; nullopt when it has none.
std::optional<StoredEntry> read_log_entry(sqlite3* db, const std::string& uid);

}  // namespace kuzet::collector::log
