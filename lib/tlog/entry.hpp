#pragma once
// Kuzet's log entry: what the collector's transparency log commits to for each stored measurement
// (docs/transparency-log.md). The entry's bytes are the JCS (RFC 8785) form of
//   {"envelope_sha256": hex, "key_id": hex16, "measurement_uid": uid, "received_at": RFC 3339 ms,
//    "schema": "kuzet.log-entry/1", "started_at": RFC 3339 ms}
// so anyone can rebuild them from a stored envelope and its receipt time.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kuzet::tlog {

inline constexpr std::string_view kEntrySchema = "kuzet.log-entry/1";

struct LogEntry {
  std::string measurement_uid;
  std::string envelope_sha256;  // lowercase hex of SHA-256 over the envelope bytes as stored
  std::string key_id;           // core::key_id of the probe's signing key
  int64_t started_at_ms = 0;
  int64_t received_at_ms = 0;
  bool operator==(const LogEntry&) const = default;
};

std::string encode_entry(const LogEntry& entry);
// Accepts only the canonical bytes encode_entry produces. nullopt (and *error) otherwise.
std::optional<LogEntry> parse_entry(std::string_view bytes, std::string* error);

}  // namespace kuzet::tlog
