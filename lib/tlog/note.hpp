#pragma once
// C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and C2SP checkpoints
// (https://c2sp.org/tlog-checkpoint). Parsing takes untrusted bytes: bounded, never throws, says why.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto/signing.hpp"
#include "tlog/merkle.hpp"

namespace kuzet::tlog {

// Limits on what a parser accepts: a checkpoint is a few hundred bytes.
inline constexpr size_t kMaxNoteBytes = 64 * 1024;
inline constexpr size_t kMaxNoteSignatures = 100;
inline constexpr size_t kMaxKeyNameBytes = 256;

// Signature type byte of Ed25519 keys in signed notes.
inline constexpr unsigned char kEd25519Type = 0x01;

// A key name: non-empty, valid UTF-8, no whitespace, no '+'.
bool valid_key_name(std::string_view name);
// First 4 bytes (big endian) of SHA-256(name || "\n" || 0x01 || public key).
uint32_t ed25519_key_hash(std::string_view name, std::string_view public_key);

struct NoteVerifier {
  std::string name;
  uint32_t key_hash = 0;
  std::string public_key;  // 32 raw bytes
};
struct NoteSigner {
  std::string name;
  uint32_t key_hash = 0;
  core::KeyPair key;
};

// Throws std::invalid_argument when the name is not a valid key name.
NoteSigner make_signer(std::string name, const core::KeyPair& key);
NoteVerifier verifier_of(const NoteSigner& signer);

// "<name>+<8 hex digits key hash>+<base64(0x01 || public key)>"
std::string verifier_key_text(const NoteVerifier& verifier);
// "PRIVATE+KEY+<name>+<8 hex>+<base64(0x01 || seed)>" (the form Go's note.NewSigner reads).
std::string signer_key_text(const NoteSigner& signer);
// nullopt (and *error) when malformed or when the key hash does not match the name and key.
std::optional<NoteVerifier> parse_verifier_key(std::string_view text, std::string* error);
std::optional<NoteSigner> parse_signer_key(std::string_view text, std::string* error);

// Signs `text` (which must end in "\n", be valid UTF-8 without control characters other than newline, and
// have no blank line at its end) and returns the whole note. Throws std::invalid_argument otherwise.
std::string sign_note(std::string_view text, const NoteSigner& signer);

struct NoteSignature {
  std::string name;
  uint32_t key_hash = 0;
  std::string signature;  // raw bytes after the key hash
};
struct OpenedNote {
  std::string text;                       // the signed text, ending in "\n"
  std::vector<NoteSignature> verified;    // by one of the given verifiers
  std::vector<NoteSignature> unverified;  // by keys not given
};

// Parses a note and checks every signature whose (name, key hash) matches a verifier. nullopt with *error
// when the note is malformed, a known key's signature is bad, or no signature verifies.
std::optional<OpenedNote> open_note(std::string_view note, const std::vector<NoteVerifier>& verifiers,
                                    std::string* error);

// The body of a C2SP checkpoint.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // further non-empty lines, kept as they are
};
std::string checkpoint_text(const Checkpoint& checkpoint);
std::optional<Checkpoint> parse_checkpoint(std::string_view text, std::string* error);

// A signed checkpoint from `verifier`'s log: the note verifies with that key and its origin is the key name.
std::optional<Checkpoint> open_checkpoint(std::string_view note, const NoteVerifier& verifier, std::string* error);

}  // namespace kuzet::tlog
