#pragma once
// Verdicts: pure functions of observations + control + spec knowledge. No I/O here.
#include <optional>
#include <string>
#include <vector>

#include "measure/observations.hpp"
#include "spec/spec.hpp"

namespace kuzet::analysis {

// verdict: ok | blocked | intercepted | throttled | down | offline | inconclusive
// method:  the failing layer (dns.nxdomain, tcp.reset, tls.mitm, throughput, ...) or "" for ok/offline/inconclusive.
// The closed method list, the decision table and the reasons: docs/verdicts.md. Helpers: analysis/rules.hpp.
struct Evidence {
  std::string key;
  std::string value;
};

struct Verdict {
  std::string verdict = "inconclusive";
  std::string method;
  std::string explanation;  // one sentence for humans
  std::vector<Evidence> evidence;
};

struct Knowledge {
  std::vector<spec::InterceptionRoot> interception_roots;
  std::vector<spec::BlockpageFingerprint> blockpages;
};

struct TargetInput {
  std::string category;  // "control" targets are the run's connectivity anchors
  measure::TargetObservations observations;
  std::optional<measure::ControlObservations> control;  // nullopt when no control was obtained
};

struct RunFacts {
  bool collector_reachable = false;  // any successful exchange with the collector during the run
};

// One verdict per target, same order. Run-level rules (offline, throughput baseline) need all targets.
std::vector<Verdict> analyze_run(const std::vector<TargetInput>& targets, const RunFacts& facts,
                                 const Knowledge& knowledge);

// Indices of targets whose throughput is low enough to deserve a neutral-SNI confirmation fetch.
std::vector<size_t> throttling_suspects(const std::vector<TargetInput>& targets);

}  // namespace kuzet::analysis
