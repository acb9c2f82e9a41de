#pragma once
// The method vocabulary: how a target was blocked (the first layer that fails), or "" for ok/offline/inconclusive.
// Closed list, documented in docs/verdicts.md. Most methods are failure strings (core/vocabulary/failure.hpp); the rest
// name what the analysis concluded rather than what a step saw.
#include <array>
#include <string_view>

#include "core/vocabulary/failure.hpp"

namespace kuzet::core::method {

inline constexpr std::string_view none = "";

inline constexpr std::string_view dns_nxdomain = failure::dns_nxdomain;
inline constexpr std::string_view dns_timeout = failure::dns_timeout;
inline constexpr std::string_view dns_bogon = "dns.bogon";    // the answer is a private/reserved address
inline constexpr std::string_view dns_hijack = "dns.hijack";  // the answer points the name elsewhere

inline constexpr std::string_view tcp_timeout = failure::tcp_timeout;
inline constexpr std::string_view tcp_reset = failure::tcp_reset;
inline constexpr std::string_view tcp_refused = failure::tcp_refused;

inline constexpr std::string_view tls_reset = failure::tls_reset;
inline constexpr std::string_view tls_timeout = failure::tls_timeout;
inline constexpr std::string_view tls_eof = failure::tls_eof;
inline constexpr std::string_view tls_mitm = "tls.mitm";  // the chain is not the site's: interception

inline constexpr std::string_view http_reset = failure::http_reset;
inline constexpr std::string_view http_timeout = failure::http_timeout;
inline constexpr std::string_view http_eof = failure::http_eof;
inline constexpr std::string_view http_blockpage = "http.blockpage";  // a page that is not the site's

inline constexpr std::string_view throughput = "throughput";  // throttled

// Methods for `blocked` (and `down`, which uses the same list). Failures outside it (tcp.unreachable, tls.alert,
// dns.servfail, ...) are mapped onto it by the analysis; docs/verdicts.md has the table.
inline constexpr std::array<std::string_view, 14> blocking = {
    dns_nxdomain, dns_bogon, dns_hijack, dns_timeout, tcp_timeout, tcp_reset, tcp_refused,
    tls_reset,    tls_timeout, tls_eof,  http_reset, http_timeout, http_eof, http_blockpage};

}  // namespace kuzet::core::method
