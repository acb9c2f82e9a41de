#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"
#include "core/encoding/jcs.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

using namespace kuzet::core;
using nlohmann::json;

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string hex(const std::string& raw) { return to_hex(reinterpret_cast<const uint8_t*>(raw.data()), raw.size()); }

}  // namespace

TEST_CASE("RFC 8032 test 1: seed, public key and signature") {
  const auto key = ed25519_from_seed(from_hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  CHECK(hex(key.public_key) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const auto signature = ed25519_sign(key, "");
  CHECK(hex(signature) ==
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe"
        "24655141438e7a100b");
  CHECK(ed25519_verify(key.public_key, "", signature));
  CHECK_FALSE(ed25519_verify(key.public_key, "x", signature));
  CHECK_FALSE(ed25519_verify(key.public_key, "", signature.substr(0, 63)));
  CHECK_FALSE(ed25519_verify(key.public_key.substr(1), "", signature));
}

TEST_CASE("seeds and generated keys") {
  CHECK_THROWS_AS(ed25519_from_seed("short"), std::invalid_argument);
  const auto a = generate_ed25519();
  const auto b = generate_ed25519();
  CHECK(a.private_key.size() == 32);
  CHECK(a.public_key.size() == 32);
  CHECK(a.public_key != b.public_key);
  CHECK(ed25519_from_seed(a.private_key).public_key == a.public_key);
  const auto signature = ed25519_sign(a, "message");
  CHECK(ed25519_verify(a.public_key, "message", signature));
  CHECK_FALSE(ed25519_verify(b.public_key, "message", signature));
}

TEST_CASE("network keys: HKDF-SHA256 known answer, per network, deterministic") {
  std::string master;
  for (int i = 1; i <= 32; ++i) master.push_back(static_cast<char>(i));
  // Computed independently with Python's hmac: HKDF(salt="kuzet-network-key/v1", ikm=01..20, info="KZ:9198").
  const auto kz = derive_network_key(master, "KZ", 9198);
  CHECK(hex(kz.private_key) == "08c6888a46c13f3d1abae42d9f83ccf5e78e2204bcaaf2613759d46b2125b6f3");
  CHECK(kz.public_key == ed25519_from_seed(kz.private_key).public_key);
  CHECK(derive_network_key(master, "KZ", 9198).public_key == kz.public_key);
  CHECK(derive_network_key(master, "KZ", 9199).public_key != kz.public_key);
  CHECK(derive_network_key(master, "RU", 9198).public_key != kz.public_key);
  std::string other_master = master;
  other_master[0] ^= 1;
  CHECK(derive_network_key(other_master, "KZ", 9198).public_key != kz.public_key);
  CHECK_THROWS_AS(derive_network_key("too short", "KZ", 9198), std::invalid_argument);
}

TEST_CASE("key_id is the first 16 hex chars of SHA-256 of the public key") {
  const auto key = generate_ed25519();
  CHECK(key_id(key.public_key) == sha256_hex(key.public_key).substr(0, 16));
  CHECK(key_id(key.public_key).size() == 16);
}

TEST_CASE("hex_digit: both cases, and -1 for anything else") {
  CHECK(kuzet::core::hex_digit('0') == 0);
  CHECK(kuzet::core::hex_digit('9') == 9);
  CHECK(kuzet::core::hex_digit('a') == 10);
  CHECK(kuzet::core::hex_digit('F') == 15);
  for (char c : {'g', 'G', 'x', ' ', '/', ':', '@', '`', '\0'}) CHECK(kuzet::core::hex_digit(c) == -1);
}

// base64_decode_canonical checks the spelling without encoding again; it must accept exactly what decoding and
// encoding again gives back unchanged. Every text one symbol away from a canonical one, for values of 0..6
// bytes, covers padding in the middle, missing or extra padding and non-zero unused bits.
TEST_CASE("base64_decode_canonical: exactly the texts that encode back to themselves") {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ .";
  size_t accepted = 0, refused = 0;
  for (size_t size = 0; size <= 6; ++size) {
    std::string value;
    for (size_t i = 0; i < size; ++i) value.push_back(static_cast<char>(0x5A * (i + 1) + size));
    const std::string canonical = base64_encode(value);
    REQUIRE(base64_decode_canonical(canonical) == value);
    for (size_t at = 0; at < canonical.size(); ++at) {
      for (char c : alphabet) {
        std::string text = canonical;
        text[at] = c;
        const auto reference = base64_decode(text);
        const bool expected = reference && base64_encode(*reference) == text;
        const auto got = base64_decode_canonical(text);
        CHECK_MESSAGE(got.has_value() == expected, text);
        if (got && expected) CHECK(*got == *reference);
        (expected ? accepted : refused)++;
      }
    }
  }
  CHECK(accepted > 100);  // both sides of the line are exercised
  CHECK(refused > 100);
  CHECK_FALSE(base64_decode_canonical("QQ=").has_value());
  CHECK_FALSE(base64_decode_canonical("QR==").has_value());  // 'R' leaves unused bits set
  CHECK(base64_decode_canonical("QQ==") == std::string("A"));
}
