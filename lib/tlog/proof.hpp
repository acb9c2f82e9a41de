#pragma once
// C2SP tlog-proof (https://c2sp.org/tlog-proof): one entry's offline-verifiable proof of inclusion as text:
//   c2sp.org/tlog-proof@v1
//   extra <base64>            (optional; unauthenticated data the verifier needs, e.g. the entry's bytes)
//   index <n>
//   <base64 hash>             (zero or more: the inclusion proof, the leaf's sibling first)
//   <empty line>
//   <the checkpoint's signed note, verbatim>
// Parsing takes untrusted bytes: bounded, never throws, says why. It checks the form only; whether the proof
// leads to the checkpoint's root and the checkpoint is signed is the caller's (verify_tlog_proof).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/merkle.hpp"
#include "tlog/note.hpp"

namespace kuzet::tlog {

inline constexpr std::string_view kTlogProofHeader = "c2sp.org/tlog-proof@v1";
inline constexpr size_t kMaxProofHashes = 64;  // a tree of fewer than 2^64 leaves
// Room for an entry of 65,535 bytes (tlog-tiles' cap) in base64 (87,380), 64 hashes and a note of 64 KiB.
inline constexpr size_t kMaxTlogProofBytes = 256 * 1024;

struct TlogProof {
  std::optional<std::string> extra;  // raw bytes; nullopt = no extra line
  uint64_t index = 0;
  std::vector<Hash> inclusion;
  std::string checkpoint;  // the signed note, verbatim
  bool operator==(const TlogProof&) const = default;
};

std::string format_tlog_proof(const TlogProof& proof);
// nullopt (and *error) when the text is not in the form above: wrong header, an index with a sign or a
// leading zero, a hash that is not canonical base64 of 32 bytes, more than 64 hashes, no empty line before
// the checkpoint, or larger than kMaxTlogProofBytes.
std::optional<TlogProof> parse_tlog_proof(std::string_view text, std::string* error);

// The checkpoint it carries, signed by `verifier`'s log, and the inclusion of `leaf` at the proof's index
// under its root. nullopt (and *error naming which) otherwise.
std::optional<Checkpoint> verify_tlog_proof(const TlogProof& proof, const Hash& leaf, const NoteVerifier& verifier,
                                            std::string* error);

}  // namespace kuzet::tlog
