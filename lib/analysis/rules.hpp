#pragma once
// Pure helpers behind the verdicts (docs/verdicts.md), exposed for unit tests. No I/O.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "measure/observations.hpp"
#include "spec/spec.hpp"

namespace kuzet::analysis {

// A response that timed out counts as "still flowing" (slow, not cut) once this much of its body arrived.
inline constexpr uint64_t kMinThroughputBytes = 64 * 1024;
// Bodies smaller than this cannot show a rate: they fit in the first flight of a connection (initial window
// of 10 segments, RFC 6928: ~14.6 KB), which arrives in one round trip whatever the policer's rate. Above it
// a policed flow shows its rate, so pages of tens of KiB can be judged.
inline constexpr uint64_t kMinRateBytes = 16 * 1024;
// A slow rate is only believed when the body took at least this long to arrive. A policer holds a flow at a
// fixed rate for the whole transfer (130-150 kbit/s in Russia 2021: 64 KiB take ~3.5 s); a transfer over in
// milliseconds measures a stall or scheduling jitter, not a rate, and must not make a fast site "throttled".
inline constexpr double kMinSlowTransferMs = 500;
// "Extreme" throttling (OONI dd-007): at least this many times slower than the baseline and the control.
inline constexpr double kThrottleFactor = 10.0;
// The neutral-SNI fetch must be at least this many times faster than the target fetch to confirm.
inline constexpr double kNeutralSpeedup = 5.0;
// http-diff (OONI Web Connectivity): a body shorter than this fraction of the control's is suspicious ...
inline constexpr double kBodyLengthRatio = 0.7;
// ... but only when the control's body is large enough for lengths to mean something.
inline constexpr uint64_t kMinControlBodyForDiff = 2048;

// Private, loopback, link-local, shared (CGNAT), documentation, benchmarking, multicast and reserved
// ranges, IPv4 and IPv6 (IPv4-mapped IPv6 is judged by its IPv4 part). NAT64 (64:ff9b::/96) is not a
// bogon: DNS64 networks synthesise such answers legitimately. Unparsable text is not a bogon (not an address).
bool is_bogon_address(std::string_view address);

// Median of the values; nullopt when empty.
std::optional<double> median(std::vector<double> values);

// Rate of the last response body: the step's throughput_bps, else computed from its samples; 0 when unknown.
// How long the final response's body took to arrive: first to last sample, or, without samples, its length
// over the recorded rate. In ms; 0 when unknown.
double body_transfer_ms(const measure::HttpObservation& http);
double effective_throughput_bps(const measure::HttpObservation& http);
// Rate of a confirmation fetch's body: effective_throughput_bps, else (a body that arrived in one write, as a
// small object does on a fast path) its length over the time from first byte to the end, at least 1 ms.
// 0 when no body of at least kMinRateBytes arrived.
double confirmation_rate_bps(const measure::HttpObservation& http);

// Closed method vocabulary: a raw failure string of core/vocabulary/failure.hpp -> the method of its layer.
// DNS: nxdomain/no_answer/refused -> dns.nxdomain (a negative answer); timeout/servfail/error -> dns.timeout.
std::string dns_method(std::string_view failure);
// TCP: timeout/unreachable/error -> tcp.timeout; reset -> tcp.reset; refused -> tcp.refused.
std::string tcp_method(std::string_view failure);
// TLS handshake: reset/alert/error -> tls.reset; timeout -> tls.timeout; eof -> tls.eof.
std::string tls_method(std::string_view failure);
// A failure during the HTTP exchange with the target's own host (TCP/TLS already worked once):
// *.timeout/tcp.unreachable -> http.timeout; *.reset/tcp.refused/tls.alert/tls.error -> http.reset;
// *.eof/http.error -> http.eof. "" for failures that are no layer's (redirect loops, verification).
std::string http_method(std::string_view failure);
// Any failure by its own layer prefix (dns./tcp./tls./http.), "" when unmappable.
std::string method_for_failure(std::string_view failure);

// Lower-cased host of an absolute URL, "" when there is none.
std::string url_host(std::string_view url);
// Host without a leading "www.", lower-cased: "www.Example.com" and "example.com" are the same site.
std::string site_of_host(std::string_view host);

// A fingerprint's content part (body/title/header) matches a response; address-only fingerprints never do
// here (they are checked against DNS answers). Case-insensitive substrings; every set field must match.
bool fingerprint_matches(const spec::BlockpageFingerprint& fingerprint, const measure::HttpRequest& response);

// Did the peer chain include a known interception root (by certificate SHA-256 or SPKI SHA-256)?
// Returns the root's name, "" when none.
std::string known_root_in_chain(const std::vector<measure::CertificateInfo>& chain,
                                const std::vector<spec::InterceptionRoot>& roots);

// Did a presented certificate name a known interception root as its issuer (or subject)? Middleboxes send
// leaf + intermediate without the root, so a root installed by the user leaves no fingerprint to match; its
// name still stands in the intermediate's issuer. The spec's root name counts without a trailing
// parenthesised note ("Qaznet Trust Network (2019)" -> CN "Qaznet Trust Network"), case-insensitive.
// Returns the root's name, "" when none.
std::string known_root_named_in_chain(const std::vector<measure::CertificateInfo>& chain,
                                      const std::vector<spec::InterceptionRoot>& roots);

// The CN of an RFC 2253 one-line name ("C=KZ, CN=Security Certificate" -> "Security Certificate").
std::string common_name(std::string_view distinguished_name);

// The last response of a redirect chain (a request with a status), nullptr when none arrived.
const measure::HttpRequest* final_response(const measure::HttpObservation& http);

}  // namespace kuzet::analysis
