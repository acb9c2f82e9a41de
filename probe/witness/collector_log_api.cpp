#include "probe/witness/collector_log_api.hpp"

#include <nlohmann/json.hpp>

#include "tlog/note.hpp"

namespace kuzet::probe::witness {

namespace {

// A consistency proof has at most about 2 * log2(size) hashes: 128 covers every 64-bit tree.
constexpr size_t kMaxProofHashes = 128;

std::optional<std::string> fetched(const uplink::LogFetchResult& r, std::string* error) {
  if (r.ok) return r.body;
  if (error) *error = r.failure + (r.detail.empty() ? "" : " (" + r.detail + ")");
  return std::nullopt;
}

}  // namespace

std::optional<std::string> CollectorLogApi::key(std::string* error) {
  return fetched(client_.log_get("/log/key", 1024), error);
}

std::optional<std::string> CollectorLogApi::checkpoint(std::string* error) {
  return fetched(client_.log_get("/log/checkpoint", tlog::kMaxNoteBytes), error);
}

std::optional<std::vector<tlog::Hash>> CollectorLogApi::consistency(uint64_t from, uint64_t to, std::string* error) {
  const auto body = fetched(
      client_.log_get("/log/consistency?from=" + std::to_string(from) + "&to=" + std::to_string(to), 16 * 1024), error);
  if (!body) return std::nullopt;
  const auto j = nlohmann::json::parse(*body, nullptr, false);
  const auto proof = j.is_object() ? j.find("proof") : j.end();
  if (!j.is_object() || proof == j.end() || !proof->is_array() || proof->size() > kMaxProofHashes) {
    if (error) *error = "consistency answer is not {\"proof\": [hashes]}";
    return std::nullopt;
  }
  std::vector<tlog::Hash> hashes;
  for (const auto& item : *proof) {
    tlog::Hash h;
    if (!item.is_string() || !tlog::hash_from_base64(item.get_ref<const std::string&>(), &h)) {
      if (error) *error = "consistency proof holds something that is not a base64 SHA-256 hash";
      return std::nullopt;
    }
    hashes.push_back(h);
  }
  return hashes;
}

}  // namespace kuzet::probe::witness
