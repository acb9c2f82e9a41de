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
// ("192.000.002.007"), dashed ("192-0-2-7", as in host names), with URL-encoded dots ("192%2E0%2E2%2E7"),
// as one integer ("3221226247", "0xc0000207") and as a reverse-DNS name ("7.2.0.192.in-addr.arpa").
// IPv6, case-insensitive: every "::" compression of a run of zero groups, uncompressed, fully zero-padded,
// each also with URL-encoded colons ("2001%3Adb8%3A%3A7"), and the ip6.arpa nibble name. An IPv4-mapped
// IPv6 address is also covered by its IPv4 forms. Text forms match only as whole tokens: "192.0.2.7" is
// not found in "192.0.2.71" (a percent escape just before, as in "%20192.0.2.7", is a boundary). Inside
// base64 (cookies, tokens, data: URLs; standard and URL-safe alphabets) the address's text is found at
// any of the three byte alignments by the run of base64 characters that only its bytes determine; the
// blob is then broken, which is the point.
class AddressRedactor {
 public:
  AddressRedactor() = default;
  // Strings that are not IP addresses are ignored.
  explicit AddressRedactor(const std::vector<std::string>& addresses);

  bool empty() const { return forms_.empty(); }
  // text with every occurrence of every form replaced by kAddressMarker.
  std::string redact(std::string_view text) const;

  // Which characters next to a match would make it part of a longer token.
  enum class Boundary { digits, hex_and_colon, alphanumeric, none };
  struct Form {
    std::string text;       // lower case when !case_sensitive
    bool case_sensitive = false;
    Boundary boundary = Boundary::digits;
  };

 private:
  std::vector<Form> forms_;  // longest first
};

// Replaces the addresses in what a response said: HTTP headers, URLs and redirect locations, titles and
// body prefixes (of the measurement and of the neutral-SNI check), the verdict's explanation (it may
// quote a redirect URL) and its http.* evidence. DNS, TCP and TLS observations name the target's addresses
// and are left alone. When a body prefix changed, its body_sha256 is emptied: the hash of a short page with the
// address in it would let anyone recover the address by trying them all. Returns how many strings changed.
size_t redact_record(MeasurementRecord& record, const AddressRedactor& redactor);

}  // namespace kuzet::probe::privacy
