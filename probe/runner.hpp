#pragma once
// One probe run: measure every target concurrently, get control from the collector, judge, record.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analysis/analysis.hpp"
#include "measure/target.hpp"
#include "probe/capture/recorder.hpp"
#include "probe/config.hpp"
#include "probe/record.hpp"
#include "spec/spec.hpp"

namespace kuzet::probe {

struct ControlTarget {
  std::string url;
  std::vector<std::string> probe_addresses;
};

// What a run needs from a collector. Production: uplink::HttpCollectorLink (uplink/collector_link.hpp); tests: fakes.
class CollectorLink {
 public:
  virtual ~CollectorLink() = default;
  // The probe's network as the collector sees it; nullopt when the collector cannot be reached.
  virtual std::optional<NetworkIdentity> whoami() = 0;
  // Control measurements for targets, same order; nullopt when the request failed as a whole.
  virtual std::optional<std::vector<measure::ControlObservations>> control(const std::vector<ControlTarget>& targets,
                                                                           int deadline_ms) = 0;
  // The probe's own address as the collector saw it during whoami ("" when unknown): stripped from results.
  virtual std::string own_address() { return ""; }
};

struct RunTarget {
  spec::Target target;
  std::string spec_source;  // file it came from, "" for --target
};

struct Progress {
  size_t done = 0;
  size_t total = 0;
  const MeasurementRecord* record = nullptr;  // set when a target finished its local measurement
  std::string phase;                          // "dns", "connect", "control", "throttling", "locate", "done"
};

struct RunOptions {
  std::vector<RunTarget> targets;
  analysis::Knowledge knowledge;
  measure::MeasureOptions measure;
  size_t concurrency = kDefaultConcurrency;
  int control_deadline_ms = 20000;
  std::optional<NetworkIdentity> network_override;  // from config; wins over whoami
  // The network whoami last reported (identity/network_memory.hpp): used, as "last_known", when whoami has no answer.
  std::optional<NetworkIdentity> last_known_network;
  std::shared_ptr<CollectorLink> collector;          // null: no collector configured
  // This machine's addresses (run_setup: privacy::interface_addresses); with the collector's own_address(),
  // replaced by a marker in every record before anyone signs or prints it (privacy/redact.hpp).
  std::vector<std::string> local_addresses;
  std::function<void(const Progress&)> on_progress;  // called from worker threads, serialised
  // Packet capture (opt-in): opened once per process (it drops CAP_NET_RAW after opening); null = off.
  std::shared_ptr<capture::Recorder> capture;
  // --locate: TTL-limited repeats of the ClientHello for targets with a forged reset (capture/locate.hpp).
  bool locate = false;
};

struct RunResult {
  std::string run_id;
  std::string started_at;
  double duration_ms = 0;
  NetworkIdentity network;
  bool collector_reachable = false;
  bool control_obtained = false;
  std::vector<MeasurementRecord> records;  // one per target, in target order
};

RunResult run_probe(const RunOptions& options);

// Runs fn(i) for i in [0, n) on at most `concurrency` threads.
void parallel_for(size_t n, size_t concurrency, const std::function<void(size_t)>& fn);

}  // namespace kuzet::probe
