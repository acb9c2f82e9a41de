// Hostile bytes into the bounded parser (core/encoding/json_parse.hpp): an answer, never a throw or a crash;
// a success is a value nlohmann agrees with, within the limits, without duplicate keys.
#include "core/encoding/json_parse.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
size_t depth_of(const nlohmann::json& v) {
  if (!v.is_structured()) return 0;
  size_t deepest = 0;
  for (const auto& child : v) deepest = std::max(deepest, depth_of(child));
  return deepest + 1;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kuzet::core::JsonLimits limits;
  limits.max_depth = 16;
  limits.max_values = 4096;
  const auto parsed = kuzet::core::parse_json(text, limits);
  if (!parsed.ok()) {
    if (!parsed.value.is_null()) std::abort();
    return 0;
  }
  if (depth_of(parsed.value) > limits.max_depth) std::abort();
  // Same document as nlohmann's own reading (which would also have taken a duplicate key silently).
  const auto reference = nlohmann::json::parse(text, nullptr, false);
  if (reference.is_discarded() || reference != parsed.value) std::abort();
  return 0;
}
