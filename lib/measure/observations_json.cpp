#include "measure/observations_json.hpp"

#include <nlohmann/json.hpp>

#include "core/encoding/json_struct.hpp"

namespace kuzet::measure {

KUZET_JSON_DEF(DnsAnswer, type, value, ttl)
KUZET_JSON_DEF(DnsQuery, query_type, rcode, answers, failure, duration_ms)
KUZET_JSON_DEF(DnsObservation, hostname, resolver, queries, addresses, failure, duration_ms)
KUZET_JSON_DEF(TcpConnect, address, port, failure, duration_ms)
KUZET_JSON_DEF(CertificateInfo, sha256, spki_sha256, subject, issuer, serial, not_before, not_after, dns_names,
               key_type, key_bits, self_signed)
KUZET_JSON_DEF(TlsHandshake, address, port, sni, failure, alert, version, cipher, alpn, chain, verify_failure,
               verify_error, public_trust, public_verify_failure, duration_ms)
KUZET_JSON_DEF(ThroughputSample, t_ms, bytes)
KUZET_JSON_DEF(HttpHeader, name, value)
KUZET_JSON_DEF(HttpRequest, url, address, failure, status, headers, location, title, body_length, body_truncated,
               body_sha256, body_prefix, connect_ms, tls_ms, first_byte_ms, total_ms, samples)
KUZET_JSON_DEF(HttpObservation, url, sni, requests, failure, final_url, duration_ms, throughput_bps)
KUZET_JSON_DEF(AddressInfo, address, asn, as_name, cc, bogon)

#undef KUZET_JSON_DEF

namespace {
template <class T>
void optional_to_json(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
  else j[key] = nullptr;
}
template <class T>
void optional_from_json(const nlohmann::json& j, const char* key, std::optional<T>& v) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) v.reset();
  else v = it->template get<T>();
}
}  // namespace

void to_json(nlohmann::json& j, const TargetObservations& v) {
  j = nlohmann::json{{"url", v.url}, {"scheme", v.scheme}, {"host", v.host}, {"port", v.port},
                     {"dns", v.dns}, {"tcp", v.tcp},       {"tls", v.tls},   {"duration_ms", v.duration_ms}};
  optional_to_json(j, "http", v.http);
  optional_to_json(j, "neutral_sni_http", v.neutral_sni_http);
  optional_to_json(j, "repeat_sni_http", v.repeat_sni_http);
  // Only when capture was on: absent means "not recorded", [] means "recorded, nothing found".
  if (v.captured) j["packet_evidence"] = v.packet_evidence;
  if (!v.packet_pcap.empty()) j["packet_pcap"] = v.packet_pcap;
}

void from_json(const nlohmann::json& j, TargetObservations& v) {
  v = TargetObservations{};
  v.url = j.value("url", "");
  v.scheme = j.value("scheme", "");
  v.host = j.value("host", "");
  v.port = core::json_value(j, "port", uint16_t{0});
  if (j.contains("dns")) j.at("dns").get_to(v.dns);
  if (j.contains("tcp")) j.at("tcp").get_to(v.tcp);
  if (j.contains("tls")) j.at("tls").get_to(v.tls);
  v.duration_ms = j.value("duration_ms", 0.0);
  optional_from_json(j, "http", v.http);
  optional_from_json(j, "neutral_sni_http", v.neutral_sni_http);
  optional_from_json(j, "repeat_sni_http", v.repeat_sni_http);
  if (auto it = j.find("packet_evidence"); it != j.end() && it->is_array()) {
    v.captured = true;
    it->get_to(v.packet_evidence);
  }
  v.packet_pcap = j.value("packet_pcap", "");
}

void to_json(nlohmann::json& j, const ControlObservations& v) {
  j = nlohmann::json{{"vantage", v.vantage}, {"failure", v.failure}, {"target", v.target},
                     {"addresses", v.addresses}};
}

void from_json(const nlohmann::json& j, ControlObservations& v) {
  v = ControlObservations{};
  v.vantage = j.value("vantage", "");
  v.failure = j.value("failure", "");
  if (j.contains("target")) j.at("target").get_to(v.target);
  if (j.contains("addresses")) j.at("addresses").get_to(v.addresses);
}

}  // namespace kuzet::measure
