#include "tlog/note.hpp"

#include <charconv>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <utility>

#include "core/crypto/crypto.hpp"
#include "core/encoding/utf8.hpp"

namespace kuzet::tlog {

namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // EM DASH, space
constexpr std::string_view kPrivateKeyPrefix = "PRIVATE+KEY+";

// Strict UTF-8 code points; nullopt when the bytes are not UTF-8.
std::optional<std::vector<char32_t>> code_points(std::string_view text) {
  try {
    return core::decode_utf8(text);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

bool is_unicode_space(char32_t cp) {
  return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Valid UTF-8 with no control character other than newline (the signed-note rule for a whole note).
bool valid_note_bytes(std::string_view text) {
  const auto decoded = code_points(text);
  if (!decoded) return false;
  for (char32_t cp : *decoded)
    if ((cp < 0x20 && cp != '\n') || cp == 0x7F) return false;
  return true;
}

uint32_t big_endian32(std::string_view four) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(four[static_cast<size_t>(i)]);
  return v;
}

std::string big_endian_bytes(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i, v >>= 8) out[static_cast<size_t>(i)] = static_cast<char>(v & 0xFF);
  return out;
}

std::string hex8(uint32_t v) {
  const std::string bytes = big_endian_bytes(v);
  return core::to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::optional<uint32_t> parse_hex8(std::string_view text) {
  if (text.size() != 8) return std::nullopt;
  uint32_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  return v;
}

// At most max_parts parts: the last one keeps any further separators (base64 keys contain '+').
std::vector<std::string_view> split(std::string_view text, char separator, size_t max_parts = SIZE_MAX) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = parts.size() + 1 == max_parts ? std::string_view::npos : text.find(separator, start);
    if (at == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

template <typename T>
std::optional<T> fail(std::string* error, std::string why) {
  if (error) *error = std::move(why);
  return std::nullopt;
}

// name, hash and "0x01 || 32 bytes" of a key string; the key hash is checked against name and key.
std::optional<std::pair<std::string, std::string>> parse_key_parts(std::string_view name, std::string_view hash_hex,
                                                                   std::string_view key_b64, bool is_private,
                                                                   std::string* error) {
  if (!valid_key_name(name)) return fail<std::pair<std::string, std::string>>(error, "invalid key name");
  const auto hash = parse_hex8(hash_hex);
  if (!hash) return fail<std::pair<std::string, std::string>>(error, "key hash is not 8 lowercase hex digits");
  const auto key = core::base64_decode_canonical(key_b64);
  if (!key || key->size() != 33) return fail<std::pair<std::string, std::string>>(error, "key is not base64 of 33 bytes");
  if (static_cast<unsigned char>((*key)[0]) != kEd25519Type)
    return fail<std::pair<std::string, std::string>>(error, "unsupported key type (only Ed25519, 0x01)");
  std::string key32 = key->substr(1);
  const std::string public_key = is_private ? core::ed25519_from_seed(key32).public_key : key32;
  if (ed25519_key_hash(name, public_key) != *hash)
    return fail<std::pair<std::string, std::string>>(error, "key hash does not match the name and key");
  return std::pair{std::string(name), key32};
}

}  // namespace

bool valid_key_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxKeyNameBytes) return false;
  const auto decoded = code_points(name);
  if (!decoded) return false;
  for (char32_t cp : *decoded)
    if (cp < 0x20 || cp == 0x7F || cp == '+' || is_unicode_space(cp)) return false;
  return true;
}

uint32_t ed25519_key_hash(std::string_view name, std::string_view public_key) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kEd25519Type));
  input.append(public_key);
  const auto digest = core::sha256_raw(input);
  return big_endian32(std::string_view(reinterpret_cast<const char*>(digest.data()), 4));
}

NoteSigner make_signer(std::string name, const core::KeyPair& key) {
  if (!valid_key_name(name)) throw std::invalid_argument("invalid signed-note key name: " + name);
  NoteSigner signer;
  signer.key_hash = ed25519_key_hash(name, key.public_key);
  signer.name = std::move(name);
  signer.key = key;
  return signer;
}

NoteVerifier verifier_of(const NoteSigner& signer) { return {signer.name, signer.key_hash, signer.key.public_key}; }

std::string verifier_key_text(const NoteVerifier& verifier) {
  std::string key(1, static_cast<char>(kEd25519Type));
  key += verifier.public_key;
  return verifier.name + "+" + hex8(verifier.key_hash) + "+" + core::base64_encode(key);
}

std::string signer_key_text(const NoteSigner& signer) {
  std::string key(1, static_cast<char>(kEd25519Type));
  key += signer.key.private_key;
  return std::string(kPrivateKeyPrefix) + signer.name + "+" + hex8(signer.key_hash) + "+" + core::base64_encode(key);
}

std::optional<NoteVerifier> parse_verifier_key(std::string_view text, std::string* error) {
  if (text.size() > kMaxKeyNameBytes + 64) return fail<NoteVerifier>(error, "verifier key too long");
  const auto parts = split(text, '+', 3);
  if (parts.size() != 3) return fail<NoteVerifier>(error, "verifier key is not name+hash+key");
  const auto key = parse_key_parts(parts[0], parts[1], parts[2], false, error);
  if (!key) return std::nullopt;
  return NoteVerifier{key->first, *parse_hex8(parts[1]), key->second};
}

std::optional<NoteSigner> parse_signer_key(std::string_view text, std::string* error) {
  if (text.size() > kMaxKeyNameBytes + 80) return fail<NoteSigner>(error, "signer key too long");
  if (text.substr(0, kPrivateKeyPrefix.size()) != kPrivateKeyPrefix)
    return fail<NoteSigner>(error, "signer key does not start with PRIVATE+KEY+");
  const auto parts = split(text.substr(kPrivateKeyPrefix.size()), '+', 3);
  if (parts.size() != 3) return fail<NoteSigner>(error, "signer key is not PRIVATE+KEY+name+hash+key");
  const auto key = parse_key_parts(parts[0], parts[1], parts[2], true, error);
  if (!key) return std::nullopt;
  return make_signer(key->first, core::ed25519_from_seed(key->second));
}

