// PROVISIONAL classification until the verdict engine lands (issue 5): the first failing layer, no control.
#include "analysis/analysis.hpp"
namespace kuzet::analysis {
std::vector<Verdict> analyze_run(const std::vector<TargetInput>& targets, const RunFacts&, const Knowledge&) {
  std::vector<Verdict> out;
  for (const auto& t : targets) {
    Verdict v;
    const auto& o = t.observations;
    std::string first;
    if (!o.dns.failure.empty()) first = o.dns.failure;
    else {
      bool tcp_ok = false; for (auto& c : o.tcp) if (c.failure.empty()) tcp_ok = true;
      if (!tcp_ok && !o.tcp.empty()) first = o.tcp.front().failure;
      else if (o.scheme == "https") {
        bool tls_ok = false; for (auto& h : o.tls) if (h.failure.empty()) tls_ok = true;
        if (!tls_ok && !o.tls.empty()) first = o.tls.front().failure;
      }
      if (first.empty() && o.http && !o.http->failure.empty()) first = o.http->failure;
    }
    if (first.empty()) { v.verdict = "ok"; v.explanation = "every step succeeded (provisional, no control)"; }
    else { v.verdict = "inconclusive"; v.method = first; v.explanation = "failed at " + first + " (provisional, no control)"; }
    out.push_back(v);
  }
  return out;
}
std::vector<size_t> throttling_suspects(const std::vector<TargetInput>&) { return {}; }
}  // namespace kuzet::analysis
