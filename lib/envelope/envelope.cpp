#include "envelope/envelope.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>

#include "core/crypto/crypto.hpp"
#include "core/encoding/jcs.hpp"
#include "envelope/batch.hpp"

namespace kuzet::envelope {

namespace {

constexpr size_t kKeySize = 32;
constexpr size_t kSignatureSize = 64;
constexpr size_t kHashSize = 32;

// Strict base64: decodes and re-encodes to the same text, so one value has exactly one spelling.
std::optional<std::string> strict_base64(const nlohmann::json& value, size_t expected_size) {
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  auto decoded = core::base64_decode_canonical(text);
  if (!decoded || decoded->size() != expected_size) return std::nullopt;
  return decoded;
}

const nlohmann::json* member(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it == object.end() ? nullptr : &*it;
}

// A count of the batch: an integer (not 3.0, not "3") in [0, limit]. Parsed text gives unsigned values,
// JSON built in code may hold signed ones.
std::optional<uint64_t> count_field(const nlohmann::json* value, uint64_t limit) {
  if (!value || !value->is_number_integer()) return std::nullopt;
  if (!value->is_number_unsigned() && value->get<int64_t>() < 0) return std::nullopt;
  const auto n = value->get<uint64_t>();
  if (n > limit) return std::nullopt;
  return n;
}

std::string batch_claim(const nlohmann::json& batch, std::string_view canonical, SignatureClaim* claim) {
  if (!batch.is_object() || batch.size() != 5) return kMalformed;
  const auto* scheme = member(batch, field::scheme);
  if (!scheme || !scheme->is_string() || scheme->get_ref<const std::string&>() != kBatchScheme) return kMalformed;
  const auto size = count_field(member(batch, field::tree_size), kMaxBatchSize);
  const auto index = count_field(member(batch, field::leaf_index), kMaxBatchSize);
  const auto* path_field = member(batch, field::audit_path);
  const auto* signature_field = member(batch, field::signature);
  if (!size || *size == 0 || !index || *index >= *size || !path_field || !path_field->is_array() || !signature_field)
    return kMalformed;
  if (path_field->size() > 64) return kMalformed;
  std::vector<tlog::Hash> path;
  path.reserve(path_field->size());
  for (const auto& h : *path_field) {
    const auto raw = strict_base64(h, kHashSize);
    if (!raw) return kMalformed;
    tlog::Hash hash;
    std::copy(raw->begin(), raw->end(), hash.begin());
    path.push_back(hash);
  }
  auto signature = strict_base64(*signature_field, kSignatureSize);
  if (!signature) return kMalformed;
  // A path too long or too short for its index and size is not a proof of anything.
  const auto root = tlog::root_from_inclusion(batch_leaf(*index, canonical), *index, *size, path);
  if (!root) return kMalformed;
  claim->message = batch_message(*size, *root);
  claim->signature = std::move(*signature);
  claim->batch = true;
  return "";
}

}  // namespace

nlohmann::json sign(const nlohmann::json& measurement, const core::KeyPair& key) {
  return nlohmann::json{
      {field::measurement, measurement},
      {field::public_key, core::base64_encode(key.public_key)},
      {field::signature, core::base64_encode(core::ed25519_sign(key, core::canonicalize(measurement)))}};
}

std::vector<nlohmann::json> sign_batch(const std::vector<nlohmann::json>& measurements, const core::KeyPair& key) {
  std::vector<nlohmann::json> out;
  out.reserve(measurements.size());
  const std::string public_key = core::base64_encode(key.public_key);
  for (size_t begin = 0; begin < measurements.size(); begin += kMaxBatchSize) {
    const size_t end = std::min<size_t>(measurements.size(), begin + kMaxBatchSize);
    std::vector<tlog::Hash> leaves;
    leaves.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) leaves.push_back(batch_leaf(i - begin, core::canonicalize(measurements[i])));
    const BatchTree tree = build_batch_tree(leaves);
    const std::string signature = core::base64_encode(core::ed25519_sign(key, batch_message(leaves.size(), tree.root)));
    for (size_t i = begin; i < end; ++i) {
      nlohmann::json path = nlohmann::json::array();
      for (const auto& h : tree.paths[i - begin]) path.push_back(tlog::hash_base64(h));
      out.push_back({{field::measurement, measurements[i]},
                     {field::public_key, public_key},
                     {field::batch,
                      {{field::scheme, kBatchScheme},
                       {field::leaf_index, i - begin},
                       {field::tree_size, leaves.size()},
                       {field::audit_path, std::move(path)},
                       {field::signature, signature}}}});
    }
  }
  return out;
}

