#include "collector/ooni/export.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <stdexcept>

#include "ascii/ascii.hpp"
#include "collector/ooni/failures.hpp"
#include "collector/ooni/import.hpp"
#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"
#include "core/time.hpp"
#include "core/vocabulary/country.hpp"
#include "core/vocabulary/method.hpp"
#include "core/vocabulary/verdict.hpp"
#include "measure/observations.hpp"
#include "measure/observations_json.hpp"

namespace kuzet::ooni {

using nlohmann::json;
namespace m = kuzet::measure;

namespace {

json failure_or_null(const std::string& kuzet_failure) {
  if (kuzet_failure.empty()) return nullptr;
  return to_ooni_failure(kuzet_failure);
}

// OONI's failure strings are coarser than Kuzet's (tls.alert and tls.error are both ssl_failed_handshake):
// every object with a failure also carries Kuzet's exact one as "x_kuzet_failure", in OONI's own x_ style.
void put_failure(json& j, const std::string& kuzet_failure) {
  j["failure"] = failure_or_null(kuzet_failure);
  if (!kuzet_failure.empty()) j["x_kuzet_failure"] = kuzet_failure;
}

std::string endpoint(const std::string& address, uint16_t port) {
  bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

double seconds(double ms) { return ms / 1000.0; }

json queries_of(const m::DnsObservation& dns) {
  json out = json::array();
  for (const auto& q : dns.queries) {
    json answers = json::array();
    for (const auto& a : q.answers) {
      json answer = {{"answer_type", a.type}, {"ttl", a.ttl}};
      if (a.type == "A") answer["ipv4"] = a.value;
      else if (a.type == "AAAA") answer["ipv6"] = a.value;
      else answer["hostname"] = a.value;
      answers.push_back(std::move(answer));
    }
    bool system = dns.resolver.empty() || dns.resolver == "system";
    json query = {{"answers", answers},
                  {"engine", system ? "getaddrinfo" : "udp"},
                  {"hostname", dns.hostname},
                  {"query_type", q.query_type},
                  {"resolver_address", system ? "" : dns.resolver},
                  {"resolver_hostname", nullptr},
                  {"resolver_port", nullptr},
                  {"t", seconds(q.duration_ms)},
                  {"x_rcode", q.rcode}};
    put_failure(query, q.failure);
    out.push_back(std::move(query));
  }
  return out;
}

json tcp_of(const std::vector<m::TcpConnect>& tcp) {
  json out = json::array();
  for (const auto& c : tcp) {
    json status = {{"success", c.failure.empty()}, {"blocked", nullptr}};
    put_failure(status, c.failure);
    out.push_back({{"ip", c.address}, {"port", c.port}, {"status", status}, {"t", seconds(c.duration_ms)}});
  }
  return out;
}

// One handshake. Kuzet keeps the chain's digests and names, not the DER, so peer_certificates stays empty
// and the chain rides along as "x_kuzet_chain"; the handshake's and the verification's failures apart.
json tls_entry(const m::TlsHandshake& h) {
  const std::string& failure = h.failure.empty() ? h.verify_failure : h.failure;
  json entry = {{"network", "tcp"},
                {"address", endpoint(h.address, h.port)},
                {"server_name", h.sni},
                {"failure", failure_or_null(failure)},
                {"tls_version", h.version},
                {"cipher_suite", h.cipher},
                {"negotiated_protocol", h.alpn},
                {"no_tls_verify", false},
                {"peer_certificates", json::array()},
                {"t", seconds(h.duration_ms)},
                {"x_kuzet_handshake_failure", h.failure},
                {"x_kuzet_verify_failure", h.verify_failure},
                {"x_kuzet_verify_error", h.verify_error},
                {"x_kuzet_alert", h.alert},
                {"x_kuzet_public_trust", h.public_trust},
                {"x_kuzet_public_verify_failure", h.public_verify_failure},
                {"x_kuzet_chain", h.chain}};
  return entry;
}

json tls_of(const std::vector<m::TlsHandshake>& tls) {
  json out = json::array();
  for (const auto& h : tls) {
    // OONI reports a certificate that does not verify as a failed handshake; Kuzet completes the
    // handshake and records verification apart. The chain's digests stay under the extension key.
    out.push_back(tls_entry(h));
  }
  return out;
}

json headers_map(const std::vector<m::HttpHeader>& headers) {
  json map = json::object();
  for (const auto& h : headers)
    if (!map.contains(h.name)) map[h.name] = h.value;
  return map;
}

json headers_list(const std::vector<m::HttpHeader>& headers) {
  json list = json::array();
  for (const auto& h : headers) list.push_back(json::array({h.name, h.value}));
  return list;
}

// OONI lists a redirect chain's requests newest first.
json requests_of(const m::HttpObservation& http) {
  json out = json::array();
  for (auto it = http.requests.rbegin(); it != http.requests.rend(); ++it) {
    const auto& r = *it;
    json response = nullptr;
    if (r.status != 0)
      response = {{"code", r.status},
                  {"headers", headers_map(r.headers)},
                  {"headers_list", headers_list(r.headers)},
                  // Kuzet keeps only the first bytes of a body: say it is truncated when it was cut, and
                  // give the real length, digest and title apart.
                  {"body", r.body_prefix},
                  {"body_is_truncated", r.body_truncated || r.body_length > r.body_prefix.size()},
                  {"x_kuzet_body_length", r.body_length},
                  {"x_kuzet_body_truncated", r.body_truncated},
                  {"x_kuzet_body_sha256", r.body_sha256},
                  {"x_kuzet_title", r.title},
                  {"x_kuzet_location", r.location}};
    json entry = {{"address", r.address},
                  {"x_kuzet_timing", {{"connect_ms", r.connect_ms}, {"tls_ms", r.tls_ms}, {"first_byte_ms", r.first_byte_ms}, {"total_ms", r.total_ms}}},
                  {"x_kuzet_samples", r.samples}};
    put_failure(entry, r.failure);
    entry.update(json{
                  {"request", {{"method", "GET"},
                                {"url", r.url},
                                {"headers", json::object()},
                                {"headers_list", json::array()},
                                {"body", ""},
                                {"body_is_truncated", false},
                                {"tor", {{"is_tor", false}, {"exit_ip", nullptr}, {"exit_name", nullptr}}},
                                {"x_transport", "tcp"}}},
                  {"response", response},
                  {"t", seconds(r.total_ms)}});
    out.push_back(std::move(entry));
  }
  return out;
}

const m::HttpRequest* final_response(const std::optional<m::HttpObservation>& http) {
  if (!http || http->requests.empty()) return nullptr;
  const auto& last = http->requests.back();
  return last.status != 0 ? &last : nullptr;
}

json control_of(const m::ControlObservations& control) {
  const auto& t = control.target;
  json tcp = json::object(), tls = json::object(), ip_info = json::object();
  for (const auto& c : t.tcp) {
    json entry = {{"status", c.failure.empty()}};
    put_failure(entry, c.failure);
    tcp[endpoint(c.address, c.port)] = entry;
  }
  for (const auto& h : t.tls) {
    auto full = tls_entry(h);
    full["status"] = !full["failure"].is_string();
    full.erase("address");
    tls[endpoint(h.address, h.port)] = full;
  }
  for (const auto& a : control.addresses)
    ip_info[a.address] = {{"asn", a.asn}, {"x_kuzet_as_name", a.as_name}, {"x_kuzet_cc", a.cc}};
  json http = {{"body_length", -1}, {"failure", nullptr}, {"title", ""}, {"headers", json::object()}, {"status_code", -1}};
  if (const auto* r = final_response(t.http)) {
    http = {{"body_length", r->body_length},
            {"failure", nullptr},
            {"title", r->title},
            {"headers", headers_map(r->headers)},
            {"status_code", r->status}};
  }
  if (t.http) {
    put_failure(http, t.http->failure);
    // The control's whole redirect chain, for the comparisons OONI's single final response cannot carry.
    http["x_kuzet_http"] = *t.http;
  }
  json dns = {{"addrs", t.dns.addresses}};
  put_failure(dns, t.dns.failure);
  return {{"tcp_connect", tcp}, {"tls_handshake", tls}, {"http_request", http}, {"dns", dns}, {"ip_info", ip_info}};
}

// Headers that most responses carry: matching on them says nothing (ts-017 "uncommon headers").
bool common_header(const std::string& name) {
  static const std::set<std::string> common = {
      "date", "content-type", "server", "cache-control", "vary", "set-cookie", "location", "expires",
      "x-powered-by", "content-encoding", "last-modified", "accept-ranges", "pragma", "x-frame-options",
      "etag", "x-content-type-options", "age", "via", "p3p", "x-xss-protection", "content-language",
      "cf-ray", "strict-transport-security", "link", "x-varnish", "content-length", "connection",
      "transfer-encoding", "keep-alive"};
  return common.count(name) > 0;
}

std::set<std::string> uncommon_headers(const std::vector<m::HttpHeader>& headers) {
  std::set<std::string> out;
  for (const auto& h : headers) {
    auto name = ascii::lower(h.name);
    if (!common_header(name)) out.insert(name);
  }
  return out;
}

std::set<std::string> long_words(const std::string& title) {
  std::set<std::string> out;
  std::string word;
  for (size_t i = 0; i <= title.size(); ++i) {
    unsigned char c = i < title.size() ? title[i] : ' ';
    if (std::isspace(c)) {
      if (word.size() > 4) out.insert(ascii::lower(word));
      word.clear();
    } else {
      word.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// ts-017's comparison keys, computed from the probe's and the control's final responses.
void comparison_keys(const m::TargetObservations& local, const std::optional<m::ControlObservations>& control,
                     json& keys) {
  keys["body_proportion"] = nullptr;
  keys["body_length_match"] = nullptr;
  keys["headers_match"] = nullptr;
  keys["status_code_match"] = nullptr;
  keys["title_match"] = nullptr;
  const auto* probe = final_response(local.http);
  const auto* th = control ? final_response(control->target.http) : nullptr;
  if (!probe || !th) return;
  if (probe->body_length > 0 && th->body_length > 0) {
    double ratio = double(probe->body_length) / double(th->body_length);
    double proportion = std::min(ratio, 1.0 / ratio);
    keys["body_proportion"] = proportion;
    keys["body_length_match"] = proportion > 0.7;
  }
  if (th->status / 100 == 2) keys["status_code_match"] = probe->status == th->status;
  auto mine = uncommon_headers(probe->headers), theirs = uncommon_headers(th->headers);
  bool shared = std::any_of(mine.begin(), mine.end(), [&](const std::string& h) { return theirs.count(h) > 0; });
  keys["headers_match"] = shared;
  auto a = long_words(probe->title), b = long_words(th->title);
  if (!a.empty() && !b.empty())
    keys["title_match"] = std::any_of(a.begin(), a.end(), [&](const std::string& w) { return b.count(w) > 0; });
}

// OONI's blocking/accessible from Kuzet's verdict and method. OONI has no word for interception or
// throttling: interception is TLS interference ("http-failure"), a throttled site is still accessible.
void blocking_keys(const std::string& verdict, const std::string& method, json& keys) {
  namespace v = core::verdict;
  if (verdict == v::ok || verdict == v::throttled) {
    keys["blocking"] = false;
    keys["accessible"] = true;
  } else if (verdict == v::down) {
    keys["blocking"] = false;
    keys["accessible"] = false;
  } else if (verdict == v::blocked || verdict == v::intercepted) {
    keys["accessible"] = false;
    if (method.starts_with("dns.")) keys["blocking"] = "dns";
    else if (method.starts_with("tcp.")) keys["blocking"] = "tcp_ip";
    else if (method == core::method::http_blockpage) keys["blocking"] = "http-diff";
    else keys["blocking"] = "http-failure";
  } else {  // offline, inconclusive
    keys["blocking"] = nullptr;
    keys["accessible"] = nullptr;
  }
}

std::string dns_consistency(const m::TargetObservations& local, const std::optional<m::ControlObservations>& control) {
  if (!control || (control->target.dns.addresses.empty() && control->target.dns.failure.empty())) return "";
  const auto& mine = local.dns.addresses;
  const auto& theirs = control->target.dns.addresses;
  if (mine.empty() || theirs.empty()) return local.dns.failure == control->target.dns.failure ? "consistent" : "inconsistent";
  auto asn_of = [&](const std::string& address) -> uint32_t {
    for (const auto& a : control->addresses)
      if (a.address == address) return a.asn;
    return 0;
  };
  for (const auto& a : mine) {
    if (std::find(theirs.begin(), theirs.end(), a) != theirs.end()) return "consistent";
    uint32_t asn = asn_of(a);
    if (asn != 0)
      for (const auto& b : theirs)
        if (asn_of(b) == asn) return "consistent";
  }
  return "inconsistent";
}

const json& required(const json& j, const char* key, json::value_t type) {
  auto it = j.find(key);
  if (it == j.end() || it->type() != type)
    throw std::invalid_argument(std::string("measurement has no valid \"") + key + "\"");
  return *it;
}

std::string string_or(const json& j, const char* key, const std::string& fallback = "") {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace

std::string ooni_time(const std::string& rfc3339) {
  auto t = core::parse_rfc3339(rfc3339);
  if (!t) return "";
  auto s = core::format_rfc3339(*t);  // "YYYY-MM-DDThh:mm:ss.mmmZ"
  if (s.size() < 19) return "";
  s = s.substr(0, 19);
  s[10] = ' ';
  return s;
}

json to_ooni(const json& k, const EnvelopeFacts& facts) {
  if (!k.is_object()) throw std::invalid_argument("measurement is not an object");
  const auto uid = required(k, "measurement_uid", json::value_t::string).get<std::string>();
  const auto input = required(k, "input", json::value_t::string).get<std::string>();
  const auto started_at = required(k, "started_at", json::value_t::string).get<std::string>();
  m::TargetObservations local = required(k, "observations", json::value_t::object).get<m::TargetObservations>();
  std::optional<m::ControlObservations> control;
  if (auto it = k.find("control"); it != k.end() && it->is_object()) control = it->get<m::ControlObservations>();
  const std::string start = ooni_time(started_at);
  if (start.empty()) throw std::invalid_argument("measurement has an invalid started_at");

  json network = k.value("network", json::object());
  if (!network.is_object()) network = json::object();
  std::string cc = string_or(network, "cc");
  uint32_t asn = network.contains("asn") && network["asn"].is_number_unsigned() ? network["asn"].get<uint32_t>() : 0;
  if (!core::country::is_code(cc)) cc = "ZZ";  // OONI's unknown
  const std::string as_name = string_or(network, "as_name");

  // report_id: OONI's shape (creation time, test, cc, asn, collector tag, random part); the random part
  // comes from the run id, so the measurements of one run share a report.
  std::string compact = start.substr(0, 4) + start.substr(5, 2) + start.substr(8, 2) + "T" + start.substr(11, 2) +
                        start.substr(14, 2) + start.substr(17, 2) + "Z";
  std::string run_id = string_or(k, "run_id", uid);
  std::string report_id = compact + "_webconnectivity_" + cc + "_" + std::to_string(asn) + "_n1_kuzet" +
                          core::sha256_hex(run_id).substr(0, 16);

  const std::string verdict = string_or(k, "verdict", std::string(core::verdict::inconclusive));
  const std::string method = string_or(k, "method");

  json keys = {{"client_resolver", local.dns.resolver == "system" ? "" : local.dns.resolver},
               {"queries", queries_of(local.dns)},
               {"dns_experiment_failure", failure_or_null(local.dns.failure)},
               {"tcp_connect", tcp_of(local.tcp)},
               {"tls_handshakes", tls_of(local.tls)},
               {"requests", local.http ? requests_of(*local.http) : json::array()},
               {"http_experiment_failure", local.http ? failure_or_null(local.http->failure) : json(nullptr)},
               {"x_kuzet_http_failure", local.http ? local.http->failure : ""},
               {"x_kuzet_dns_failure", local.dns.failure},
               {"x_kuzet_throughput_bps", local.http ? local.http->throughput_bps : 0.0},
               {"x_kuzet_neutral_sni_http", local.neutral_sni_http ? json(*local.neutral_sni_http) : json(nullptr)},
               {"x_kuzet_repeat_sni_http", local.repeat_sni_http ? json(*local.repeat_sni_http) : json(nullptr)},
               {"control_failure", nullptr},
               {"control", json::object()}};
  // OONI has a control or a control_failure; Kuzet also tells "no control asked" from "the control failed".
  if (control) {
    keys["x_kuzet_control_vantage"] = control->vantage;
    if (!control->failure.empty()) {
      keys["control_failure"] = "unknown_failure " + control->failure;
      keys["x_kuzet_control_failure"] = control->failure;
    } else {
      keys["control"] = control_of(*control);
    }
  } else {
    keys["control_failure"] = "unknown_failure no control measurement";
    keys["x_kuzet_control_failure"] = nullptr;
  }
  auto consistency = dns_consistency(local, control);
  keys["dns_consistency"] = consistency.empty() ? json(nullptr) : json(consistency);
  comparison_keys(local, control, keys);
  blocking_keys(verdict, method, keys);

  json software = k.value("software", json::object());
  json extension = {{"measurement_uid", uid},
                    {"schema", string_or(k, "schema")},
                    {"verdict", verdict},
                    {"method", method},
                    {"explanation", string_or(k, "explanation")},
                    {"evidence", k.value("evidence", json::array())},
                    {"category", string_or(k, "category")},
                    {"network_source", string_or(network, "source")},
                    {"key_id", facts.key_id},
                    {"public_key", facts.public_key},
                    {"signature", facts.signature},
                    {"batch", facts.batch},
                    {"envelope_sha256", facts.envelope_sha256},
                    {"log_index", facts.log_index ? json(*facts.log_index) : json(nullptr)},
                    {"tls_chains", json::array()},
                    {"packet_evidence", k.value("packet_evidence", json(nullptr))}};
  for (const auto& h : local.tls)
    extension["tls_chains"].push_back({{"address", endpoint(h.address, h.port)}, {"chain", h.chain}});

  return {{"annotations", {{"engine_name", "kuzet"}}},
          {"data_format_version", "0.2.0"},
          {"input", input},
          {"measurement_start_time", start},
          {"test_start_time", start},
          {"probe_asn", "AS" + std::to_string(asn)},
          {"probe_cc", cc},
          {"probe_ip", "127.0.0.1"},  // OONI's placeholder: the address is never published
          {"probe_network_name", as_name},
          {"report_id", report_id},
          {"resolver_asn", "AS0"},
          {"resolver_ip", ""},
          {"resolver_network_name", ""},
          {"software_name", string_or(software, "name", "kuzet-probe")},
          {"software_version", string_or(software, "version")},
          {"test_helpers", {{"backend", {{"address", "kuzet-collector"}, {"type", "kuzet"}}}}},
          {"test_name", "web_connectivity"},
          {"test_version", "0.4.3"},
          {"test_runtime", seconds(k.value("runtime_ms", 0.0))},
          {"test_keys", keys},
          {kExtensionKey, extension}};
}

}  // namespace kuzet::ooni

namespace kuzet::ooni {

nlohmann::json envelope_to_ooni(const std::string& envelope, std::optional<uint64_t> log_index) {
  // Stored rows were checked when they came in; still bound the parse (a database is a file, not a promise).
  auto parsed = core::parse_json(envelope, kOoniLineLimits);
  if (!parsed.ok()) throw std::invalid_argument("stored envelope: " + parsed.error);
  const nlohmann::json& e = parsed.value;
  if (!e.is_object() || !e.contains("measurement")) throw std::invalid_argument("not a measurement envelope");
  EnvelopeFacts facts;
  facts.public_key = e.value("public_key", "");
  facts.signature = e.value("signature", "");
  if (auto batch = e.find("batch"); batch != e.end()) facts.batch = *batch;
  if (auto raw = core::base64_decode(facts.public_key)) facts.key_id = core::key_id(*raw);
  facts.envelope_sha256 = core::sha256_hex(envelope);
  facts.log_index = log_index;
  return to_ooni(e["measurement"], facts);
}

}  // namespace kuzet::ooni
