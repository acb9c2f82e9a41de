#pragma once
// Internationalised domain names. A name meets the wire (DNS query, SNI, Host header, certificate name
// check) in its ASCII form, each non-ASCII label as an A-label ("xn--" + punycode); people read the Unicode
// form. Conversion is IDNA 2008 with UTS #46 processing (non-transitional, STD3 rules), by libidn2.
#include <optional>
#include <string>
#include <string_view>

namespace kuzet::idn {

struct HostName {
  std::string ascii;    // the wire form: lower-case, A-labels ("xn--d1acpjx3f.xn--p1ai")
  std::string unicode;  // the form people read: lower-case, U-labels ("яндекс.рф"); == ascii for ASCII names
};

inline constexpr size_t kMaxLabelBytes = 63;   // RFC 1035, of the ASCII form
inline constexpr size_t kMaxNameBytes = 253;   // RFC 1035, of the ASCII form without a trailing dot
inline constexpr size_t kMaxInputBytes = 1024;  // longer input cannot convert to a valid name

// Converts a host name (not an IP literal) given in either form. ASCII labels of letters, digits, '-' and
// '_' are kept as written (only lower-cased): real names such as "r3---sn-abc.example" or "a_b.example" are
// not valid IDNA but do resolve; any other ASCII character is refused. An "xn--" label must decode. nullopt, with *error saying why, for a name that cannot be sent:
// a label IDNA 2008 disallows, bad punycode, an empty or too long label, a too long name.
std::optional<HostName> convert_host(std::string_view host, std::string* error = nullptr);

}  // namespace kuzet::idn
