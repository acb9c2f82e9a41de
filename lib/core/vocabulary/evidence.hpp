#pragma once
// Evidence keys that several components read (a measurement's "evidence" list of {key, value}; the full
// list is in docs/verdicts.md). Only keys read outside the analysis that writes them are named here.
#include <array>
#include <string_view>

namespace kuzet::core::evidence {

inline constexpr std::string_view blockpage = "blockpage";            // a known blockpage fingerprint matched
inline constexpr std::string_view tls_known_root = "tls.known_root";  // a known interception root in the chain
inline constexpr std::string_view packets_rst_injection = "packets.rst_injection";  // a forged reset seen
inline constexpr std::string_view packets_dns_injection = "packets.dns_injection";  // a forged DNS reply seen

// Decisive local evidence: what alone shows interference, without a control or a second vantage point,
// like OONI's `confirmed` (docs/threat-model.md). A measurement carrying one of them is "confirmed".
inline constexpr std::array<std::string_view, 4> decisive = {blockpage, tls_known_root, packets_rst_injection,
                                                             packets_dns_injection};

}  // namespace kuzet::core::evidence
