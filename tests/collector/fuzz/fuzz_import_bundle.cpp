// Fuzzes `kuzet-collector import` of a JSON Lines bundle (kuzet-probe export) without a database: each line is
// a key statement (checked like a registration, POST /api/v1/probes/register) or an envelope, checked against
// the keys the bundle registered before it, as collector/main.cpp does.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "collector/ingest/key_statement.hpp"
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
    const std::string line(bundle.substr(start, end - start));
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line.find("\"registered_at\"") != std::string::npos && line.find("\"measurement\"") == std::string::npos) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (looks_like_key_statement(j)) {
        ProbeKey key;
        if (check_key_statement(j, &key).empty()) {
          // A key is registered under the id of the public key the statement names, nothing else.
          if (key.key_id.empty() || key.public_key != j["public_key"].get<std::string>()) __builtin_trap();
          keys.emplace(key.key_id, key.first_seen_ms);
        }
        continue;
      }
    }
    const auto checked = check_envelope(line, options);
    if (checked.reason.empty() && checked.row.envelope != line) __builtin_trap();
  }
  return 0;
}
