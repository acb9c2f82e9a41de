#include "core/crypto/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>

namespace kuzet::core {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string to_hex(const uint8_t* data, size_t len) {
  static const char* digits = "0123456789abcdef";
  std::string out(len * 2, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 0xf];
  }
  return out;
}

// The algorithm is fetched once and each thread keeps one context: OpenSSL 3's SHA256() fetches it on
// every call, under a shared lock, which costs more than hashing the transparency log's 65-byte nodes
// (docs/benchmarks.md, "Collector ingest: burst and steady state").
void sha256_into(std::initializer_list<std::string_view> parts, uint8_t* out) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);  // never freed: used until exit
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  thread_local const std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  bool ok = md && ctx && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx.get(), part.data(), part.size()) == 1;
  if (!ok || EVP_DigestFinal_ex(ctx.get(), out, nullptr) != 1) throw std::runtime_error("SHA-256 failed");
}

std::vector<uint8_t> sha256_raw(std::string_view data) {
  std::vector<uint8_t> md(SHA256_DIGEST_LENGTH);
  sha256_into({data}, md.data());
  return md;
}

std::string sha256_hex(std::string_view data) {
  auto md = sha256_raw(data);
  return to_hex(md.data(), md.size());
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
          c == '='))
      return std::nullopt;
  }
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock does not strip padding from the length.
  size_t pad = 0;
  if (!text.empty() && text.back() == '=') ++pad;
  if (text.size() > 1 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::optional<std::string> base64_decode_canonical(std::string_view text) {
  auto decoded = base64_decode(text);
  if (!decoded) return std::nullopt;
  // The same test as encoding again and comparing, without the encoding: '=' only as the padding, and the
  // bits of the last symbol that padding leaves unused all zero.
  const size_t pad = text.size() / 4 * 3 - decoded->size();
  if (pad > 2 || text.find('=') < text.size() - pad) return std::nullopt;
  if (pad > 0) {
    const char last = text[text.size() - pad - 1];
    const int value = last >= 'A' && last <= 'Z'   ? last - 'A'
                      : last >= 'a' && last <= 'z' ? last - 'a' + 26
                      : last >= '0' && last <= '9' ? last - '0' + 52
                      : last == '+'                ? 62
                                                   : 63;
    if ((value & (pad == 1 ? 0x3 : 0xF)) != 0) return std::nullopt;
  }
  return decoded;
}

std::string random_hex(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(bytes)) != 1) throw std::runtime_error("RAND_bytes failed");
  return to_hex(buf.data(), buf.size());
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  uint8_t out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const uint8_t*>(data.data()),
            data.size(), out, &len))
    throw std::runtime_error("HMAC-SHA-256 failed");
  return to_hex(out, len);
}

}  // namespace kuzet::core
