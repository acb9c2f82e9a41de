#pragma once
// Kuzet measurement -> OONI Web Connectivity measurement (ooni/spec df-000-base + ts-017 test keys).
// Pure: the caller reads envelopes from the store and writes the lines. docs/ooni.md has the mapping.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace kuzet::ooni {

// What the collector knows about a stored envelope beyond the measurement itself.
struct EnvelopeFacts {
  std::string key_id;           // signer (core::key_id)
  std::string public_key;       // base64
  std::string signature;        // base64; "" for a batch-signed envelope (docs/protocol.md)
  std::string envelope_sha256;  // hex, of the stored bytes
  std::optional<uint64_t> log_index;
  nlohmann::json batch;  // a batch-signed envelope's "batch" (its signature and audit path), else null
};

// Kuzet-only facts (verdict, method, signature, log index, packet evidence) go under this key.
inline constexpr const char* kExtensionKey = "x_kuzet";

// OONI's "YYYY-MM-DD hh:mm:ss" (UTC, whole seconds) from Kuzet's RFC 3339; "" when unparsable.
std::string ooni_time(const std::string& rfc3339);

// `measurement` is the envelope's "measurement" object (kuzet.measurement/1). Throws std::invalid_argument
// when a required field (measurement_uid, input, started_at, observations) is missing or of the wrong type.
nlohmann::json to_ooni(const nlohmann::json& measurement, const EnvelopeFacts& facts);

// The same from a stored envelope's bytes (parsed with the bounded parser; invalid_argument on failure).
nlohmann::json envelope_to_ooni(const std::string& envelope, std::optional<uint64_t> log_index = std::nullopt);

}  // namespace kuzet::ooni
