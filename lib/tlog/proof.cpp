#include "tlog/proof.hpp"

#include <charconv>

#include "core/crypto/crypto.hpp"

namespace kuzet::tlog {

namespace {

template <typename T>
std::optional<T> fail(std::string* error, const std::string& why) {
  if (error) *error = why;
  return std::nullopt;
}

// The next line (without its "\n") from `rest`; nullopt when no newline is left.
std::optional<std::string_view> next_line(std::string_view& rest) {
  const size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = rest.substr(0, nl);
  rest.remove_prefix(nl + 1);
  return line;
}

}  // namespace

std::string format_tlog_proof(const TlogProof& proof) {
  std::string out(kTlogProofHeader);
  out += '\n';
  if (proof.extra) out += "extra " + core::base64_encode(*proof.extra) + "\n";
  out += "index " + std::to_string(proof.index) + "\n";
  for (const auto& h : proof.inclusion) out += hash_base64(h) + "\n";
  out += '\n';
  out += proof.checkpoint;
  return out;
}

std::optional<TlogProof> parse_tlog_proof(std::string_view text, std::string* error) {
  if (text.size() > kMaxTlogProofBytes) return fail<TlogProof>(error, "tlog-proof larger than 256 KiB");
  std::string_view rest = text;
  auto line = next_line(rest);
  if (!line || *line != kTlogProofHeader)
    return fail<TlogProof>(error, "tlog-proof does not start with " + std::string(kTlogProofHeader));
  TlogProof proof;
  line = next_line(rest);
  if (line && line->substr(0, 6) == "extra ") {
    const std::string_view b64 = line->substr(6);
    auto raw = core::base64_decode_canonical(b64);
    if (!raw) return fail<TlogProof>(error, "tlog-proof extra is not base64");
    proof.extra = std::move(*raw);
    line = next_line(rest);
  }
  if (!line || line->substr(0, 6) != "index ") return fail<TlogProof>(error, "tlog-proof has no index line");
  const std::string_view digits = line->substr(6);
  if (digits.empty() || digits.size() > 20 || (digits.size() > 1 && digits[0] == '0'))
    return fail<TlogProof>(error, "tlog-proof index is not a decimal number");
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), proof.index);
  if (ec != std::errc() || end != digits.data() + digits.size())
    return fail<TlogProof>(error, "tlog-proof index is not a decimal number");
  while (true) {
    line = next_line(rest);
    if (!line) return fail<TlogProof>(error, "tlog-proof has no empty line before the checkpoint");
    if (line->empty()) break;
    if (proof.inclusion.size() == kMaxProofHashes)
      return fail<TlogProof>(error, "tlog-proof has more than 64 inclusion hashes");
    Hash h;
    if (!hash_from_base64(*line, &h))
      return fail<TlogProof>(error, "tlog-proof inclusion hash " + std::to_string(proof.inclusion.size() + 1) +
                                        " is not base64 of 32 bytes");
    proof.inclusion.push_back(h);
  }
  if (rest.empty()) return fail<TlogProof>(error, "tlog-proof has no checkpoint");
  proof.checkpoint = std::string(rest);
  return proof;
}

std::optional<Checkpoint> verify_tlog_proof(const TlogProof& proof, const Hash& leaf, const NoteVerifier& verifier,
                                            std::string* error) {
  std::string why;
  auto checkpoint = open_checkpoint(proof.checkpoint, verifier, &why);
  if (!checkpoint) return fail<Checkpoint>(error, "checkpoint: " + why);
  if (proof.index >= checkpoint->size)
    return fail<Checkpoint>(error, "index " + std::to_string(proof.index) + " is not below the checkpoint's size " +
                                       std::to_string(checkpoint->size));
  if (!verify_inclusion(leaf, proof.index, checkpoint->size, proof.inclusion, checkpoint->root))
    return fail<Checkpoint>(error, "inclusion proof (index " + std::to_string(proof.index) +
                                       ") does not lead to the checkpoint's root");
  return checkpoint;
}

}  // namespace kuzet::tlog
