#pragma once
// Parsing and checking of upload bodies (untrusted input; fuzzed by tests/collector/fuzz_upload_body.cpp).
// No I/O: the key lookup is passed in.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/store.hpp"

namespace kuzet::collector {

// Rejection reasons of docs/protocol.md.
namespace reason {
inline constexpr std::string_view malformed = "malformed";
inline constexpr std::string_view unknown_key = "unknown_key";
inline constexpr std::string_view bad_signature = "bad_signature";
inline constexpr std::string_view future_timestamp = "future_timestamp";
inline constexpr std::string_view conflict = "conflict";
inline constexpr std::string_view too_large = "too_large";
}  // namespace reason

// {"measurements": [envelope, ...]} split into the exact bytes of each envelope, so the store keeps what
// the probe signed and sent. error is "" on success, else "malformed" or "too_large" (with detail).
struct UploadBody {
  std::string error;
  std::string detail;
  std::vector<std::string_view> envelopes;  // views into the body
};
UploadBody split_upload_body(std::string_view body, size_t max_items);

// One envelope after the checks that need no database write.
struct CheckedEnvelope {
  std::string reason;     // "" = good so far; else a reason of docs/protocol.md
  bool not_json = false;  // the bytes are not JSON at all (the whole body is then malformed)
  NewMeasurement row;     // row.uid is set whenever the envelope names one, even when rejected
  double parse_ms = 0, verify_ms = 0;  // CPU time of the checking thread
};

struct CheckOptions {
  int64_t now_ms = 0;
  int64_t max_future_ms = 10 * 60 * 1000;
  // true when the key_id is registered. Called from several threads at once.
  std::function<bool(const std::string& key_id)> key_known;
};

// Parses one envelope and checks, in order: shape (malformed), key registered (unknown_key),
// started_at not too far ahead (future_timestamp), signature (core::verify_envelope). Never throws.
CheckedEnvelope check_envelope(std::string_view raw, const CheckOptions& options);

// Same as parse + check of a single element, for callers that already hold the parsed JSON.
CheckedEnvelope check_envelope_json(std::string_view raw, const nlohmann::json& envelope, const CheckOptions& options);

}  // namespace kuzet::collector
