#include "tlog/entry.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

#include "core/jcs.hpp"
#include "core/time.hpp"
#include "tlog/tiles.hpp"

namespace kuzet::tlog {

namespace {

std::string rfc3339_ms(int64_t ms) {
  return core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(ms)));
}

}  // namespace

std::string encode_entry(const LogEntry& entry) {
  return core::canonicalize(nlohmann::json{{"schema", kEntrySchema},
                                           {"measurement_uid", entry.measurement_uid},
                                           {"envelope_sha256", entry.envelope_sha256},
                                           {"key_id", entry.key_id},
                                           {"started_at", rfc3339_ms(entry.started_at_ms)},
                                           {"received_at", rfc3339_ms(entry.received_at_ms)}});
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
  if (j.is_discarded() || !j.is_object() || j.size() != 6) return fail("log entry is not a JSON object of six fields");
  for (const char* name : {"schema", "measurement_uid", "envelope_sha256", "key_id", "started_at", "received_at"})
    if (!j.contains(name) || !j[name].is_string()) return fail("log entry field missing or not a string");
  if (j["schema"] != kEntrySchema) return fail("unknown log entry schema");
  LogEntry entry;
  entry.measurement_uid = j["measurement_uid"];
  entry.envelope_sha256 = j["envelope_sha256"];
  entry.key_id = j["key_id"];
  const auto started = core::parse_rfc3339(j["started_at"]);
  const auto received = core::parse_rfc3339(j["received_at"]);
  if (!started || !received) return fail("log entry time is not RFC 3339");
  entry.started_at_ms = core::to_unix_ms(*started);
  entry.received_at_ms = core::to_unix_ms(*received);
  if (encode_entry(entry) != bytes) return fail("log entry is not in canonical form");
  return entry;
}

}  // namespace kuzet::tlog
