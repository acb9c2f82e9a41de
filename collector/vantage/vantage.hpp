#pragma once
// Independent vantage points (docs/timelines.md, "Vantage points"): what the collector learns about where an
// upload came from, without keeping where it came from. From the source address of an upload it derives a
// pseudonymous tag — HMAC-SHA-256 under a key rotated every UTC day, over the address's /24 (IPv4) or /48
// (IPv6) and the source's ASN — and it checks the network the measurements claim against the IP->ASN
// database. The address itself is never stored, never logged, and the tag cannot be linked across days.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collector/network/asn_db.hpp"
#include "core/vocabulary/network_check.hpp"

namespace kuzet::collector::vantage {

namespace network_check = core::network_check;

// What an upload's connection tells about its measurements (nothing of it is the address).
struct UploadSource {
  std::string tag;  // pseudonymous vantage tag; "" = no source (an import)
  network::AsnInfo network;  // the source's network per the IP->ASN database (asn 0: unknown)
};

// The claimed (cc, asn) against the source's network: mismatch when the ASN differs, or both countries are
// known and differ; unknown when the database knows nothing of the source.
std::string_view check_network(const std::string& claimed_cc, uint32_t claimed_asn, const network::AsnInfo& source);

// A key vouches only for what it measured after the collector first saw it: a measurement started more
// than this before its key's registration gives no independent support (a probe's first run measures
// before it registers; fresh keys backdating results by months do not count).
inline constexpr int64_t kKeyBackdateGraceMs = 60 * 60 * 1000;

// The vantage point a measurement supports (docs/timelines.md, "Vantage points"): its upload's tag, or ""
// when the source contradicted the claimed network or the measurement started more than the grace before
// its key's registration (key_first_seen_ms nullopt: no key known, no such limit). The timeline index
// applies the same rule in SQL; the transparency log's entry carries the result (lib/tlog/entry.hpp).
std::string supporting_tag(const std::string& tag, std::string_view check, int64_t started_at_ms,
                           std::optional<int64_t> key_first_seen_ms);

// Decisive local evidence, like OONI's "confirmed": for an interference verdict, the analysis matched a known
// blockpage fingerprint or interception root, or the packets showed a forged reset or DNS reply
// (core::evidence::decisive).
// `evidence` is the measurement's evidence array of {key, value}; anything else is not decisive.
bool has_decisive_evidence(std::string_view verdict, const nlohmann::json& evidence);
// The decisive {key, value} items themselves, in the evidence's order (empty when there are none).
std::vector<std::pair<std::string, std::string>> decisive_evidence(std::string_view verdict,
                                                                   const nlohmann::json& evidence);

// The network part of an address a tag is made of: "4:192.0.2.0/24" or "6:2001:db8:1::/48" (IPv4-mapped
// IPv6 counts as IPv4). nullopt when the text is not an IP literal.
std::optional<std::string> source_prefix(const std::string& ip);

class VantageTagger {
 public:
  // key_file "": the day's key lives in memory only (a restart then starts a new key, and the same source
  // gets a second tag that day). With a file, the day's key survives restarts; the file (mode 0600) holds
  // only the current day's key, so yesterday's tags cannot be recomputed. Throws std::runtime_error when an
  // existing key file cannot be read (startup).
  explicit VantageTagger(std::string key_file = "");

  // 16 hex characters; "" when `ip` is not an address. Thread-safe.
  std::string tag(const std::string& ip, uint32_t source_asn, int64_t now_ms);
  // The tag and the database's answer for the source address of an upload.
  UploadSource source(const std::string& ip, const network::AsnDatabase& asn_db, int64_t now_ms);

 private:
  void rotate_locked(int64_t day);

  std::mutex mutex_;
  std::string key_file_;
  int64_t day_ = INT64_MIN;  // UTC day (days since the epoch) of key_
  std::string key_;          // 32 random bytes
};

}  // namespace kuzet::collector::vantage
