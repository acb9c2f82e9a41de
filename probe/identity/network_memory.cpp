#include "probe/identity/network_memory.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>

#include "core/time.hpp"
#include "core/vocabulary/country.hpp"
#include "files/files.hpp"

namespace kuzet::probe::identity {

namespace {
std::string path_in(const std::string& data_dir) { return data_dir + "/network.json"; }
}  // namespace

std::optional<NetworkIdentity> load_last_network(const std::string& data_dir) {
  std::ifstream in(path_in(data_dir));
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return parse_last_network(text.str());
}

std::optional<NetworkIdentity> parse_last_network(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  // Believed only in the shape whoami answers are (uplink/collector_reply.cpp): an AS number that is not an
  // unsigned 32-bit integer would otherwise be wrapped (-1 -> 4294967295) and label measurements.
  if (auto asn = j.find("asn"); asn != j.end() && (!asn->is_number_unsigned() || asn->get<uint64_t>() > UINT32_MAX))
    return std::nullopt;
  try {
    auto network = j.get<NetworkIdentity>();
    if (network.cc.empty() && network.asn == 0) return std::nullopt;
    if (!core::country::is_code_or_unknown(network.cc)) return std::nullopt;
    if (network.as_name.size() > 512) return std::nullopt;
    if (network.learned_at.empty() || !core::parse_rfc3339(network.learned_at)) return std::nullopt;
    return network;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

std::string save_last_network(const std::string& data_dir, const NetworkIdentity& network) {
  NetworkIdentity kept = network;
  kept.source = "collector";
  kept.learned_at = core::now_rfc3339();
  return files::write_file_atomically(path_in(data_dir), nlohmann::json(kept).dump() + "\n", /*durable=*/false);
}

}  // namespace kuzet::probe::identity
