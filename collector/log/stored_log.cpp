#include "collector/log/stored_log.hpp"

#include <algorithm>
#include <stdexcept>

#include "collector/store/sqlite/sqlite_util.hpp"

namespace kuzet::collector::log {

using sqlite::Statement;

std::vector<tlog::Hash> read_log_hashes(sqlite3* db, const std::vector<tlog::Subtree>& subtrees) {
  std::vector<tlog::Hash> out;
  out.reserve(subtrees.size());
  Statement st(db, "SELECT idx, hash FROM log_hashes WHERE level = ? AND idx >= ? AND idx <= ? ORDER BY idx");
  for (size_t i = 0; i < subtrees.size();) {
    size_t run = 1;
    while (i + run < subtrees.size() && subtrees[i + run].level == subtrees[i].level &&
           subtrees[i + run].index == subtrees[i].index + run)
      ++run;
    st.reset();
    st.bind(1, static_cast<int64_t>(subtrees[i].level));
    st.bind(2, static_cast<int64_t>(subtrees[i].index));
    st.bind(3, static_cast<int64_t>(subtrees[i].index + run - 1));
    size_t got = 0;
    while (st.step()) {
      const std::string hash = st.blob_at(1);
      if (static_cast<uint64_t>(st.int_at(0)) != subtrees[i].index + got || hash.size() != 32) break;
      out.emplace_back();
      std::copy(hash.begin(), hash.end(), out.back().begin());
      ++got;
    }
    if (got != run) {
      throw std::runtime_error("log hash missing: level " + std::to_string(subtrees[i].level) + " index " +
                               std::to_string(subtrees[i].index + got));
    }
    i += run;
  }
  return out;
}

bool has_log_tables(sqlite3* db) {
  Statement st(db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                   "('log_entries', 'log_hashes', 'log_checkpoints')");
  st.step();
  return st.int_at(0) == 3;
}

uint64_t stored_log_size(sqlite3* db) {
  Statement st(db, "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries");
  st.step();
  return static_cast<uint64_t>(st.int_at(0));
}

std::optional<std::string> read_latest_checkpoint(sqlite3* db) {
  Statement st(db, "SELECT note FROM log_checkpoints ORDER BY id DESC LIMIT 1");
  if (!st.step()) return std::nullopt;
  return st.text_at(0);
}

std::optional<StoredEntry> read_log_entry(sqlite3* db, const std::string& uid) {
  Statement st(db, "SELECT idx, entry FROM log_entries WHERE uid = ?");
  st.bind(1, uid);
  if (!st.step()) return std::nullopt;
  return StoredEntry{static_cast<uint64_t>(st.int_at(0)), st.blob_at(1)};
}

}  // namespace kuzet::collector::log
