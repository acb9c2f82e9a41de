#pragma once
// From a ProbeConfig to the RunOptions of one run (targets from the specs, knowledge, step options,
// network override), shared by `kuzet-probe daemon` and usable by `run`. Throws spec::SpecError for a
// broken spec and std::invalid_argument for an unusable trust store (startup errors, not data).
#include <string>
#include <vector>

#include "probe/config.hpp"
#include "probe/runner.hpp"

namespace kuzet::probe {

measure::MeasureOptions measure_options_from(const ProbeConfig& config);

// Targets of every spec (a URL listed twice is measured once, credited to its first spec), then
// extra_targets; knowledge; concurrency; step options; the network override. No collector, no progress.
RunOptions run_options_from(const ProbeConfig& config, const std::vector<std::string>& extra_targets = {});

}  // namespace kuzet::probe
