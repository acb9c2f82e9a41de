#include "collector/ooni/import.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "ascii/ascii.hpp"
#include "collector/network/address.hpp"
#include "collector/ooni/failures.hpp"
#include "core/crypto/crypto.hpp"
#include "core/vocabulary/country.hpp"
#include "core/vocabulary/failure.hpp"
#include "core/time.hpp"
#include "measure/http/http.hpp"
#include "measure/observations_json.hpp"
#include "measure/tls.hpp"
#include "measure/http/url.hpp"

namespace kuzet::ooni {

using nlohmann::json;
namespace m = kuzet::measure;

namespace {

// Typed reads of untrusted JSON: a wrong type is the same as a missing field.
std::string str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

double number(const json& j, const char* key, double fallback = 0) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

// A whole number of type T (a fraction is dropped); a number T cannot hold is like a missing field. A plain
// static_cast of such a double is undefined behaviour (UBSan: float-cast-overflow; found by the fuzzer).
template <typename T>
T integer(const json& j, const char* key, T fallback = 0) {
  const double v = number(j, key, std::numeric_limits<double>::quiet_NaN());
  const double upper = std::ldexp(1.0, std::numeric_limits<T>::digits);
  const double lower = std::numeric_limits<T>::is_signed ? -upper : 0;
  return v >= lower && v < upper ? static_cast<T>(v) : fallback;
}

// OONI's seconds as milliseconds; a product that is not finite (1e308 s) is like a missing field.
double milliseconds(const json& j, const char* key) {
  const double ms = number(j, key) * 1000;
  return std::isfinite(ms) ? ms : 0;
}

const json& field(const json& j, const char* key) {
  static const json null_value;
  if (!j.is_object()) return null_value;
  auto it = j.find(key);
  return it != j.end() ? *it : null_value;
}

const json& array_field(const json& j, const char* key) {
  static const json empty = json::array();
  const json& f = field(j, key);
  return f.is_array() ? f : empty;
}

// Kuzet's exact failure from a Kuzet export ("x_kuzet_failure"), when it has the vocabulary's shape;
// otherwise OONI's string mapped for the step.
bool failure_shaped(const std::string& f) {
  if (f.empty() || f.size() > 40) return false;
  for (unsigned char c : f)
    if (!(std::islower(c) || c == '.' || c == '_')) return false;
  return f.starts_with("dns.") || f.starts_with("tcp.") || f.starts_with("tls.") || f.starts_with("http.") ||
         f.starts_with("control.");
}

std::string failure_of(const json& j, Step step) {
  std::string exact = str(j, "x_kuzet_failure");
  if (failure_shaped(exact)) return exact;
  return from_ooni_failure(str(j, "failure"), step);
}

// A typed Kuzet struct from an x_kuzet_ field; a wrong shape counts as absent.
template <typename T>
std::optional<T> typed(const json& j, const char* key) {
  const json& v = field(j, key);
  if (v.is_null()) return std::nullopt;
  try {
    return v.get<T>();
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string bare_name(std::string s) {
  ascii::lower_in_place(s);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// df-001: a body or header value is a string, or {"format": "base64", "data": "..."} for non-UTF-8 bytes.
std::string maybe_binary(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && str(v, "format") == "base64")
    if (auto raw = core::base64_decode(str(v, "data"))) return *raw;
  return "";
}

// "ip:port" or "[v6]:port".
bool split_endpoint(const std::string& text, std::string& address, uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 >= text.size()) return false;
  std::string host = text.substr(0, colon), digits = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  unsigned long p = std::stoul(digits);
  if (p == 0 || p > 65535 || host.empty()) return false;
  address = host;
  port = static_cast<uint16_t>(p);
  return true;
}

std::string rcode_for(const std::string& kuzet_failure) {
  if (kuzet_failure.empty()) return "NOERROR";
  if (kuzet_failure == core::failure::dns_nxdomain) return "NXDOMAIN";
  if (kuzet_failure == core::failure::dns_servfail) return "SERVFAIL";
  if (kuzet_failure == core::failure::dns_refused) return "REFUSED";
  if (kuzet_failure == core::failure::dns_no_answer) return "NOERROR";
  return "";
}

void add_unique(std::vector<std::string>& list, const std::string& v) {
  if (std::find(list.begin(), list.end(), v) == list.end()) list.push_back(v);
}

m::DnsObservation dns_of(const json& keys, const std::string& host, std::vector<m::AddressInfo>& infos) {
  m::DnsObservation dns;
  dns.hostname = host;
  dns.resolver = "system";
  std::vector<std::string> a_records, aaaa_records;
  for (const auto& q : array_field(keys, "queries")) {
    if (bare_name(str(q, "hostname")) != host) continue;  // v0.5 also lists redirect hops' lookups
    std::string type = str(q, "query_type");
    if (type != "A" && type != "AAAA" && type != "ANY") continue;
    if (std::string r = str(q, "resolver_address"); !r.empty() && dns.resolver == "system") dns.resolver = r;
    std::string failure = failure_of(q, Step::dns);
    std::string exact_rcode = str(q, "x_rcode");
    // getaddrinfo's "ANY" lookups carry both families: one Kuzet query per family.
    for (const char* family : {"A", "AAAA"}) {
      if (type != "ANY" && type != family) continue;
      m::DnsQuery query;
      query.query_type = family;
      query.failure = failure;
      query.rcode = exact_rcode.size() <= 12 && field(q, "x_rcode").is_string() ? exact_rcode : rcode_for(failure);
      query.duration_ms = milliseconds(q, "t");
      for (const auto& a : array_field(q, "answers")) {
        std::string answer_type = str(a, "answer_type");
        std::string value = answer_type == "A" ? str(a, "ipv4") : answer_type == "AAAA" ? str(a, "ipv6") : str(a, "hostname");
        if (value.empty() || (type == "ANY" && answer_type != family && answer_type != "CNAME")) continue;
        if (type == "ANY" && answer_type == "CNAME" && std::string(family) == "AAAA") continue;
        query.answers.push_back({answer_type, value, integer<uint32_t>(a, "ttl")});
        if (answer_type == "A" || answer_type == "AAAA") {
          add_unique(answer_type == "A" ? a_records : aaaa_records, value);
          if (auto asn = integer<uint32_t>(a, "asn"); asn > 0)
            infos.push_back({value, asn, str(a, "as_org_name"), "", false});
        }
      }
      if (failure.empty() && query.answers.empty() && !field(q, "x_rcode").is_string())
        query.failure = std::string(core::failure::dns_no_answer);
      dns.duration_ms = std::max(dns.duration_ms, query.duration_ms);
      dns.queries.push_back(std::move(query));
    }
  }
  for (const auto& v : a_records) add_unique(dns.addresses, v);
  for (const auto& v : aaaa_records) add_unique(dns.addresses, v);
  if (std::string exact = str(keys, "x_kuzet_dns_failure"); field(keys, "x_kuzet_dns_failure").is_string() &&
                                                             (exact.empty() || failure_shaped(exact))) {
    dns.failure = exact;
  } else if (dns.addresses.empty()) {
    dns.failure = from_ooni_failure(str(keys, "dns_experiment_failure"), Step::dns);
    if (dns.failure.empty())
      for (const auto& q : dns.queries)
        if (!q.failure.empty()) { dns.failure = q.failure; break; }
    if (dns.failure.empty()) dns.failure = std::string(core::failure::dns_no_answer);
  }
  return dns;
}

std::vector<m::TcpConnect> tcp_of(const json& keys, uint16_t port) {
  std::vector<m::TcpConnect> out;
  for (const auto& c : array_field(keys, "tcp_connect")) {
    std::string ip = str(c, "ip");
    double p = number(c, "port");
    if (ip.empty() || p != port) continue;
    const json& status = field(c, "status");
    std::string failure = failure_of(status, Step::tcp);
    bool success = field(status, "success").is_boolean() && field(status, "success").get<bool>();
    if (!success && failure.empty()) failure = std::string(core::failure::tcp_error);
    out.push_back({ip, port, failure, milliseconds(c, "t")});
  }
  return out;
}

// The failure and chain of one handshake entry (the probe's list or the control's map).
void read_handshake(const json& h, m::TlsHandshake& t) {
  t.sni = str(h, "server_name");
  std::string failure = str(h, "failure");
  if (is_ooni_verify_failure(failure)) t.verify_failure = from_ooni_failure(failure, Step::tls);
  else t.failure = from_ooni_failure(failure, Step::tls);
  // A Kuzet export says which of the two failed, exactly.
  auto handshake = str(h, "x_kuzet_handshake_failure"), verify = str(h, "x_kuzet_verify_failure");
  if (field(h, "x_kuzet_handshake_failure").is_string() && (handshake.empty() || failure_shaped(handshake)) &&
      field(h, "x_kuzet_verify_failure").is_string() && (verify.empty() || failure_shaped(verify))) {
    t.failure = handshake;
    t.verify_failure = verify;
    t.verify_error = m::http::sanitize_utf8(str(h, "x_kuzet_verify_error").substr(0, 512));
    t.alert = m::http::sanitize_utf8(str(h, "x_kuzet_alert").substr(0, 64));
    t.public_trust = m::http::sanitize_utf8(str(h, "x_kuzet_public_trust").substr(0, 4096));
    if (auto pv = str(h, "x_kuzet_public_verify_failure"); pv.empty() || failure_shaped(pv)) t.public_verify_failure = pv;
  }
  if (auto chain = typed<std::vector<m::CertificateInfo>>(h, "x_kuzet_chain")) t.chain = std::move(*chain);
}

std::vector<m::TlsHandshake> tls_of(const json& keys, uint16_t port) {
  std::vector<m::TlsHandshake> out;
  for (const auto& h : array_field(keys, "tls_handshakes")) {
    m::TlsHandshake t;
    if (!split_endpoint(str(h, "address"), t.address, t.port) || t.port != port) continue;
    read_handshake(h, t);
    t.version = str(h, "tls_version");
    t.cipher = str(h, "cipher_suite");
    t.alpn = str(h, "negotiated_protocol");
    t.duration_ms = milliseconds(h, "t");
    for (const auto& cert : array_field(h, "peer_certificates")) {
      std::string der = maybe_binary(cert);
      if (der.empty()) continue;
      auto info = m::describe_certificate_der(der);
      if (!info.sha256.empty()) t.chain.push_back(std::move(info));
    }
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<m::HttpHeader> headers_of(const json& response) {
  std::vector<m::HttpHeader> out;
  const json& list = field(response, "headers_list");
  if (list.is_array()) {
    for (const auto& pair : list)
      if (pair.is_array() && pair.size() == 2 && pair[0].is_string())
        out.push_back({pair[0].get<std::string>(), m::http::sanitize_utf8(maybe_binary(pair[1]))});
    return out;
  }
  const json& map = field(response, "headers");
  if (map.is_object())
    for (auto it = map.begin(); it != map.end(); ++it) {
      // Old measurements keep repeated headers as lists.
      if (it.value().is_array()) {
        for (const auto& v : it.value()) out.push_back({it.key(), m::http::sanitize_utf8(maybe_binary(v))});
      } else {
        out.push_back({it.key(), m::http::sanitize_utf8(maybe_binary(it.value()))});
      }
    }
  return out;
}

std::string header(const std::vector<m::HttpHeader>& headers, const std::string& name) {
  for (const auto& h : headers)
    if (ascii::lower(h.name) == name) return h.value;
  return "";
}

constexpr size_t kPrefixBytes = 2048;  // as the probe's body_prefix

std::optional<m::HttpObservation> http_of(const json& keys, const std::vector<m::TcpConnect>& tcp) {
  const json& requests = array_field(keys, "requests");
  std::string experiment_failure = str(keys, "http_experiment_failure");
  bool connected = std::any_of(tcp.begin(), tcp.end(), [](const m::TcpConnect& c) { return c.failure.empty(); });
  if (requests.empty() && !connected) return std::nullopt;  // Kuzet: null when no connection worked
  m::HttpObservation http;
  std::string first_connected;
  for (const auto& c : tcp)
    if (c.failure.empty()) { first_connected = c.address; break; }
  // OONI lists the newest request first.
  for (auto it = requests.rbegin(); it != requests.rend(); ++it) {
    const json& r = *it;
    m::HttpRequest hop;
    hop.url = str(field(r, "request"), "url");
    std::string address;
    uint16_t port = 0;
    hop.address = split_endpoint(str(r, "address"), address, port) ? address : first_connected;
    hop.failure = failure_of(r, Step::http);
    const json& response = field(r, "response");
    hop.status = integer<int>(response, "code");
    if (hop.status < 0 || hop.status > 999) hop.status = 0;
    hop.headers = headers_of(response);
    std::string body = maybe_binary(field(response, "body"));
    hop.body_length = body.size();
    hop.body_truncated = field(response, "body_is_truncated").is_boolean() && field(response, "body_is_truncated").get<bool>();
    hop.body_sha256 = core::sha256_hex(body);
    hop.body_prefix = m::http::sanitize_utf8(std::string_view(body).substr(0, kPrefixBytes));
    hop.title = m::http::extract_title(body);
    if (std::string loc = header(hop.headers, "location"); !loc.empty() && hop.status / 100 == 3)
      hop.location = m::http::sanitize_utf8(m::http::resolve_redirect(hop.url, loc).value_or(""));
    hop.total_ms = milliseconds(r, "t");
    // A Kuzet export keeps only a body prefix: the real length, digest, title and timing ride along.
    if (field(response, "x_kuzet_body_length").is_number_unsigned()) {
      hop.body_length = field(response, "x_kuzet_body_length").get<uint64_t>();
      hop.body_truncated = field(response, "x_kuzet_body_truncated").is_boolean() && field(response, "x_kuzet_body_truncated").get<bool>();
      hop.body_sha256 = m::http::sanitize_utf8(str(response, "x_kuzet_body_sha256").substr(0, 64));
      hop.title = m::http::sanitize_utf8(str(response, "x_kuzet_title").substr(0, 1024));
      hop.location = m::http::sanitize_utf8(str(response, "x_kuzet_location").substr(0, 8192));
    }
    const json& timing = field(r, "x_kuzet_timing");
    if (timing.is_object()) {
      hop.connect_ms = number(timing, "connect_ms");
      hop.tls_ms = number(timing, "tls_ms");
      hop.first_byte_ms = number(timing, "first_byte_ms");
      hop.total_ms = number(timing, "total_ms");
    }
    if (auto samples = typed<std::vector<m::ThroughputSample>>(r, "x_kuzet_samples")) hop.samples = std::move(*samples);
    http.requests.push_back(std::move(hop));
  }
  http.failure = from_ooni_failure(experiment_failure, Step::http);
  if (std::string exact = str(keys, "x_kuzet_http_failure"); field(keys, "x_kuzet_http_failure").is_string() &&
                                                              (exact.empty() || failure_shaped(exact)))
    http.failure = exact;
  http.throughput_bps = std::max(0.0, number(keys, "x_kuzet_throughput_bps"));
  if (!http.requests.empty()) {
    http.url = http.requests.front().url;
    http.final_url = http.requests.back().url;
    if (http.failure.empty()) http.failure = http.requests.back().failure;
  }
  return http;
}

std::optional<m::ControlObservations> control_of(const json& keys, const ImportedMeasurement& im,
                                                   const std::vector<m::AddressInfo>& probe_infos) {
  const json& control = field(keys, "control");
  m::ControlObservations out;
  out.vantage = "ooni-test-helper";
  if (std::string v = str(keys, "x_kuzet_control_vantage"); !v.empty()) out.vantage = m::http::sanitize_utf8(v.substr(0, 64));
  out.target.url = im.target.observations.url;
  out.target.scheme = im.target.observations.scheme;
  out.target.host = im.target.observations.host;
  out.target.port = im.target.observations.port;
  if (keys.contains("x_kuzet_control_failure")) {  // a Kuzet export: no control, or a failed one
    const json& f = field(keys, "x_kuzet_control_failure");
    if (f.is_null()) return std::nullopt;
    if (f.is_string() && failure_shaped(f.get<std::string>())) {
      out.failure = f.get<std::string>();
      return out;
    }
  }
  if (!str(keys, "control_failure").empty() || !control.is_object() || control.empty()) {
    return std::nullopt;  // no control: the engine judges from local evidence alone
  }
  const json& dns = field(control, "dns");
  for (const auto& a : array_field(dns, "addrs"))
    if (a.is_string() && collector::network::parse_ip(a.get<std::string>())) add_unique(out.target.dns.addresses, a.get<std::string>());
  out.target.dns.hostname = im.target.observations.host;
  out.target.dns.failure = failure_of(dns, Step::dns);
  if (out.target.dns.addresses.empty() && out.target.dns.failure.empty())
    out.target.dns.failure = std::string(core::failure::dns_no_answer);
  const uint16_t port = im.target.observations.port;
  if (const json& tcp = field(control, "tcp_connect"); tcp.is_object())
    for (auto it = tcp.begin(); it != tcp.end(); ++it) {
      m::TcpConnect c;
      if (!split_endpoint(it.key(), c.address, c.port) || c.port != port) continue;
      bool ok = field(it.value(), "status").is_boolean() && field(it.value(), "status").get<bool>();
      c.failure = failure_of(it.value(), Step::tcp);
      if (!ok && c.failure.empty()) c.failure = std::string(core::failure::tcp_error);
      out.target.tcp.push_back(std::move(c));
    }
  if (const json& tls = field(control, "tls_handshake"); tls.is_object())
    for (auto it = tls.begin(); it != tls.end(); ++it) {
      m::TlsHandshake h;
      if (!split_endpoint(it.key(), h.address, h.port) || h.port != port) continue;
      read_handshake(it.value(), h);
      h.version = str(it.value(), "tls_version");
      h.cipher = str(it.value(), "cipher_suite");
      h.alpn = str(it.value(), "negotiated_protocol");
      out.target.tls.push_back(std::move(h));
    }
  const json& http = field(control, "http_request");
  if (http.is_object()) {
    m::HttpObservation obs;
    obs.url = im.input;
    obs.final_url = im.input;
    obs.failure = from_ooni_failure(str(http, "failure"), Step::http);
    m::HttpRequest r;
    r.url = im.input;
    int status = integer<int>(http, "status_code", -1);
    r.status = status > 0 && status <= 999 ? status : 0;
    r.body_length = integer<uint64_t>(http, "body_length");
    r.title = m::http::sanitize_utf8(str(http, "title"));
    r.headers = headers_of(json{{"headers", field(http, "headers")}});
    r.failure = obs.failure;
    obs.requests.push_back(std::move(r));
    out.target.http = std::move(obs);
    if (auto exact = typed<m::HttpObservation>(http, "x_kuzet_http")) out.target.http = std::move(*exact);
  }
  // Network facts for every address either side resolved: the test helper's ip_info, then the
  // annotations OONI adds to the probe's answers.
  const json& ip_info = field(control, "ip_info");
  std::vector<std::string> seen;
  auto add_info = [&](const std::string& address, uint32_t asn, const std::string& as_name, const std::string& cc) {
    if (std::find(seen.begin(), seen.end(), address) != seen.end()) return;
    seen.push_back(address);
    out.addresses.push_back({address, asn, as_name, cc, collector::network::is_bogon(address)});
  };
  if (ip_info.is_object())
    for (auto it = ip_info.begin(); it != ip_info.end(); ++it)
      if (collector::network::parse_ip(it.key()))
        add_info(it.key(), static_cast<uint32_t>(std::clamp(number(it.value(), "asn"), 0.0, 4294967295.0)),
                 m::http::sanitize_utf8(str(it.value(), "x_kuzet_as_name").substr(0, 256)),
                 m::http::sanitize_utf8(str(it.value(), "x_kuzet_cc").substr(0, 2)));
  for (const auto& info : probe_infos) add_info(info.address, info.asn, info.as_name, "");
  // An address nobody annotated gets an entry only to say it is a bogon: an entry with ASN 0 would read as
  // network data the measurement does not have.
  auto add_bogons = [&](const std::vector<std::string>& addresses) {
    for (const auto& a : addresses)
      if (collector::network::is_bogon(a)) add_info(a, 0, "", "");
  };
  add_bogons(im.target.observations.dns.addresses);
  add_bogons(out.target.dns.addresses);
  return out;
}

}  // namespace

ParsedOoni from_ooni(const json& o) {
  ParsedOoni out;
  if (!o.is_object()) return {std::nullopt, skip::malformed, "not a JSON object"};
  if (str(o, "test_name") != "web_connectivity")
    return {std::nullopt, skip::not_web_connectivity, str(o, "test_name")};
  const json& keys = field(o, "test_keys");
  if (!keys.is_object()) return {std::nullopt, skip::no_test_keys, ""};
  ImportedMeasurement im;
  im.input = str(o, "input");
  auto url = m::http::parse_url(im.input);
  if (!url) return {std::nullopt, skip::bad_input, im.input.substr(0, 200)};
  std::string start = str(o, "measurement_start_time");  // "YYYY-MM-DD hh:mm:ss"
  std::optional<core::SystemTime> t;
  if (start.size() == 19 && start[10] == ' ') t = core::parse_rfc3339(start.substr(0, 10) + "T" + start.substr(11) + "Z");
  if (!t) return {std::nullopt, skip::bad_time, start.substr(0, 40)};
  im.started_at = core::format_rfc3339(*t);
  im.started_at_ms = core::to_unix_ms(*t);
  im.ooni_measurement_uid = str(o, "measurement_uid");
  im.report_id = str(o, "report_id");
  im.cc = str(o, "probe_cc");
  if (im.cc == "ZZ" || !core::country::is_code(im.cc)) im.cc.clear();  // OONI's "ZZ": unknown
  std::string asn = str(o, "probe_asn");
  if (asn.size() > 2 && asn.size() <= 12 && asn.starts_with("AS") &&
      std::all_of(asn.begin() + 2, asn.end(), ::isdigit)) {
    unsigned long long n = std::stoull(asn.substr(2));
    im.asn = n <= 0xffffffffULL ? static_cast<uint32_t>(n) : 0;
  }
  im.as_name = str(o, "probe_network_name");
  im.software_name = str(o, "software_name");
  im.software_version = str(o, "software_version");
  im.runtime_ms = milliseconds(o, "test_runtime");

  auto& obs = im.target.observations;
  obs.url = im.input;
  obs.scheme = url->scheme;
  obs.host = url->host;
  obs.port = url->port;
  obs.duration_ms = im.runtime_ms;
  std::vector<m::AddressInfo> probe_infos;
  obs.dns = dns_of(keys, bare_name(url->host), probe_infos);
  obs.dns.hostname = url->host;
  obs.tcp = tcp_of(keys, url->port);
  if (url->scheme == "https") obs.tls = tls_of(keys, url->port);
  obs.http = http_of(keys, obs.tcp);
  obs.neutral_sni_http = typed<m::HttpObservation>(keys, "x_kuzet_neutral_sni_http");
  obs.repeat_sni_http = typed<m::HttpObservation>(keys, "x_kuzet_repeat_sni_http");
  im.target.category = "";
  im.target.control = control_of(keys, im, probe_infos);
  out.measurement = std::move(im);
  return out;
}

ParsedOoni parse_ooni_line(std::string_view line) {
  auto parsed = core::parse_json(line, kOoniLineLimits);
  if (!parsed.ok()) return {std::nullopt, skip::malformed, parsed.error.substr(0, 200)};
  return from_ooni(parsed.value);
}

std::string kuzet_uid(const ImportedMeasurement& im) {
  // Same shape as the probe's uids (time first, so listings sort by time), random part from OONI's identity.
  std::string identity = !im.ooni_measurement_uid.empty() ? im.ooni_measurement_uid
                                                           : im.report_id + "\n" + im.input + "\n" + im.started_at;
  std::string t = im.started_at;  // YYYY-MM-DDThh:mm:ss.mmmZ
  std::string compact = t.substr(0, 4) + t.substr(5, 2) + t.substr(8, 2) + "T" + t.substr(11, 2) + t.substr(14, 2) +
                        t.substr(17, 2) + "Z";
  return compact + "_" + core::sha256_hex("ooni:" + identity).substr(0, 16);
}

analysis::Verdict judge(const ImportedMeasurement& im, const analysis::Knowledge& knowledge) {
  analysis::RunFacts facts;
  facts.collector_reachable = im.target.control.has_value();
  return analysis::analyze_run({im.target}, facts, knowledge).front();
}

std::string explorer_url(const ImportedMeasurement& im) {
  if (!im.ooni_measurement_uid.empty()) return "https://explorer.ooni.org/m/" + im.ooni_measurement_uid;
  return "https://explorer.ooni.org/measurement/" + im.report_id;
}

json to_kuzet_measurement(const ImportedMeasurement& im, const analysis::Verdict& v) {
  json evidence = json::array();
  for (const auto& e : v.evidence) evidence.push_back({{"key", e.key}, {"value", e.value}});
  return {{"schema", "kuzet.measurement/1"},
          {"measurement_uid", kuzet_uid(im)},
          {"run_id", im.report_id},
          {"input", im.input},
          {"target", im.target.observations.host},
          {"category", im.target.category},
          {"spec", ""},
          {"started_at", im.started_at},
          {"runtime_ms", im.runtime_ms},
          {"verdict", v.verdict},
          {"method", v.method},
          {"explanation", v.explanation},
          {"evidence", evidence},
          {"network", {{"cc", im.cc}, {"asn", im.asn}, {"as_name", im.as_name}, {"source", kSourceName}}},
          {"software", {{"name", im.software_name}, {"version", im.software_version}}},
          {"observations", im.target.observations},
          {"control", im.target.control ? json(*im.target.control) : json(nullptr)},
          {"source", {{"name", kSourceName},
                      {"measurement_uid", im.ooni_measurement_uid},
                      {"report_id", im.report_id},
                      {"explorer_url", explorer_url(im)}}}};
}

}  // namespace kuzet::ooni
