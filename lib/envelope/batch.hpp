#pragma once
// A batch of measurements signed once: RFC 6962/9162 Merkle hashing (lib/tlog) over the batch's
// measurements, one Ed25519 signature over the root and the size, and an audit path per measurement so
// each one is still verifiable alone (docs/protocol.md, "Batch-signed envelope").
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/merkle.hpp"

namespace kuzet::envelope {

// Names the scheme in the envelope ("batch": {"scheme": ...}) and is the first line of what is signed.
inline constexpr std::string_view kBatchScheme = "kuzet.measurement-batch/1";
// At most 2^16 measurements under one signature: audit paths of at most 16 hashes.
inline constexpr uint64_t kMaxBatchSize = uint64_t{1} << 16;

// The leaf of the measurement at `index`: tlog::leaf_hash("kuzet.measurement-batch/1 leaf <index>\n" ||
// JCS(measurement)). The index is inside the leaf so that even two identical measurements in one batch
// have one valid index each: no byte of an envelope can change and still verify.
tlog::Hash batch_leaf(uint64_t index, std::string_view canonical_measurement);

// What the key signs: "kuzet.measurement-batch/1\n<tree_size>\n<base64 of the root>\n". It starts with
// "kuzet.", never with "{" as the JCS bytes a /1 envelope signs do, so one signature can never pass for
// the other kind.
std::string batch_message(uint64_t tree_size, const tlog::Hash& root);

// The tree over a batch's leaves: its root and every leaf's audit path (RFC 9162 2.1.3.1).
struct BatchTree {
  tlog::Hash root{};
  std::vector<std::vector<tlog::Hash>> paths;
};
// Throws std::invalid_argument when leaves is empty or longer than kMaxBatchSize.
BatchTree build_batch_tree(const std::vector<tlog::Hash>& leaves);

}  // namespace kuzet::envelope
