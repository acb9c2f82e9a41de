#include "reports/report/bundle.hpp"

#include <algorithm>
#include <stdexcept>

#include "ascii/ascii.hpp"
#include "collector/timeline/api/api.hpp"
#include "core/crypto/crypto.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/time.hpp"
#include "tlog/proof.hpp"

namespace kuzet::report {

namespace {

using nlohmann::json;

std::string utc(int64_t ms) { return core::format_utc(ms); }

// The C2SP tlog-proof text: the entry's bytes as its extra data (verifiers need them for the leaf hash).
std::string tlog_proof_text(const LogProof& p) {
  tlog::TlogProof t;
  t.extra = p.entry;
  t.index = p.index;
  for (const auto& raw : p.inclusion) {
    tlog::Hash h{};
    std::copy(raw.begin(), raw.begin() + static_cast<long>(std::min(raw.size(), h.size())), h.begin());
    t.inclusion.push_back(h);
  }
  t.checkpoint = p.checkpoint;
  return tlog::format_tlog_proof(t);
}

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

const json& member(const json& object, const char* name, const std::string& where) {
  auto it = object.find(name);
  if (it == object.end()) bad(where + ": no \"" + name + "\"");
  return *it;
}

std::string string_at(const json& object, const char* name, const std::string& where) {
  const json& v = member(object, name, where);
  if (!v.is_string()) bad(where + "." + name + ": not a string");
  return v.get<std::string>();
}

int64_t time_at(const json& object, const char* name, const std::string& where) {
  auto t = core::parse_rfc3339(string_at(object, name, where));
  if (!t) bad(where + "." + name + ": not an RFC 3339 time");
  return core::to_unix_ms(*t);
}

std::string base64_at(const json& v, const std::string& where) {
  if (!v.is_string()) bad(where + ": not a base64 string");
  auto raw = core::base64_decode(v.get<std::string>());
  if (!raw) bad(where + ": not base64");
  return *raw;
}

// Format /1's JSON proof {"index", "inclusion": [base64], "entry": base64}, against the bundle's checkpoint:
// bundles handed out before /2 still verify.
LogProof parse_proof_v1(const json& j, const std::string& where, const std::string& checkpoint) {
  if (!j.is_object()) bad(where + ": not an object");
  LogProof p;
  const json& index = member(j, "index", where);
  if (!index.is_number_unsigned()) bad(where + ".index: not an unsigned integer");
  p.index = index.get<uint64_t>();
  const json& hashes = member(j, "inclusion", where);
  if (!hashes.is_array() || hashes.size() > kMaxProofHashes) bad(where + ".inclusion: not an array of at most 64 hashes");
  for (size_t i = 0; i < hashes.size(); ++i) {
    std::string h = base64_at(hashes[i], where + ".inclusion[" + std::to_string(i) + "]");
    if (h.size() != 32) bad(where + ".inclusion[" + std::to_string(i) + "]: not a SHA-256 hash");
    p.inclusion.push_back(std::move(h));
  }
  p.entry = base64_at(member(j, "entry", where), where + ".entry");
  p.checkpoint = checkpoint;
  return p;
}

LogProof parse_proof(const json& j, const std::string& where) {
  if (!j.is_string()) bad(where + ": not a string");
  std::string error;
  auto t = tlog::parse_tlog_proof(j.get_ref<const std::string&>(), &error);
  if (!t) bad(where + ": " + error);
  if (!t->extra) bad(where + ": no extra line (the log entry)");
  LogProof p;
  p.index = t->index;
  p.entry = std::move(*t->extra);
  for (const auto& h : t->inclusion) p.inclusion.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
  p.checkpoint = std::move(t->checkpoint);
  return p;
}

}  // namespace

json incident_json(const ReportIncident& r, const std::vector<Evidence>& measurements) {
  json evidence = json::array();
  for (size_t k : r.evidence) evidence.push_back(measurements[k].uid);
  json out = timeline::api::incident_to_json(r.incident);  // the collector API's shape
  out["distinct_probes"] = r.distinct_probes;
  out["confirmed"] = r.confirmed;
  out["evidence"] = evidence;
  return out;
}

std::string bundle_json(const Report& report) {
  const auto& p = report.params;
  json params{{"cc", p.cc},
              {"asns", p.asns},
              {"targets", p.targets},
              {"from", utc(p.from_ms)},
              {"until", utc(p.until_ms)},
              {"data_end", utc(p.data_end_ms)},
              {"bin_seconds", p.bin_ms / 1000},
              {"include_unconfirmed", p.include_unconfirmed}};
  json incidents = json::array();
  for (const auto& r : report.computed.incidents) incidents.push_back(incident_json(r, report.measurements));
  json out{{"format", kBundleFormat},
           {"generated_at", utc(report.generated_at_ms)},
           {"source", report.source},
           {"synthetic", report.synthetic},
           {"params", params},
           {"log", {{"checkpoint", report.checkpoint}, {"key", report.log_key}}},
           {"incidents", incidents}};
  // Measurements last and one per line: the file stays readable and diffable.
  std::string text = out.dump(1);
  text.resize(text.rfind('}'));
  text.resize(ascii::trim_end(text, " \n").size());
  text += ",\n \"measurements\": [";
  for (size_t i = 0; i < report.measurements.size(); ++i) {
    const auto& e = report.measurements[i];
    json m{{"envelope", e.envelope}};
    if (e.proof) m["tlog_proof"] = tlog_proof_text(*e.proof);
    text += (i ? ",\n  " : "\n  ") + m.dump();
  }
  text += "\n ]\n}\n";
  return text;
}

ParsedBundle parse_bundle(std::string_view text) {
  if (text.size() > kMaxBundleBytes) bad("bundle: larger than 1 GiB");
  auto parsed = core::parse_json(text, kBundleJsonLimits);
  if (!parsed.ok()) bad("bundle: not JSON (" + parsed.error + ")");
  const json& j = parsed.value;
  if (!j.is_object()) bad("bundle: not a JSON object");
  const std::string format = string_at(j, "format", "bundle");
  const bool v1 = format == kBundleFormatV1;
  if (format != kBundleFormat && format != kBundleFormatV2 && !v1)
    bad("bundle: format is not " + std::string(kBundleFormat));
  ParsedBundle b;
  Report& r = b.report;
  r.params.independence = format == kBundleFormat ? Independence::vantage_points : Independence::probe_keys;
  r.generated_at_ms = time_at(j, "generated_at", "bundle");
  r.source = string_at(j, "source", "bundle");
  r.synthetic = string_at(j, "synthetic", "bundle");

  const json& params = member(j, "params", "bundle");
  if (!params.is_object()) bad("bundle.params: not an object");
  Params& p = r.params;
  p.cc = string_at(params, "cc", "params");
  const json& asns = member(params, "asns", "params");
  if (!asns.is_array()) bad("params.asns: not an array");
  for (const auto& a : asns) {
    if (!a.is_number_unsigned() || a.get<uint64_t>() > UINT32_MAX) bad("params.asns: not an AS number");
    p.asns.push_back(a.get<uint32_t>());
  }
  const json& targets = member(params, "targets", "params");
  if (!targets.is_array()) bad("params.targets: not an array");
  for (const auto& t : targets) {
    if (!t.is_string()) bad("params.targets: not a string");
    p.targets.push_back(t.get<std::string>());
  }
  p.from_ms = time_at(params, "from", "params");
  p.until_ms = time_at(params, "until", "params");
  p.data_end_ms = time_at(params, "data_end", "params");
  const json& bin = member(params, "bin_seconds", "params");
  if (!bin.is_number_unsigned() || bin.get<uint64_t>() < 60 || bin.get<uint64_t>() > 86400 * 7)
    bad("params.bin_seconds: not 60..604800");
  p.bin_ms = static_cast<int64_t>(bin.get<uint64_t>()) * 1000;
  const json& unconfirmed = member(params, "include_unconfirmed", "params");
  if (!unconfirmed.is_boolean()) bad("params.include_unconfirmed: not a boolean");
  p.include_unconfirmed = unconfirmed.get<bool>();
  if (p.until_ms <= p.from_ms || (p.until_ms - p.from_ms) / p.bin_ms > 200000)
    bad("params: the period is empty, reversed or longer than 200,000 bins");

  const json& log = member(j, "log", "bundle");
  if (!log.is_object()) bad("bundle.log: not an object");
  r.checkpoint = string_at(log, "checkpoint", "log");
  r.log_key = string_at(log, "key", "log");

  b.incidents = member(j, "incidents", "bundle");
  if (!b.incidents.is_array()) bad("bundle.incidents: not an array");

  const json& measurements = member(j, "measurements", "bundle");
  if (!measurements.is_array()) bad("bundle.measurements: not an array");
  r.measurements.reserve(measurements.size());
  for (size_t i = 0; i < measurements.size(); ++i) {
    const std::string where = "measurements[" + std::to_string(i) + "]";
    const json& m = measurements[i];
    if (!m.is_object()) bad(where + ": not an object");
    Evidence e;
    e.envelope = string_at(m, "envelope", where);
    if (v1) {
      if (auto it = m.find("log"); it != m.end()) e.proof = parse_proof_v1(*it, where + ".log", r.checkpoint);
    } else if (auto it = m.find("tlog_proof"); it != m.end()) {
      e.proof = parse_proof(*it, where + ".tlog_proof");
    }
    r.measurements.push_back(std::move(e));
  }
  return b;
}

}  // namespace kuzet::report
