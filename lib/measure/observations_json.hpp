#pragma once
// JSON at the edges: nlohmann to_json/from_json for every observation struct.
#include <nlohmann/json_fwd.hpp>

#include "measure/observations.hpp"

namespace kuzet::measure {

#define KUZET_JSON_DECL(T)                    \
  void to_json(nlohmann::json& j, const T& v); \
  void from_json(const nlohmann::json& j, T& v);

KUZET_JSON_DECL(DnsAnswer)
KUZET_JSON_DECL(DnsQuery)
KUZET_JSON_DECL(DnsObservation)
KUZET_JSON_DECL(TcpConnect)
KUZET_JSON_DECL(CertificateInfo)
KUZET_JSON_DECL(TlsHandshake)
KUZET_JSON_DECL(ThroughputSample)
KUZET_JSON_DECL(HttpHeader)
KUZET_JSON_DECL(HttpRequest)
KUZET_JSON_DECL(HttpObservation)
KUZET_JSON_DECL(TargetObservations)
KUZET_JSON_DECL(AddressInfo)
KUZET_JSON_DECL(ControlObservations)

#undef KUZET_JSON_DECL

}  // namespace kuzet::measure
