#pragma once
// Kuzet's log entry: what the collector's transparency log commits to for each stored measurement
// (docs/transparency-log.md). The entry's bytes are the JCS (RFC 8785) form of
//   {"envelope_sha256": hex, "key_id": hex16, "measurement_uid": uid, "network_check": check,
//    "received_at": RFC 3339 ms, "schema": "kuzet.log-entry/2", "started_at": RFC 3339 ms,
//    "vantage_point": tag}
// so anyone can rebuild them from a stored envelope, its receipt time and what the collector learnt of the
// upload's source. /2 added the last two (issue 10: reports count independent vantage points, and a reader
// must be able to check that count offline); /1 entries, without them, stay valid and are still read.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kuzet::tlog {

inline constexpr std::string_view kEntrySchema = "kuzet.log-entry/2";
inline constexpr std::string_view kEntrySchemaV1 = "kuzet.log-entry/1";

struct LogEntry {
  std::string measurement_uid;
  std::string envelope_sha256;  // lowercase hex of SHA-256 over the envelope bytes as stored
  std::string key_id;           // core::key_id of the probe's signing key
  int64_t started_at_ms = 0;
  int64_t received_at_ms = 0;
  // The collector's word on independence (collector/vantage): the pseudonymous tag (<= 64 characters of
  // [0-9a-z-]) of the vantage point
  // this measurement supports, "" when it supports none (no known source, a claimed network the source
  // contradicts, a time before its key existed); and how the claimed network compared with the source's
  // ("match", "mismatch", "unknown", "" = not checked).
  std::string vantage_point;
  std::string network_check;
  int version = 2;  // 1: an entry written before /2 (the two fields above are then "")
  bool operator==(const LogEntry&) const = default;
};

std::string encode_entry(const LogEntry& entry);
// Accepts only the canonical bytes encode_entry produces (of either version). nullopt (and *error)
// otherwise.
std::optional<LogEntry> parse_entry(std::string_view bytes, std::string* error);

}  // namespace kuzet::tlog
