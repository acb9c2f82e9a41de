// Hostile checkpoints, notes and tlog-proofs (from a collector, a bundle, a witness's disk): every parser of lib/tlog
// must answer, never throw or crash. One input feeds all of them.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/crypto/signing.hpp"
#include "tlog/entry.hpp"
#include "tlog/note.hpp"
#include "tlog/proof.hpp"
#include "tlog/tiles.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuzet::tlog;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // A fixed key, so inputs signed by it exercise verification past the parser.
  static const NoteSigner signer = make_signer("kuzet.example.org/log", kuzet::core::ed25519_from_seed(std::string(32, 'k')));
  static const NoteVerifier verifier = verifier_of(signer);
  std::string error;
  auto note = open_note(input, {verifier}, &error);
  if (!note && error.empty()) std::abort();
  if (note && note->verified.empty()) std::abort();
  auto checkpoint = open_checkpoint(input, verifier, &error);
  if (checkpoint && checkpoint->origin != verifier.name) std::abort();
  if (auto body = parse_checkpoint(input, &error); body && checkpoint_text(*body) != input) std::abort();
  parse_verifier_key(input, &error);
  parse_signer_key(input, &error);
  if (auto tile = parse_tile_path(input, &error); tile && tile_path(*tile) != input) std::abort();
  decode_entry_bundle(input, &error);
  if (auto entry = parse_entry(input, &error); entry && encode_entry(*entry) != input) std::abort();
  if (auto proof = parse_tlog_proof(input, &error)) {
    if (format_tlog_proof(*proof) != input) std::abort();
    if (auto cp = verify_tlog_proof(*proof, leaf_hash(proof->extra.value_or("")), verifier, &error);
        cp && proof->index >= cp->size)
      std::abort();
  }
  return 0;
}
