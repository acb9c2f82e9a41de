#include "collector/http/source.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace kuzet::collector::http {

namespace {

// Keeps the first `bits` bits of `bytes`.
void mask(unsigned char* bytes, size_t size, int bits) {
  for (size_t i = 0; i < size; ++i) {
    const int keep = std::clamp(bits - static_cast<int>(8 * i), 0, 8);
    bytes[i] &= static_cast<unsigned char>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
}

}  // namespace

std::optional<std::string> network_key(const std::string& ip, int v4_bits, int v6_bits) {
  unsigned char bytes[16];
  char text[INET6_ADDRSTRLEN];
  v4_bits = std::clamp(v4_bits, 0, 32);
  v6_bits = std::clamp(v6_bits, 0, 128);
  if (inet_pton(AF_INET, ip.c_str(), bytes) == 1) {
    mask(bytes, 4, v4_bits);
    inet_ntop(AF_INET, bytes, text, sizeof text);
    return std::string(text) + "/" + std::to_string(v4_bits);
  }
  if (inet_pton(AF_INET6, ip.c_str(), bytes) != 1) return std::nullopt;
  static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes, v4_mapped, 12) == 0) {
    mask(bytes + 12, 4, v4_bits);
    inet_ntop(AF_INET, bytes + 12, text, sizeof text);
    return std::string(text) + "/" + std::to_string(v4_bits);
  }
  mask(bytes, 16, v6_bits);
  inet_ntop(AF_INET6, bytes, text, sizeof text);
  return std::string(text) + "/" + std::to_string(v6_bits);
}

}  // namespace kuzet::collector::http
