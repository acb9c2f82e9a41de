#pragma once
// From a ProbeConfig to the RunOptions of one run (targets from the specs, knowledge, step options,
// network override), shared by `kuzet-probe daemon` and usable by `run`. Throws spec::SpecError for a
// broken spec and std::invalid_argument for an unusable trust store (startup errors, not data).
#include <string>
#include <vector>

#include "probe/uplink/collector_client.hpp"
#include "probe/config.hpp"
#include "probe/runner.hpp"

namespace kuzet::probe {

measure::MeasureOptions measure_options_from(const ProbeConfig& config);

// Targets of every spec (a URL listed twice is measured once, credited to its first spec), then
// extra_targets; knowledge; concurrency; step options; the network override. No collector, no progress.
RunOptions run_options_from(const ProbeConfig& config, const std::vector<std::string>& extra_targets = {});

// How to talk to the collector: upload proxy and batch size; connecting to it is bounded by the configured
// TCP timeout (timeouts.tcp), so a blackholed collector costs what a blackholed site costs.
uplink::CollectorClientOptions collector_client_options(const ProbeConfig& config);

// The packet capture for config.capture, opened once per process (it drops CAP_NET_RAW after opening: call
// before other threads start). nullptr, after saying once on stderr why, when capture is not possible.
std::shared_ptr<capture::Recorder> open_capture(const ProbeConfig& config);

}  // namespace kuzet::probe
