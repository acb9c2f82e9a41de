#pragma once
// Ed25519 identities (the envelopes they sign are lib/envelope, docs/protocol.md).
#include <nlohmann/json_fwd.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace kuzet::core {

struct KeyPair {
  std::string private_key;  // 32 raw bytes (the Ed25519 seed)
  std::string public_key;   // 32 raw bytes
};

KeyPair generate_ed25519();
KeyPair ed25519_from_seed(std::string_view seed32);  // throws std::invalid_argument if not 32 bytes
std::string ed25519_sign(const KeyPair& key, std::string_view message);  // 64 raw bytes
bool ed25519_verify(std::string_view public_key, std::string_view message, std::string_view signature);

// A probe never signs with one key across networks: the key for a network (country + ASN) is derived
// from the probe's 32-byte secret with HKDF-SHA256 (salt "kuzet-network-key/v1", info "CC:ASN").
KeyPair derive_network_key(std::string_view master_secret, const std::string& cc, uint32_t asn);

// Short, stable identifier of a public key: first 16 hex chars of SHA-256(public key).
std::string key_id(std::string_view public_key);

}  // namespace kuzet::core
