#pragma once
// Signed measurement envelopes (docs/protocol.md), both kinds every verifier accepts:
//   /1     {"measurement": M, "public_key": b64, "signature": b64(Ed25519(JCS(M)))}
//   batch  {"measurement": M, "public_key": b64,
//           "batch": {"scheme": "kuzet.measurement-batch/1", "leaf_index": i, "tree_size": n,
//                     "audit_path": [b64 hash, ...], "signature": b64(Ed25519(batch_message(n, root)))}}
// where root is the Merkle root (envelope/batch.hpp) the leaf of M at i and its audit path lead to.
// Every byte of either kind is covered by the signature or by the hash chain to it.
#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/crypto/signing.hpp"

namespace kuzet::envelope {

// Field names of the envelope.
namespace field {
inline constexpr const char* measurement = "measurement";
inline constexpr const char* public_key = "public_key";
inline constexpr const char* signature = "signature";
inline constexpr const char* batch = "batch";
inline constexpr const char* scheme = "scheme";
inline constexpr const char* leaf_index = "leaf_index";
inline constexpr const char* tree_size = "tree_size";
inline constexpr const char* audit_path = "audit_path";
}  // namespace field

// Verdicts of verify(); "" when it verifies.
inline constexpr const char* kMalformed = "malformed";
inline constexpr const char* kBadSignature = "bad_signature";

// One signature per measurement (/1).
nlohmann::json sign(const nlohmann::json& measurement, const core::KeyPair& key);
// One signature for all of `measurements` (split into batches of at most kMaxBatchSize): the envelopes in
// the same order. Throws std::invalid_argument for a measurement JCS cannot represent.
std::vector<nlohmann::json> sign_batch(const std::vector<nlohmann::json>& measurements, const core::KeyPair& key);

// What an envelope's validity rests on once its shape is right: Ed25519 by public_key over message.
struct SignatureClaim {
  std::string public_key;  // 32 raw bytes
  std::string message;     // JCS(M) for /1, batch_message(n, root) for a batch
  std::string signature;   // 64 raw bytes
  bool batch = false;
};
// Checks the shape (exactly the fields above, canonical base64, sizes, the audit path's length for its
// index and size) and computes the claim; "" or kMalformed. Never throws.
std::string claim_of(const nlohmann::json& envelope, SignatureClaim* claim);
// The same, with JCS(envelope's measurement) already made by the caller (core::canonical_json, which reads the
// bytes once): envelope's measurement is then only checked to be an object.
std::string claim_of(const nlohmann::json& envelope, std::string_view canonical_measurement, SignatureClaim* claim);

// Remembers batch signatures already checked, so the envelopes of one batch cost one Ed25519 verification
// between them. Safe to share between threads; each distinct claim is verified once. One per upload or
// per bundle: it grows with the distinct batches it sees.
class SignatureCache {
 public:
  bool verify(const SignatureClaim& claim);
  // Ed25519 verifications done so far (a /1 claim is never remembered: one each).
  size_t verifications() const { return verifications_; }

 private:
  struct Verdict {
    std::once_flag once;
    bool ok = false;
  };
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<Verdict>> verdicts_;
  std::atomic<size_t> verifications_{0};
};

// "" when the envelope is well-formed and its signature verifies; otherwise kMalformed or kBadSignature.
// Does not check whether the key is known. `cache` may be null.
std::string verify(const nlohmann::json& envelope, SignatureCache* cache = nullptr);
// The same with the measurement's canonical form given (claim_of above).
std::string verify(const nlohmann::json& envelope, std::string_view canonical_measurement, SignatureCache* cache);

}  // namespace kuzet::envelope
