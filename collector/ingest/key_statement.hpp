#pragma once
// A probe's self-signed key statement {"public_key", "registered_at", "signature"} (docs/protocol.md,
// POST /api/v1/probes/register), also the first lines of a `kuzet-probe export` bundle.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "collector/store/store.hpp"
#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"
#include "core/encoding/jcs.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/time.hpp"

namespace kuzet::collector::ingest {

// A statement is ~200 bytes of flat JSON; anything much bigger or nested is refused unparsed.
inline constexpr core::JsonLimits kKeyStatementLimits{.max_bytes = 64u << 10, .max_depth = 4, .max_values = 64};

// True when j has the statement's shape (and is not an envelope): the caller then checks it.
inline bool looks_like_key_statement(const nlohmann::json& j) {
  return j.is_object() && j.contains("public_key") && j.contains("registered_at") && !j.contains("measurement");
}

// "" and *key filled when the statement is well-formed and signed by the key it names; else
// "malformed" or "bad_signature".
inline std::string check_key_statement(const nlohmann::json& j, ProbeKey* key) {
  if (!j.is_object() || !j.contains("public_key") || !j["public_key"].is_string() || !j.contains("registered_at") ||
      !j["registered_at"].is_string() || !j.contains("signature") || !j["signature"].is_string())
    return "malformed";
  const auto& pk_b64 = j["public_key"].get_ref<const std::string&>();
  auto pk = core::base64_decode(pk_b64);
  if (!pk || pk->size() != 32) return "malformed";
  const auto registered_at = core::parse_rfc3339(j["registered_at"].get<std::string>());
  if (!registered_at) return "malformed";
  auto sig = core::base64_decode(j["signature"].get<std::string>());
  nlohmann::json signed_part{{"public_key", pk_b64}, {"registered_at", j["registered_at"]}};
  if (!sig || !core::ed25519_verify(*pk, core::canonicalize(signed_part), *sig)) return "bad_signature";
  // An imported bundle is the operator's choice: its own signed registration time (never later than now)
  // is what its measurements' backfill window counts from (docs/collector.md).
  const int64_t now_ms = core::to_unix_ms(std::chrono::system_clock::now());
  *key = ProbeKey{core::key_id(*pk), pk_b64, std::min(now_ms, core::to_unix_ms(*registered_at))};
  return "";
}

}  // namespace kuzet::collector::ingest