namespace {

// canonical_measurement: null = computed here.
std::string claim_with(const nlohmann::json& envelope, const std::string_view* canonical_measurement,
                       SignatureClaim* claim) {
  try {
    // Exactly three fields: nothing unsigned may ride along into storage.
    if (!envelope.is_object() || envelope.size() != 3) return kMalformed;
    const auto* measurement = member(envelope, field::measurement);
    const auto* public_key = member(envelope, field::public_key);
    if (!measurement || !measurement->is_object() || !public_key) return kMalformed;
    auto key = strict_base64(*public_key, kKeySize);
    if (!key) return kMalformed;
    claim->public_key = std::move(*key);
    // The caller's canonical form is read in place: a batch's claim needs only its leaf hash.
    std::string computed;
    if (!canonical_measurement) computed = core::canonicalize(*measurement);
    const std::string_view canonical = canonical_measurement ? *canonical_measurement : std::string_view(computed);
    if (const auto* batch = member(envelope, field::batch)) return batch_claim(*batch, canonical, claim);
    const auto* signature_field = member(envelope, field::signature);
    if (!signature_field) return kMalformed;
    auto signature = strict_base64(*signature_field, kSignatureSize);
    if (!signature) return kMalformed;
    claim->message = canonical_measurement ? std::string(canonical) : std::move(computed);
    claim->signature = std::move(*signature);
    claim->batch = false;
    return "";
  } catch (const std::exception&) {  // canonicalize refused the measurement (invalid UTF-8, too deep...)
    return kMalformed;
  }
}

}  // namespace

std::string claim_of(const nlohmann::json& envelope, SignatureClaim* claim) {
  return claim_with(envelope, nullptr, claim);
}

std::string claim_of(const nlohmann::json& envelope, std::string_view canonical_measurement, SignatureClaim* claim) {
  return claim_with(envelope, &canonical_measurement, claim);
}

bool SignatureCache::verify(const SignatureClaim& claim) {
  if (!claim.batch) {
    ++verifications_;
    return core::ed25519_verify(claim.public_key, claim.message, claim.signature);
  }
  std::shared_ptr<Verdict> verdict;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = verdicts_[claim.public_key + claim.signature + claim.message];
    if (!slot) slot = std::make_shared<Verdict>();
    verdict = slot;
  }
  std::call_once(verdict->once, [&] {
    ++verifications_;
    verdict->ok = core::ed25519_verify(claim.public_key, claim.message, claim.signature);
  });
  return verdict->ok;
}

namespace {

std::string verify_claim(const std::string& shape, const SignatureClaim& claim, SignatureCache* cache) {
  if (!shape.empty()) return shape;
  const bool ok = cache ? cache->verify(claim) : core::ed25519_verify(claim.public_key, claim.message, claim.signature);
  return ok ? "" : kBadSignature;
}

}  // namespace

std::string verify(const nlohmann::json& envelope, SignatureCache* cache) {
  SignatureClaim claim;
  const std::string shape = claim_of(envelope, &claim);
  return verify_claim(shape, claim, cache);
}

std::string verify(const nlohmann::json& envelope, std::string_view canonical_measurement, SignatureCache* cache) {
  SignatureClaim claim;
  const std::string shape = claim_of(envelope, canonical_measurement, &claim);
  return verify_claim(shape, claim, cache);
}

}  // namespace kuzet::envelope
