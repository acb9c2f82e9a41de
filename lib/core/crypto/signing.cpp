#include "core/crypto/signing.hpp"

#include "core/crypto/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace kuzet::core {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;

const unsigned char* bytes(std::string_view text) { return reinterpret_cast<const unsigned char*>(text.data()); }

constexpr size_t key_size = 32;
constexpr size_t signature_size = 64;

}  // namespace

KeyPair ed25519_from_seed(std::string_view seed32) {
  if (seed32.size() != key_size) throw std::invalid_argument("ed25519 seed must be 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(seed32), seed32.size()));
  if (!key) throw std::runtime_error("EVP_PKEY_new_raw_private_key failed");
  std::string public_key(key_size, '\0');
  size_t length = public_key.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(public_key.data()), &length) != 1 ||
      length != key_size)
    throw std::runtime_error("EVP_PKEY_get_raw_public_key failed");
  return KeyPair{std::string(seed32), public_key};
}

KeyPair generate_ed25519() {
  std::string seed(key_size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(seed.data()), static_cast<int>(seed.size())) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return ed25519_from_seed(seed);
}

std::string ed25519_sign(const KeyPair& key, std::string_view message) {
  if (key.private_key.size() != key_size) throw std::invalid_argument("ed25519 private key must be 32 bytes");
  Pkey pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes(key.private_key), key_size));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx) throw std::runtime_error("ed25519_sign: allocation failed");
  std::string signature(signature_size, '\0');
  size_t length = signature.size();
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes(message),
                     message.size()) != 1 ||
      length != signature_size)
    throw std::runtime_error("ed25519_sign: EVP_DigestSign failed");
  return signature;
}

bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != key_size || signature.size() != signature_size) return false;
  Pkey pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(public_key), key_size));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!pkey || !ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(message), message.size()) == 1;
}

KeyPair derive_network_key(std::string_view master_secret, const std::string& cc, uint32_t asn) {
  if (master_secret.size() != key_size) throw std::invalid_argument("probe master secret must be 32 bytes");
  static constexpr std::string_view salt = "kuzet-network-key/v1";
  const std::string info = cc + ":" + std::to_string(asn);
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  std::string seed(key_size, '\0');
  size_t length = seed.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_hkdf_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(ctx.get(), bytes(salt), static_cast<int>(salt.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(ctx.get(), bytes(master_secret), static_cast<int>(master_secret.size())) != 1 ||
      EVP_PKEY_CTX_add1_hkdf_info(ctx.get(), bytes(info), static_cast<int>(info.size())) != 1 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(seed.data()), &length) != 1 ||
      length != key_size)
    throw std::runtime_error("HKDF-SHA256 derivation failed");
  return ed25519_from_seed(seed);
}

std::string key_id(std::string_view public_key) { return sha256_hex(public_key).substr(0, 16); }

}  // namespace kuzet::core
