#pragma once
// Untrusted JSON straight to its RFC 8785 canonical form in one pass over the bytes, without a DOM: what the
// collector does with every uploaded envelope (issue 17: nlohmann's DOM and then JCS over it cost ~45 % of
// ingest). It refuses everything core::parse_json refuses (the same limits, duplicate keys anywhere, invalid
// UTF-8, lone surrogates, trailing bytes) and everything core::canonicalize refuses, and writes the same bytes
// as canonicalize(parse_json(text)). A few rare forms it leaves to that slow path (`unsupported`). The
// json_canonical fuzz target holds it to all of this.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding/json_parse.hpp"

namespace kuzet::core {

inline constexpr size_t kNoParent = static_cast<size_t>(-1);

// A member of the root object, or of an object that is the value of such a member (member_depth 2).
struct JsonMember {
  size_t parent = kNoParent;  // index in CanonicalJson::members of the member whose value holds this one
  std::string name;           // decoded
  std::string_view raw;       // the value's bytes in the text (valid JSON by then)
  std::string canonical;      // the value's canonical form; members of the root object only (the others' are
                              // parts of it, and copying them all would cost what this reader saves)
};

struct CanonicalJson {
  std::string error;       // "" on success
  bool unsupported = false;  // with error: a form this reader leaves to parse_json + canonicalize, which
                             // decide (integers beyond ±2^53, numbers beyond a double's range); not a refusal
  std::string canonical;   // the whole document's canonical form
  std::vector<JsonMember> members;  // in document order; only with member_depth > 0
  bool ok() const { return error.empty(); }
};

// member_depth: 0 = no members; 1 = the root object's; 2 = also those of objects that are its members' values.
CanonicalJson canonical_json(std::string_view text, const JsonLimits& limits, size_t member_depth = 0);

}  // namespace kuzet::core
