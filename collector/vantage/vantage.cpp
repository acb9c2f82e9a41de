#include "collector/vantage/vantage.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "collector/network/address.hpp"
#include "core/crypto/crypto.hpp"
#include "core/vocabulary/evidence.hpp"
#include "core/vocabulary/verdict.hpp"
#include "core/log.hpp"
#include "files/files.hpp"

namespace kuzet::collector::vantage {

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

int64_t utc_day(int64_t ms) { return ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs; }

// "DAY HEXKEY\n": DAY in days since the epoch.
bool read_key_file(const std::string& path, int64_t* day, std::string* key) {
  std::ifstream in(path);
  if (!in) return false;
  std::string text;
  std::getline(in, text, '\0');
  std::istringstream fields(text);
  if (!(fields >> *day >> *key) || key->size() != 64 || key->find_first_not_of("0123456789abcdef") != std::string::npos)
    throw std::runtime_error("vantage key file " + path + " is not 'DAY HEXKEY'");
  return true;
}

// Written to a temporary file (0600) and renamed over the old one: a crash leaves the old key or the new.
void write_key_file(const std::string& path, int64_t day, const std::string& key) {
  if (auto e = files::write_file_atomically(path, std::to_string(day) + " " + key + "\n", true, 0600); !e.empty())
    throw std::runtime_error("cannot write vantage key file " + path + ": " + e);
}

}  // namespace

std::string supporting_tag(const std::string& tag, std::string_view check, int64_t started_at_ms,
                           std::optional<int64_t> key_first_seen_ms) {
  if (check == network_check::mismatch) return "";
  if (key_first_seen_ms && started_at_ms < *key_first_seen_ms - kKeyBackdateGraceMs) return "";
  return tag;
}

std::string_view check_network(const std::string& claimed_cc, uint32_t claimed_asn, const network::AsnInfo& source) {
  if (source.asn == 0) return network_check::unknown;
  if (claimed_asn != source.asn) return network_check::mismatch;
  if (!claimed_cc.empty() && !source.cc.empty() && claimed_cc != source.cc) return network_check::mismatch;
  return network_check::match;
}

std::vector<std::pair<std::string, std::string>> decisive_evidence(std::string_view verdict,
                                                                   const nlohmann::json& evidence) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!core::verdict::is_interference(verdict) || !evidence.is_array()) return out;
  for (const auto& e : evidence) {
    if (!e.is_object()) continue;
    auto key = e.find("key");
    auto value = e.find("value");
    if (key == e.end() || !key->is_string() || value == e.end() || !value->is_string() ||
        value->get_ref<const std::string&>().empty())
      continue;
    const auto& k = key->get_ref<const std::string&>();
    for (auto decisive : core::evidence::decisive)
      if (k == decisive) out.emplace_back(k, value->get<std::string>());
  }
  return out;
}

bool has_decisive_evidence(std::string_view verdict, const nlohmann::json& evidence) {
  return !decisive_evidence(verdict, evidence).empty();
}

std::optional<std::string> source_prefix(const std::string& ip) {
  auto a = network::parse_ip(ip);
  if (!a) return std::nullopt;
  char buf[64];
  if (a->is_v4_mapped()) {
    const uint32_t v4 = a->v4() & 0xffffff00u;
    std::snprintf(buf, sizeof buf, "4:%u.%u.%u.0/24", v4 >> 24, (v4 >> 16) & 0xff, (v4 >> 8) & 0xff);
  } else {
    const uint64_t net = a->high & 0xffffffffffff0000ULL;  // the first 48 bits
    std::snprintf(buf, sizeof buf, "6:%x:%x:%x::/48", static_cast<unsigned>(net >> 48),
                  static_cast<unsigned>((net >> 32) & 0xffff), static_cast<unsigned>((net >> 16) & 0xffff));
  }
  return std::string(buf);
}

VantageTagger::VantageTagger(std::string key_file) : key_file_(std::move(key_file)) {
  if (key_file_.empty()) return;
  int64_t day = 0;
  std::string key;
  if (read_key_file(key_file_, &day, &key)) day_ = day, key_ = key;
}

void VantageTagger::rotate_locked(int64_t day) {
  if (day == day_) return;
  if (!key_file_.empty()) {  // another collector process (or this one before a restart) may have made today's
    int64_t stored_day = 0;
    std::string stored;
    try {
      if (read_key_file(key_file_, &stored_day, &stored) && stored_day == day) {
        day_ = day, key_ = stored;
        return;
      }
    } catch (const std::exception&) {  // a broken file is replaced below
    }
  }
  day_ = day;
  key_ = core::random_hex(32);
  if (!key_file_.empty()) {
    try {
      write_key_file(key_file_, day_, key_);
    } catch (const std::exception& e) {  // the key stays in memory: tags still work until a restart
      core::log_at(core::LogLevel::warning, "%s (vantage key kept in memory)", e.what());
    }
  }
}

std::string VantageTagger::tag(const std::string& ip, uint32_t source_asn, int64_t now_ms) {
  auto prefix = source_prefix(ip);
  if (!prefix) return "";
  std::lock_guard lock(mutex_);
  rotate_locked(utc_day(now_ms));
  return core::hmac_sha256_hex(key_, *prefix + "|AS" + std::to_string(source_asn)).substr(0, 16);
}

UploadSource VantageTagger::source(const std::string& ip, const network::AsnDatabase& asn_db, int64_t now_ms) {
  UploadSource s;
  s.network = asn_db.lookup(ip);
  s.tag = tag(ip, s.network.asn, now_ms);
  return s;
}

}  // namespace kuzet::collector::vantage
