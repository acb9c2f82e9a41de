#pragma once
// Keeps the volunteer's own addresses out of what the probe signs and publishes: a page that echoes the
// visitor's address (in its body, title or headers) would otherwise put it into a public measurement.
// Pure: the addresses are learned elsewhere (own_addresses.hpp: whoami, local interfaces).
#include <string>
#include <string_view>
#include <vector>

#include "probe/record.hpp"

namespace kuzet::probe::privacy {

// What replaces an address (docs/measurement-schema.md).
inline constexpr std::string_view kAddressMarker = "[probe-address]";

// The textual forms an address may take, precomputed once per run. IPv4: dotted ("192.0.2.7"), zero-padded
// ("192.000.002.007") and dashed ("192-0-2-7", as in reverse-DNS names). IPv6, case-insensitive: every
// "::" compression of a run of zero groups, uncompressed, and fully zero-padded. An IPv4-mapped IPv6
// address is also covered by its IPv4 form. A form only matches as a whole token: "192.0.2.7" is not found
// in "192.0.2.71".
class AddressRedactor {
 public:
  AddressRedactor() = default;
  // Strings that are not IP addresses are ignored.
  explicit AddressRedactor(const std::vector<std::string>& addresses);

  bool empty() const { return ipv4_forms_.empty() && ipv6_forms_.empty(); }
  // text with every occurrence of every form replaced by kAddressMarker.
  std::string redact(std::string_view text) const;

 private:
  std::vector<std::string> ipv4_forms_;
  std::vector<std::string> ipv6_forms_;  // lower case, longest first
};

// Replaces the addresses in what a response said: HTTP headers, URLs and redirect locations, titles and
// body prefixes (of the measurement and of the neutral-SNI check), the verdict's explanation (it may
// quote a redirect URL) and its http.* evidence. DNS, TCP and TLS observations name the target's addresses
// and are left alone. When a body prefix changed, its body_sha256 is emptied: the hash of a short page with the
// address in it would let anyone recover the address by trying them all. Returns how many strings changed.
size_t redact_record(MeasurementRecord& record, const AddressRedactor& redactor);

}  // namespace kuzet::probe::privacy