std::string sign_note(std::string_view text, const NoteSigner& signer) {
  if (text.empty() || text.back() != '\n' || text.size() > kMaxNoteBytes / 2 ||
      (text.size() >= 2 && text.substr(text.size() - 2) == "\n\n") || !valid_note_bytes(text))
    throw std::invalid_argument("note text must be UTF-8 lines ending in a newline, without control characters");
  const std::string signature = big_endian_bytes(signer.key_hash) + core::ed25519_sign(signer.key, text);
  std::string note(text);
  note += "\n";
  note += kSignaturePrefix;
  note += signer.name + " " + core::base64_encode(signature) + "\n";
  return note;
}

std::optional<OpenedNote> open_note(std::string_view note, const std::vector<NoteVerifier>& verifiers,
                                    std::string* error) {
  if (note.size() > kMaxNoteBytes) return fail<OpenedNote>(error, "note larger than " + std::to_string(kMaxNoteBytes) + " bytes");
  if (!valid_note_bytes(note)) return fail<OpenedNote>(error, "note is not UTF-8 text without control characters");
  const size_t split_at = note.rfind("\n\n");
  if (split_at == std::string_view::npos) return fail<OpenedNote>(error, "note has no signature block");
  OpenedNote out;
  out.text = std::string(note.substr(0, split_at + 1));
  std::string_view signatures = note.substr(split_at + 2);
  if (signatures.empty() || signatures.back() != '\n') return fail<OpenedNote>(error, "signature block must end in a newline");

  std::set<std::pair<std::string, uint32_t>> seen;
  std::set<std::string_view> seen_unverified;
  size_t count = 0;
  while (!signatures.empty()) {
    const size_t end = signatures.find('\n');
    std::string_view line = signatures.substr(0, end);
    signatures.remove_prefix(end + 1);
    if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix)
      return fail<OpenedNote>(error, "signature line does not start with an em dash and a space");
    line.remove_prefix(kSignaturePrefix.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) return fail<OpenedNote>(error, "signature line has no key name");
    const std::string_view name = line.substr(0, space);
    const auto decoded = core::base64_decode_canonical(line.substr(space + 1));
    if (!valid_key_name(name) || !decoded || decoded->size() < 5)
      return fail<OpenedNote>(error, "malformed signature line");
    if (++count > kMaxNoteSignatures) return fail<OpenedNote>(error, "too many signatures");
    NoteSignature signature{std::string(name), big_endian32(*decoded), decoded->substr(4)};
    const NoteVerifier* verifier = nullptr;
    for (const auto& v : verifiers)
      if (v.name == signature.name && v.key_hash == signature.key_hash) verifier = &v;
    if (!verifier) {
      if (seen_unverified.insert(line).second) out.unverified.push_back(std::move(signature));
      continue;
    }
    if (!seen.insert({signature.name, signature.key_hash}).second) continue;
    if (!core::ed25519_verify(verifier->public_key, out.text, signature.signature))
      return fail<OpenedNote>(error, "signature by " + signature.name + " does not verify");
    out.verified.push_back(std::move(signature));
  }
  if (out.verified.empty()) return fail<OpenedNote>(error, "no signature by a known key");
  return out;
}

std::string checkpoint_text(const Checkpoint& checkpoint) {
  std::string text = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" + hash_base64(checkpoint.root) + "\n";
  for (const auto& line : checkpoint.extensions) text += line + "\n";
  return text;
}

std::optional<Checkpoint> parse_checkpoint(std::string_view text, std::string* error) {
  if (text.size() > kMaxNoteBytes) return fail<Checkpoint>(error, "checkpoint too large");
  if (text.empty() || text.back() != '\n') return fail<Checkpoint>(error, "checkpoint must end in a newline");
  if (!valid_note_bytes(text)) return fail<Checkpoint>(error, "checkpoint is not UTF-8 text without control characters");
  auto lines = split(text.substr(0, text.size() - 1), '\n');
  if (lines.size() < 3) return fail<Checkpoint>(error, "checkpoint needs origin, size and root hash lines");
  Checkpoint cp;
  if (lines[0].empty()) return fail<Checkpoint>(error, "empty origin line");
  cp.origin = std::string(lines[0]);
  const auto size_line = lines[1];
  if (size_line.empty() || size_line.size() > 20 || (size_line.size() > 1 && size_line[0] == '0'))
    return fail<Checkpoint>(error, "tree size is not a decimal number");
  auto [p, ec] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), cp.size);
  if (ec != std::errc() || p != size_line.data() + size_line.size())
    return fail<Checkpoint>(error, "tree size is not a decimal number");
  if (!hash_from_base64(lines[2], &cp.root)) return fail<Checkpoint>(error, "root hash is not base64 of 32 bytes");
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return fail<Checkpoint>(error, "empty extension line");
    cp.extensions.emplace_back(lines[i]);
  }
  return cp;
}

std::optional<Checkpoint> open_checkpoint(std::string_view note, const NoteVerifier& verifier, std::string* error) {
  auto opened = open_note(note, {verifier}, error);
  if (!opened) return std::nullopt;
  auto cp = parse_checkpoint(opened->text, error);
  if (!cp) return std::nullopt;
  if (cp->origin != verifier.name) return fail<Checkpoint>(error, "checkpoint origin is not the log key's name");
  return cp;
}

}  // namespace kuzet::tlog
