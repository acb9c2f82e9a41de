// Differential: core::canonical_json (one pass over the bytes) against core::parse_json + core::canonicalize
// (nlohmann's DOM), on the same limits. Where the fast reader accepts, the DOM path accepts with the same
// canonical bytes, each recorded member's raw bytes are valid JSON and a root member's canonical form is theirs; where it refuses (not
// "unsupported"), the DOM path refuses too.
#include "core/encoding/canonical_json.hpp"
#include "core/encoding/jcs.hpp"
#include "core/encoding/json_parse.hpp"

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

std::optional<std::string> canonical_by_dom(std::string_view text, const kuzet::core::JsonLimits& limits) {
  const auto parsed = kuzet::core::parse_json(text, limits);
  if (!parsed.ok()) return std::nullopt;
  try {
    return kuzet::core::canonicalize(parsed.value);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  kuzet::core::JsonLimits limits;
  limits.max_depth = 16;
  limits.max_values = 4096;
  const auto fast = kuzet::core::canonical_json(text, limits, 2);
  const auto reference = canonical_by_dom(text, limits);
  if (!fast.ok()) {
    if (!fast.unsupported && reference) std::abort();  // refused what the DOM path accepts
    if (!fast.canonical.empty() || !fast.members.empty()) std::abort();
    return 0;
  }
  if (!reference || *reference != fast.canonical) std::abort();
  for (size_t i = 0; i < fast.members.size(); ++i) {
    const auto& member = fast.members[i];
    if (member.parent != kuzet::core::kNoParent && member.parent >= i) std::abort();
    const auto raw_canonical = canonical_by_dom(member.raw, limits);
    if (!raw_canonical) std::abort();
    if (member.parent == kuzet::core::kNoParent && *raw_canonical != member.canonical) std::abort();
    if (member.parent != kuzet::core::kNoParent && !member.canonical.empty()) std::abort();
  }
  return 0;
}
