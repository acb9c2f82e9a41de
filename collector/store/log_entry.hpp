#pragma once
// The transparency-log entry of a stored measurement, the same on every engine (SQLite, PostgreSQL): the
// vantage point it supports (vantage::supporting_tag) needs its key's registration time.
#include <optional>
#include <string>

#include "collector/vantage/vantage.hpp"
#include "tlog/entry.hpp"

namespace kuzet::collector {

inline tlog::LogEntry measurement_log_entry(const std::string& uid, const std::string& content_hash,
                                            const std::string& key_id, int64_t started_at_ms, int64_t received_at_ms,
                                            const std::string& tag, const std::string& check,
                                            std::optional<int64_t> key_first_seen_ms) {
  tlog::LogEntry e;
  e.measurement_uid = uid;
  e.envelope_sha256 = content_hash;
  e.key_id = key_id;
  e.started_at_ms = started_at_ms;
  e.received_at_ms = received_at_ms;
  e.vantage_point = vantage::supporting_tag(tag, check, started_at_ms, key_first_seen_ms);
  e.network_check = check;
  return e;
}

}  // namespace kuzet::collector
