// Fuzzes `kuzet-collector import` of a JSON Lines bundle (kuzet-probe export) without a database: each line is
// classified by the import's own classify_bundle_line (a key statement, checked like a registration, or an
// envelope), and envelopes are checked against the keys the bundle registered before them.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "collector/ingest/bundle.hpp"
#include "collector/ingest/upload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuzet::collector;
  using namespace kuzet::collector::ingest;
  const std::string_view bundle(reinterpret_cast<const char*>(data), size);
  std::map<std::string, int64_t> keys;  // key id -> when the bundle registered it
  CheckOptions options;
  options.now_ms = 1700000000000;
  options.key_registered_ms = [&keys](const std::string& key_id) -> std::optional<int64_t> {
    auto it = keys.find(key_id);
    if (it == keys.end()) return std::nullopt;
    return it->second;
  };
  size_t start = 0;
  while (start < bundle.size()) {
    size_t end = bundle.find('\n', start);
    if (end == std::string_view::npos) end = bundle.size();
    const std::string_view line = bundle.substr(start, end - start);
    start = end + 1;
    const auto classified = classify_bundle_line(line);
    if (classified.kind == BundleLine::Kind::blank) continue;
    if (classified.kind == BundleLine::Kind::key_statement) {
      if (classified.refusal.empty()) {
        // A key is registered under the id of the public key the statement names, nothing else.
        if (classified.key.key_id.empty() || line.find(classified.key.public_key) == std::string_view::npos)
          __builtin_trap();
        keys.emplace(classified.key.key_id, classified.key.first_seen_ms);
      }
      continue;
    }
    const auto checked = check_envelope(line, options);
    if (checked.reason.empty() && checked.row.envelope != line) __builtin_trap();
  }
  return 0;
}
