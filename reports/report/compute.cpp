#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <map>
#include <set>

#include "collector/ingest/upload.hpp"
#include "core/synthetic.hpp"
#include "core/vocabulary/verdict.hpp"
#include "reports/report/report.hpp"
#include "tlog/entry.hpp"

namespace kuzet::report {

Evidence evidence_from_envelope(std::string envelope, int64_t now_ms, std::string* error,
                                envelope::SignatureCache* signatures) {
  Evidence e;
  nlohmann::json parsed = nlohmann::json::parse(envelope, nullptr, false);
  collector::ingest::CheckOptions options;
  options.now_ms = now_ms;
  options.max_future_ms = 0;
  options.signatures = signatures;
  const auto checked = collector::ingest::check_envelope_json(envelope, parsed, options);
  *error = checked.reason;
  if (parsed.is_discarded()) *error = collector::ingest::reason::malformed;
  e.uid = checked.row.uid;  // named even when the checks fail, for the error message
  if (!error->empty()) return e;
  const auto& row = checked.row;
  e.sha256 = row.content_hash;
  e.key_id = row.key_id;
  e.started_at_ms = row.started_at_ms;
  e.cc = row.cc;
  e.asn = row.asn;
  e.target = row.target;
  e.category = row.category;
  e.verdict = row.verdict;
  e.method = row.method;
  e.decisive = row.decisive;
  const auto& m = parsed["measurement"];
  if (auto spec = m.find("spec"); spec != m.end() && spec->is_string())
    e.synthetic = synthetic_label(spec->get<std::string>());
  if (auto net = m.find("network"); net != m.end() && net->is_object())
    if (auto name = net->find("as_name"); name != net->end() && name->is_string()) e.as_name = name->get<std::string>();
  if (auto obs = m.find("observations"); obs != m.end() && obs->is_object())
    if (auto pe = obs->find("packet_evidence"); pe != obs->end() && pe->is_array())
      for (const auto& f : *pe) {
        if (e.packet_findings.size() >= 8) break;
        try {  // a signed record with a malformed finding: the finding is left out, the record stays evidence
          e.packet_findings.push_back(f.get<packets::PacketFinding>());
        } catch (const nlohmann::json::exception&) {
        }
      }
  e.envelope = std::move(envelope);
  return e;
}

std::string synthetic_label(const std::string& spec) { return core::synthetic_label(spec); }

std::string vantage_point_of(const Evidence& e) {
  if (!e.proof) return "";
  std::string error;
  const auto entry = tlog::parse_entry(e.proof->entry, &error);
  if (!entry || entry->measurement_uid != e.uid || entry->envelope_sha256 != e.sha256) return "";
  return entry->vantage_point;
}

void sort_evidence(std::vector<Evidence>& measurements) {
  std::sort(measurements.begin(), measurements.end(), [](const Evidence& a, const Evidence& b) {
    return std::tie(a.started_at_ms, a.uid) < std::tie(b.started_at_ms, b.uid);
  });
}

namespace {

using timeline::kNetworkTarget;

timeline::Observation observation_of(const Evidence& e) {
  return {e.key_id, e.started_at_ms, e.uid, e.verdict, e.method};
}

bool wanted(const std::vector<std::string>& list, const std::string& v) {
  return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
}

// The chart shows at most this many bars per row: a bin that is a multiple of the base bin.
constexpr int64_t kChartBars = 240;

}  // namespace

Computed compute(const Params& p, const std::vector<Evidence>& measurements) {
  Computed out;
  const timeline::IncidentOptions options;
  // Per series: the indexes of its measurements (network series: every measurement of the network).
  std::map<timeline::SeriesKey, std::vector<size_t>> members;
  for (size_t i = 0; i < measurements.size(); ++i) {
    const auto& e = measurements[i];
    if (e.cc != p.cc || (!p.asns.empty() && std::find(p.asns.begin(), p.asns.end(), e.asn) == p.asns.end())) continue;
    members[{e.cc, e.asn, kNetworkTarget}].push_back(i);
    if (!e.target.empty() && e.target != kNetworkTarget && wanted(p.targets, e.target))
      members[{e.cc, e.asn, e.target}].push_back(i);
  }
  // Each measurement's vantage point, from its log entry (read once; verify checks the entries' proofs).
  std::vector<std::string> vantage(measurements.size());
  if (p.independence == Independence::vantage_points)
    for (size_t i = 0; i < measurements.size(); ++i) vantage[i] = vantage_point_of(measurements[i]);
  const int64_t span = std::max<int64_t>(p.until_ms - p.from_ms, p.bin_ms);
  out.chart_bin_ms = p.bin_ms * std::max<int64_t>(1, (span / p.bin_ms + kChartBars - 1) / kChartBars);

  for (const auto& [key, idx] : members) {
    const bool network = key.target == kNetworkTarget;
    std::vector<timeline::Observation> obs;
    obs.reserve(idx.size());
    for (size_t i : idx)
      obs.push_back(network ? timeline::network_observation(observation_of(measurements[i]))
                            : observation_of(measurements[i]));
    // As the collector's incident API: incidents are found on base bins from the series' first data (at
    // most one baseline window before the period), up to the end of the data for networks.
    const int64_t first = timeline::bin_floor(measurements[idx.front()].started_at_ms, p.bin_ms);
    const int64_t from = std::max(p.from_ms - options.baseline_window_ms, first);
    const int64_t until = network ? std::min(p.until_ms, p.data_end_ms) : p.until_ms;
    const std::string category = network ? "" : measurements[idx.front()].category;
    if (until > from) {
      timeline::Series s = timeline::build_series(key, obs, from, until, p.bin_ms);
      s.category = category;
      auto found = network ? timeline::shutdown_incidents(s, options) : timeline::target_incidents(s, options);
      for (auto& inc : found) {
        const int64_t end = inc.end_ms.value_or(INT64_MAX);
        if (end <= p.from_ms || inc.start_ms >= p.until_ms) continue;
        ReportIncident r;
        std::set<std::string> probes;
        const int64_t evidence_end = inc.end_ms.value_or(p.until_ms);
        for (size_t i : idx) {
          const auto& e = measurements[i];
          if (e.started_at_ms < inc.start_ms || e.started_at_ms >= evidence_end) continue;
          const bool shows = network ? e.verdict == core::verdict::offline : e.verdict == inc.kind;
          if (!shows) continue;
          r.evidence.push_back(i);
          probes.insert(e.key_id);
        }
        r.distinct_probes = static_cast<int>(probes.size());
        if (p.independence == Independence::vantage_points) {
          // As the collector's incident API: a target incident's samples are its rows in the state; a
          // shutdown's, the network's rows in the day before it began (offline rows are queued uploads).
          std::vector<timeline::VantageSample> samples;
          auto add = [&](size_t i) {
            samples.push_back({measurements[i].key_id, vantage[i], measurements[i].decisive ? 1 : 0});
          };
          if (network) {
            for (size_t i : idx)
              if (measurements[i].started_at_ms >= inc.start_ms - timeline::kShutdownVantageWindowMs &&
                  measurements[i].started_at_ms < inc.start_ms)
                add(i);
          } else {
            for (size_t i : r.evidence) add(i);
          }
          timeline::IncidentOptions independence = options;
          independence.min_vantage_points = kMinIndependent;
          timeline::assess_independence(inc, samples, independence);
          r.confirmed = inc.confirmed;
        } else {
          r.confirmed = r.distinct_probes >= kMinIndependent;
        }
        r.incident = std::move(inc);
        out.incidents.push_back(std::move(r));
      }
    }
    timeline::Series chart = timeline::build_series(key, std::move(obs), p.from_ms, p.until_ms, out.chart_bin_ms);
    chart.category = category;
    out.chart.push_back(std::move(chart));
  }
  std::sort(out.incidents.begin(), out.incidents.end(), [](const ReportIncident& a, const ReportIncident& b) {
    return std::tie(a.incident.start_ms, a.incident.key, a.incident.kind) <
           std::tie(b.incident.start_ms, b.incident.key, b.incident.kind);
  });
  return out;
}

}  // namespace kuzet::report
