#pragma once
// Small helpers over OpenSSL used everywhere: digests, encodings, randomness.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::core {

std::string sha256_hex(std::string_view data);
std::vector<uint8_t> sha256_raw(std::string_view data);
// SHA-256 of the concatenation of `parts`, written to out[0..32). Throws std::runtime_error if OpenSSL fails.
void sha256_into(std::initializer_list<std::string_view> parts, uint8_t* out);
std::string to_hex(const uint8_t* data, size_t len);
// The value of one hex digit, either case; -1 for any other character.
int hex_digit(char c);
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view text);  // nullopt when malformed
// Only the one canonical spelling of a value (padding where the length needs it, unused bits zero), so that
// a signed or hashed value cannot be written two ways; nullopt otherwise.
std::optional<std::string> base64_decode_canonical(std::string_view text);
std::string random_hex(size_t bytes);  // from a CSPRNG
// HMAC-SHA-256 of data under key, lowercase hex (64 characters).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

}  // namespace kuzet::core
