#pragma once
// The one way Kuzet parses JSON that came from outside (network, uploads, files): bounded in bytes,
// nesting depth and number of values, and strict about duplicate object keys, which nlohmann's own
// parser silently resolves (last one wins) — a signature checked over one reading of a document while
// another reading is served would make unsigned bytes look signed. See docs/protocol.md.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace kuzet::core {

struct JsonLimits {
  size_t max_bytes = 1 << 20;
  size_t max_depth = 64;         // arrays and objects open at once
  size_t max_values = 1 << 20;   // scalars, arrays and objects in the whole document
};

struct ParsedJson {
  nlohmann::json value;  // null when error is set
  std::string error;     // "" on success; else a human-readable reason ("duplicate key \"a\" at byte 12", ...)
  bool ok() const { return error.empty(); }
};

// Parses exactly one JSON document (surrounding whitespace allowed; nothing after it, not even after a NUL). Memory stays proportional to the
// input (≤ max_bytes) and the work stops at the first limit crossed. Never throws.
ParsedJson parse_json(std::string_view text, const JsonLimits& limits);

}  // namespace kuzet::core
