#pragma once
// Typed observations produced by the measurement steps. These structs are the contract between the I/O
// (dns, tcp, tls, http) and the judgement (analysis/): verdicts are pure functions of them.
// JSON mapping lives in observations_json.cpp; field names are documented in docs/measurement-schema.md.
// A "failure" field holds a string of core/vocabulary/failure.hpp, "" on success.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "packets/findings.hpp"

namespace kuzet::measure {

struct DnsAnswer {
  std::string type;   // "A", "AAAA", "CNAME"
  std::string value;  // address or name
  uint32_t ttl = 0;
};

struct DnsQuery {
  std::string query_type;  // "A" or "AAAA"
  std::string rcode;       // "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", ...; "" when no reply arrived
  std::vector<DnsAnswer> answers;
  std::string failure;
  double duration_ms = 0;
};

struct DnsObservation {
  std::string hostname;
  std::string resolver;                // "ip:port" or "system"
  // The first reply of each query type (A, then AAAA), then later replies that differ from it ("Hold-On":
  // an on-path injector races the real answer, so one query can get two different replies).
  std::vector<DnsQuery> queries;
  std::vector<std::string> addresses;  // from the first replies: A then AAAA, deduplicated, in answer order
  std::string failure;                 // overall: "" when at least one address was resolved
  double duration_ms = 0;
};

struct TcpConnect {
  std::string address;
  uint16_t port = 0;
  std::string failure;
  double duration_ms = 0;
};

struct CertificateInfo {
  std::string sha256;       // of the DER certificate, lower-case hex
  std::string spki_sha256;  // base64 of SHA-256 of the SubjectPublicKeyInfo (HPKP style)
  std::string subject;      // RFC 2253 one-line form
  std::string issuer;
  std::string serial;  // hex
  std::string not_before;  // RFC 3339
  std::string not_after;
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries
  std::string key_type;                // "RSA", "EC", "ED25519", ...
  int key_bits = 0;
  bool self_signed = false;
};

struct TlsHandshake {
  std::string address;
  uint16_t port = 0;
  std::string sni;       // "" when no SNI was sent
  std::string failure;   // handshake failure: tls.reset, tls.timeout, tls.eof, tls.alert, tls.error
  std::string alert;     // alert description when failure == tls.alert
  std::string version;   // "TLSv1.3"
  std::string cipher;
  std::string alpn;
  std::vector<CertificateInfo> chain;  // as presented by the peer, leaf first
  // Verification against the trust store, done after a successful handshake (we always complete the
  // handshake so the chain is recorded even when it would not verify).
  std::string verify_failure;  // tls.unknown_authority, tls.hostname_mismatch, tls.expired, ... ; "" = verified
  std::string verify_error;    // OpenSSL's text, for humans
  // The same chain verified against a pristine public bundle (the Mozilla set as shipped), apart from the
  // locally configured store: a root the user installed makes a forged chain verify locally but not here.
  std::string public_trust;           // the public bundle used; "" = not checked
  std::string public_verify_failure;  // as verify_failure; "" = accepted by the public web PKI (when checked)
  double duration_ms = 0;
};

// A completed handshake whose chain verified for the host, and not only because of a root this machine
// added: the public bundle accepted it too, or none was configured to tell (docs/verdicts.md).
inline bool publicly_verified(const TlsHandshake& h) {
  return h.failure.empty() && h.verify_failure.empty() && (h.public_trust.empty() || h.public_verify_failure.empty());
}

struct ThroughputSample {
  double t_ms = 0;     // since the request started
  uint64_t bytes = 0;  // cumulative body bytes received
};

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {  // one hop of a redirect chain
  std::string url;
  std::string address;  // the address the request was sent to (we resolve, not libcurl)
  std::string failure;
  int status = 0;  // 0 when no response
  std::vector<HttpHeader> headers;
  std::string location;  // absolute redirect target, if any
  std::string title;     // <title> text, trimmed
  uint64_t body_length = 0;  // bytes received (capped)
  bool body_truncated = false;
  std::string body_sha256;
  std::string body_prefix;  // first bytes of the body (UTF-8 sanitised), for blockpage fingerprints
  double connect_ms = 0, tls_ms = 0, first_byte_ms = 0, total_ms = 0;
  std::vector<ThroughputSample> samples;
};

struct HttpObservation {
  std::string url;
  std::string sni;  // SNI used for HTTPS ("" = none); differs from the host for neutral-SNI checks
  std::vector<HttpRequest> requests;  // the redirect chain, first request first
  std::string failure;                // failure of the last request or of the chain (loop, too many)
  std::string final_url;
  double duration_ms = 0;
  // Download rate of the last response body after its first byte, bits per second; 0 when unknown.
  double throughput_bps = 0;
};

// Everything measured for one target URL.
struct TargetObservations {
  std::string url;
  std::string scheme;  // "http" or "https"
  std::string host;
  uint16_t port = 0;
  DnsObservation dns;
  std::vector<TcpConnect> tcp;
  std::vector<TlsHandshake> tls;      // for https: one per reachable address tried
  std::optional<HttpObservation> http;  // the GET on the first address that connected
  // Throttling confirmation: the same object fetched from the same address with a neutral SNI, then once
  // more with the site's SNI (a slowdown that follows the name persists; congestion that passed does not).
  std::optional<HttpObservation> neutral_sni_http;
  std::optional<HttpObservation> repeat_sni_http;
  double duration_ms = 0;
  // Packet capture (opt-in, docs/packet-evidence.md): whether this target's packets were recorded, what
  // they show (empty: nothing of interference), and, when there is a finding, the packets themselves as a
  // small pcap file (base64, the probe's own addresses replaced), for an expert's Wireshark.
  bool captured = false;
  std::vector<packets::PacketFinding> packet_evidence;
  std::string packet_pcap;
};

// Network location of an address, as the collector knows it (IP -> ASN database).
struct AddressInfo {
  std::string address;
  uint32_t asn = 0;  // 0 = unknown
  std::string as_name;
  std::string cc;
  bool bogon = false;  // private, loopback, link-local, reserved: never a real public answer
};

// What the control (the collector's uncensored vantage point) saw for a target.
struct ControlObservations {
  std::string vantage;  // e.g. "collector"
  std::string failure;  // "" when the control measured; "control.unavailable" etc. otherwise
  TargetObservations target;
  std::vector<AddressInfo> addresses;  // ASN info for the control's and the probe's DNS answers
};

}  // namespace kuzet::measure
