// Arbitrary bytes → JSON → canonical form. Refusals are fine; crashes and non-idempotence are not.
#include "core/encoding/jcs.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto value = nlohmann::json::parse(data, data + size, nullptr, false);
  if (value.is_discarded()) return 0;
  std::string canonical;
  try {
    canonical = kuzet::core::canonicalize(value);
  } catch (const std::invalid_argument&) {
    return 0;
  }
  // The canonical form must itself parse and be a fixed point.
  const auto again = nlohmann::json::parse(canonical, nullptr, false);
  if (again.is_discarded() || kuzet::core::canonicalize(again) != canonical) std::abort();
  return 0;
}
