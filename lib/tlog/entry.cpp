#include "tlog/entry.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

#include "core/encoding/jcs.hpp"
#include "core/time.hpp"
#include "core/vocabulary/network_check.hpp"
#include "tlog/tiles.hpp"

namespace kuzet::tlog {

namespace {

std::string rfc3339_ms(int64_t ms) {
  return core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(ms)));
}

// A vantage tag: the collector's are 16 hex digits (collector/vantage), the replay generator's
// "replay-<hex>"; either way short, lower-case letters, digits and hyphens.
bool valid_tag(const std::string& s) {
  if (s.size() > 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-')) return false;
  return true;
}

}  // namespace

// Written member by member in RFC 8785 order (the names sorted by bytes) instead of through a DOM and
// core::canonicalize: one entry per stored measurement, on the ingest path. The strings are written by JCS's
// own string writer, so the bytes are canonicalize's (the golden in tests/tlog/test_tiles.cpp, and the
// tlog_note fuzz target's round trip).
std::string encode_entry(const LogEntry& entry) {
  std::string out = "{";
  auto member = [&out](std::string_view name, std::string_view value) {
    if (out.size() > 1) out.push_back(',');
    core::append_canonical_string(name, out);
    out.push_back(':');
    core::append_canonical_string(value, out);
  };
  const bool v1 = entry.version == 1;
  member("envelope_sha256", entry.envelope_sha256);
  member("key_id", entry.key_id);
  member("measurement_uid", entry.measurement_uid);
  if (!v1) member("network_check", entry.network_check);
  member("received_at", rfc3339_ms(entry.received_at_ms));
  member("schema", v1 ? kEntrySchemaV1 : kEntrySchema);
  member("started_at", rfc3339_ms(entry.started_at_ms));
  if (!v1) member("vantage_point", entry.vantage_point);
  out.push_back('}');
  return out;
}

std::optional<LogEntry> parse_entry(std::string_view bytes, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<LogEntry> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (bytes.size() > kMaxEntryBytes) return fail("log entry longer than 65535 bytes");
  // Depth is bounded by the canonical-form check below only after parsing, so refuse nesting up front.
  if (bytes.find_first_of("[") != std::string_view::npos || bytes.find('{', 1) != std::string_view::npos)
    return fail("log entry is not a flat JSON object");
  const auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("log entry is not a JSON object");
  if (!j.contains("schema") || !j["schema"].is_string()) return fail("log entry has no schema");
  LogEntry entry;
  if (j["schema"] == kEntrySchemaV1) entry.version = 1;
  else if (j["schema"] != kEntrySchema) return fail("unknown log entry schema");
  if (j.size() != (entry.version == 1 ? 6u : 8u)) return fail("log entry has other fields than its schema's");
  for (const char* name : {"measurement_uid", "envelope_sha256", "key_id", "started_at", "received_at"})
    if (!j.contains(name) || !j[name].is_string()) return fail("log entry field missing or not a string");
  entry.measurement_uid = j["measurement_uid"];
  entry.envelope_sha256 = j["envelope_sha256"];
  entry.key_id = j["key_id"];
  if (entry.version == 2) {
    for (const char* name : {"vantage_point", "network_check"})
      if (!j.contains(name) || !j[name].is_string()) return fail("log entry field missing or not a string");
    entry.vantage_point = j["vantage_point"];
    entry.network_check = j["network_check"];
    if (!valid_tag(entry.vantage_point)) return fail("log entry vantage_point is not a tag");
    if (!core::network_check::is_known_or_unchecked(entry.network_check)) return fail("log entry network_check is not a known word");
  }
  const auto started = core::parse_rfc3339(j["started_at"]);
  const auto received = core::parse_rfc3339(j["received_at"]);
  if (!started || !received) return fail("log entry time is not RFC 3339");
  entry.started_at_ms = core::to_unix_ms(*started);
  entry.received_at_ms = core::to_unix_ms(*received);
  if (encode_entry(entry) != bytes) return fail("log entry is not in canonical form");
  return entry;
}

}  // namespace kuzet::tlog
