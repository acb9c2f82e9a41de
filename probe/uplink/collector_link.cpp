#include "probe/uplink/collector_link.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "measure/observations_json.hpp"

namespace kuzet::probe::uplink {

HttpCollectorLink::HttpCollectorLink(CollectorClient client, identity::Identity identity,
                                     std::optional<NetworkIdentity> network_override, bool ask_whoami)
    : client_(std::move(client)),
      identity_(std::move(identity)),
      override_(std::move(network_override)),
      ask_whoami_(ask_whoami) {}

std::optional<NetworkIdentity> HttpCollectorLink::whoami() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!asked_ && ask_whoami_) {
    asked_ = true;
    auto who = client_.whoami();
    if (who.ok) {
      NetworkIdentity n;
      n.cc = who.cc;
      n.asn = who.asn;
      n.as_name = who.as_name;
      n.source = "collector";
      whoami_ = n;
      own_address_ = who.address;
    } else {
      last_failure_ = who.failure;
    }
  }
  return whoami_;
}

std::string HttpCollectorLink::own_address() {
  std::lock_guard<std::mutex> lock(mutex_);
  return own_address_;
}

NetworkIdentity HttpCollectorLink::network() {
  if (override_) return *override_;
  return whoami().value_or(NetworkIdentity{});
}

std::optional<std::vector<measure::ControlObservations>> HttpCollectorLink::control(
    const std::vector<ControlTarget>& targets, int deadline_ms) {
  const auto net = network();
  const auto key = identity_.for_network(net.cc, net.asn);
  auto reg = client_.register_key(key);
  if (!reg.ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_failure_ = reg.failure;
    return std::nullopt;
  }
  nlohmann::json request{{"deadline_ms", deadline_ms}, {"targets", nlohmann::json::array()}};
  for (const auto& t : targets)
    request["targets"].push_back({{"url", t.url}, {"probe_addresses", t.probe_addresses}});
  auto answer = client_.control(request, key);
  if (!answer.ok) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_failure_ = answer.failure;
    return std::nullopt;
  }
  bool malformed = false;
  auto out = control_results_from(answer.response, targets.size(), &malformed);
  if (malformed) {
    std::lock_guard<std::mutex> lock(mutex_);
    last_failure_ = std::string(upload_failure::malformed_reply);
  }
  return out;
}

std::optional<std::vector<measure::ControlObservations>> control_results_from(const nlohmann::json& response,
                                                                              size_t expected, bool* malformed) {
  // The collector is not trusted: a reply of the wrong shape is no control at all.
  try {
    const auto& results = response.at("results");
    if (!results.is_array() || results.size() != expected) return std::nullopt;
    std::vector<measure::ControlObservations> out;
    out.reserve(results.size());
    for (const auto& r : results) out.push_back(r.get<measure::ControlObservations>());
    return out;
  } catch (const nlohmann::json::exception&) {
    if (malformed) *malformed = true;
    return std::nullopt;
  }
}

std::vector<nlohmann::json> sign_records(const std::vector<MeasurementRecord>& records, const identity::Identity& identity) {
  std::map<std::pair<std::string, uint32_t>, std::vector<size_t>> by_network;
  for (size_t i = 0; i < records.size(); ++i) by_network[{records[i].network.cc, records[i].network.asn}].push_back(i);
  std::vector<nlohmann::json> out(records.size());
  for (const auto& [network, indexes] : by_network) {
    std::vector<nlohmann::json> measurements;
    measurements.reserve(indexes.size());
    for (size_t i : indexes) {
      nlohmann::json m = records[i];
      // Canonical JSON needs valid UTF-8; hostile servers can send anything, so normalise first.
      measurements.push_back(nlohmann::json::parse(m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
    }
    auto envelopes = envelope::sign_batch(measurements, identity.for_network(network.first, network.second));
    for (size_t k = 0; k < indexes.size(); ++k) out[indexes[k]] = std::move(envelopes[k]);
  }
  return out;
}

UploadSummary upload_records(const CollectorClient& client, const identity::Identity& identity,
                             const std::vector<MeasurementRecord>& records) {
  UploadSummary summary;
  std::set<std::pair<std::string, uint32_t>> networks;
  for (const auto& r : records) networks.insert({r.network.cc, r.network.asn});
  for (const auto& [cc, asn] : networks) {
    auto reg = client.register_key(identity.for_network(cc, asn));
    if (!reg.ok) {
      summary.failure = reg.failure.empty() ? "upload.register_" + reg.error : reg.failure;
      summary.failed = records.size();
      return summary;
    }
  }
  auto result = client.upload(sign_records(records, identity));
  summary.failure = result.failure;
  for (const auto& item : result.items) {
    if (item.status == "stored") ++summary.stored;
    else if (item.status == "duplicate") ++summary.duplicates;
    else if (item.status == "rejected") ++summary.rejected;
    else ++summary.failed;
  }
  summary.items = std::move(result.items);
  return summary;
}

}  // namespace kuzet::probe::uplink
