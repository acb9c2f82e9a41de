#pragma once
// Verdicts: pure functions of observations + control + spec knowledge. No I/O here.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/vocabulary/verdict.hpp"
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

// A translatable sentence: a key of i18n/verdicts/<lang>.json, the values of its {placeholders}, and clauses
// that are messages themselves (each fills the placeholder `name`, rendered in the same language).
struct Message {
  std::string name;  // the placeholder this message fills when it is a clause of another
  std::string key;
  std::vector<std::pair<std::string, std::string>> args;
  std::vector<Message> parts;
};

struct Verdict {
  std::string verdict = std::string(core::verdict::inconclusive);
  std::string method;
  std::string explanation;  // one sentence for humans: `message` rendered in English (what records store)
  Message message;          // the same sentence, for rendering in another language (explain)
  std::vector<Evidence> evidence;
};

// `message` in `lang` (en, ru, kk; a missing text falls back to English). Throws std::invalid_argument for a
// language the verdicts domain lacks.
std::string explain(const Message& message, std::string_view lang);

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
