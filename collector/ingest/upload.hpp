#pragma once
// Parsing and checking of upload bodies (untrusted input; fuzzed by tests/collector/fuzz_upload_body.cpp).
// No I/O: the key lookup is passed in.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/store/store.hpp"
#include "core/encoding/json_parse.hpp"
#include "envelope/envelope.hpp"

namespace kuzet::collector::ingest {

// Rejection reasons of docs/protocol.md.
namespace reason {
inline constexpr std::string_view malformed = "malformed";
inline constexpr std::string_view unknown_key = "unknown_key";
inline constexpr std::string_view bad_signature = "bad_signature";
inline constexpr std::string_view future_timestamp = "future_timestamp";
inline constexpr std::string_view backdated = "backdated";
inline constexpr std::string_view conflict = "conflict";
inline constexpr std::string_view too_large = "too_large";
inline constexpr std::string_view unsupported_encoding = "unsupported_encoding";  // a compressed body (415)
}  // namespace reason

// {"measurements": [envelope, ...]} split into the exact bytes of each envelope, so the store keeps what
// the probe signed and sent. error is "" on success, else "malformed" or "too_large" (with detail).
struct UploadBody {
  std::string error;
  std::string detail;
  std::vector<std::string_view> envelopes;  // views into the body
};
UploadBody split_upload_body(std::string_view body, size_t max_items);

// One envelope: at most the whole body, nested as deep as the body scanner allows, and values enough for
// any real measurement (a few thousand) while a hostile one stays within ~10 MB of parsed JSON.
inline constexpr core::JsonLimits kEnvelopeLimits{.max_bytes = 16u << 20, .max_depth = 64, .max_values = 100000};

// One envelope after the checks that need no database write.
struct CheckedEnvelope {
  std::string reason;     // "" = good so far; else a reason of docs/protocol.md
  bool not_json = false;  // the bytes are not JSON at all (the whole body is then malformed)
  NewMeasurement row;     // row.uid is set whenever the envelope names one, even when rejected
  double parse_ms = 0, verify_ms = 0;  // CPU time of the checking thread, when CheckOptions::timed
};

// The window started_at must fall in (docs/protocol.md): not ahead of the collector's clock by more than
// the clock skew we tolerate, not earlier than the key's first registration here by more than the
// backfill a probe may hold queued (a shutdown's results, uploaded when it ends).
inline constexpr int64_t kMaxFutureMs = 10 * 60 * 1000;
inline constexpr int64_t kMaxBackfillMs = 30LL * 24 * 3600 * 1000;

struct CheckOptions {
  int64_t now_ms = 0;
  int64_t max_future_ms = kMaxFutureMs;
  int64_t max_backfill_ms = kMaxBackfillMs;
  // When the key_id was first registered here (ms since the epoch); nullopt when it is not registered.
  // Called from several threads at once.
  std::function<std::optional<int64_t>(const std::string& key_id)> key_registered_ms;
  // Batch signatures already checked (one upload's, one bundle's): each distinct root is verified once.
  // Null: every envelope's signature is verified.
  envelope::SignatureCache* signatures = nullptr;
  // Fill CheckedEnvelope's parse_ms and verify_ms (the benchmark's breakdown). Off in the collector: the
  // thread CPU clock is a system call, several per envelope, ~7 % of serve's CPU when it was always on.
  bool timed = false;
};

// Parses one envelope (strict as core::parse_json with kEnvelopeLimits: duplicate keys are malformed) and
// checks, in order: shape (malformed), key registered (unknown_key),
// started_at not too far ahead (future_timestamp) nor before the key's registration minus the backfill
// (backdated), signature (envelope::verify). Never throws. Reads the bytes once (core::canonical_json) and
// builds a DOM only of the members it reads; what that reader refuses or leaves goes to
// check_envelope_with_dom, so every answer is the one check_envelope_with_dom gives (the upload_check
// fuzz target compares them).
CheckedEnvelope check_envelope(std::string_view raw, const CheckOptions& options);
// The same checks over nlohmann's DOM of the whole envelope (core::parse_json, then JCS over the DOM).
CheckedEnvelope check_envelope_with_dom(std::string_view raw, const CheckOptions& options);

// The checks of check_envelope on JSON the caller parsed with core::parse_json(raw, kEnvelopeLimits)
// (nlohmann's own parser would let duplicate keys through).
CheckedEnvelope check_envelope_json(std::string_view raw, const nlohmann::json& envelope, const CheckOptions& options);

}  // namespace kuzet::collector::ingest
