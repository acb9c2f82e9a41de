#pragma once
// The failure vocabulary. A failed step records one of these strings; success is "".
// Keep this list small and documented in docs/failures.md: the verdict methods are built from it.
#include <string_view>

namespace kuzet::core::failure {

// DNS
inline constexpr std::string_view dns_nxdomain = "dns.nxdomain";    // rcode NXDOMAIN
inline constexpr std::string_view dns_servfail = "dns.servfail";    // rcode SERVFAIL
inline constexpr std::string_view dns_refused = "dns.refused";      // rcode REFUSED
inline constexpr std::string_view dns_no_answer = "dns.no_answer";  // NOERROR but no address records
inline constexpr std::string_view dns_timeout = "dns.timeout";      // no reply in time
inline constexpr std::string_view dns_error = "dns.error";          // anything else (bad reply, local error)

// TCP connect
inline constexpr std::string_view tcp_timeout = "tcp.timeout";          // no SYN-ACK in time
inline constexpr std::string_view tcp_reset = "tcp.reset";              // RST after the connection existed
inline constexpr std::string_view tcp_refused = "tcp.refused";          // RST in answer to the SYN
inline constexpr std::string_view tcp_unreachable = "tcp.unreachable";  // ICMP net/host unreachable, no route
inline constexpr std::string_view tcp_error = "tcp.error";

// TLS handshake
inline constexpr std::string_view tls_timeout = "tls.timeout";  // handshake did not finish in time
inline constexpr std::string_view tls_reset = "tls.reset";      // RST during the handshake
inline constexpr std::string_view tls_eof = "tls.eof";          // peer closed (FIN) during the handshake
inline constexpr std::string_view tls_alert = "tls.alert";      // peer sent a fatal alert
inline constexpr std::string_view tls_error = "tls.error";      // protocol garbage, local error

// TLS certificate verification (the handshake itself succeeded)
inline constexpr std::string_view tls_unknown_authority = "tls.unknown_authority";
inline constexpr std::string_view tls_hostname_mismatch = "tls.hostname_mismatch";
inline constexpr std::string_view tls_expired = "tls.expired";  // also not-yet-valid
inline constexpr std::string_view tls_invalid_certificate = "tls.invalid_certificate";

// HTTP exchange (after TCP/TLS succeeded)
inline constexpr std::string_view http_timeout = "http.timeout";
inline constexpr std::string_view http_reset = "http.reset";
inline constexpr std::string_view http_eof = "http.eof";  // connection closed before a complete response
inline constexpr std::string_view http_too_many_redirects = "http.too_many_redirects";
inline constexpr std::string_view http_redirect_loop = "http.redirect_loop";
inline constexpr std::string_view http_error = "http.error";  // malformed response, local error

// The collector's control measurement (ControlObservations.failure), set by the collector itself
inline constexpr std::string_view control_deadline = "control.deadline";  // not measured before the deadline
inline constexpr std::string_view control_private_address = "control.private_address";  // resolved to a bogon

}  // namespace kuzet::core::failure
