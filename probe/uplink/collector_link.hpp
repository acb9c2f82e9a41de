#pragma once
// The runner's view of a real collector (CollectorLink over CollectorClient), and signing + upload of a
// run's records.
#include <nlohmann/json_fwd.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "probe/uplink/collector_client.hpp"
#include "probe/identity/identity.hpp"
#include "probe/record.hpp"
#include "probe/runner.hpp"

namespace kuzet::probe::uplink {

class HttpCollectorLink : public CollectorLink {
 public:
  // ask_whoami=false when uploads go through a proxy (Tor): the collector would see the exit's network,
  // not ours, so the network is then only what the config says.
  HttpCollectorLink(CollectorClient client, identity::Identity identity, std::optional<NetworkIdentity> network_override,
                    bool ask_whoami);

  // Asked once; later calls return the first answer.
  std::optional<NetworkIdentity> whoami() override;
  // Registers this network's key (idempotent), then asks for control of all targets in one request.
  std::optional<std::vector<measure::ControlObservations>> control(const std::vector<ControlTarget>& targets,
                                                                   int deadline_ms) override;
  std::string own_address() override;

  const std::string& last_failure() const { return last_failure_; }

 private:
  NetworkIdentity network();
  CollectorClient client_;
  identity::Identity identity_;
  std::optional<NetworkIdentity> override_;
  bool ask_whoami_ = true;
  std::mutex mutex_;
  bool asked_ = false;
  std::optional<NetworkIdentity> whoami_;
  std::string own_address_;  // from whoami; never stored
  std::string last_failure_;
};

// The control results in a collector's reply to POST /api/v1/control: one per target asked (`expected`), in
// order; nullopt when the reply is not of that shape (*malformed set when a result is not ControlObservations).
std::optional<std::vector<measure::ControlObservations>> control_results_from(const nlohmann::json& response,
                                                                              size_t expected,
                                                                              bool* malformed = nullptr);

// The envelopes of a run's records, in order: one batch signature (docs/protocol.md) per network's key over
// that network's records, each envelope still verifiable alone with its audit path.
std::vector<nlohmann::json> sign_records(const std::vector<MeasurementRecord>& records, const identity::Identity& identity);

struct UploadSummary {
  size_t stored = 0, duplicates = 0, rejected = 0, failed = 0;
  std::string failure;  // link failure, "" when every item was judged
  std::vector<UploadItemResult> items;
};

// Registers the keys involved and uploads every record; nothing is retried here (the daemon's queue does that).
UploadSummary upload_records(const CollectorClient& client, const identity::Identity& identity,
                             const std::vector<MeasurementRecord>& records);

}  // namespace kuzet::probe::uplink
