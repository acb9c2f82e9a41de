#include "idn/idn.hpp"

#include <idn2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "ascii/ascii.hpp"

namespace kuzet::idn {

namespace {

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};
using IdnString = std::unique_ptr<char, FreeDeleter>;

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_ldh(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// What an ASCII label kept as written may hold: letters, digits, hyphens, and underscores (names like
// "_dmarc.example" or "a_b.example" resolve although IDNA refuses them). Nothing else can be sent as a
// host: not '/', ':', '#', '@', spaces or control bytes, which would change the meaning of a URL or a
// Host header.
bool is_host_label(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

// UTS #46 separates labels at '.' and at the three dots that map to it: U+3002, U+FF0E, U+FF61.
std::vector<std::string_view> split_labels(std::string_view host) {
  static constexpr std::string_view kDots[] = {"\xE3\x80\x82", "\xEF\xBC\x8E", "\xEF\xBD\xA1"};
  std::vector<std::string_view> labels;
  size_t start = 0, i = 0;
  while (i < host.size()) {
    size_t dot_len = host[i] == '.' ? 1 : 0;
    for (auto d : kDots)
      if (dot_len == 0 && host.substr(i, d.size()) == d) dot_len = d.size();
    if (dot_len == 0) {
      ++i;
      continue;
    }
    labels.push_back(host.substr(start, i - start));
    i += dot_len;
    start = i;
  }
  labels.push_back(host.substr(start));
  return labels;
}

}  // namespace

std::optional<HostName> convert_host(std::string_view host, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<HostName> {
    if (error) *error = why;
    return std::nullopt;
  };
  if (host.empty()) return fail("empty host name");
  if (host.size() > kMaxInputBytes) return fail("host name longer than " + std::to_string(kMaxInputBytes) + " bytes");
  if (host.find('\0') != std::string_view::npos) return fail("host name contains a NUL byte");

  const auto labels = split_labels(host);
  HostName out;
  for (size_t i = 0; i < labels.size(); ++i) {
    const std::string_view label = labels[i];
    if (i > 0) {
      out.ascii += '.';
      out.unicode += '.';
    }
    if (label.empty()) {
      if (i + 1 == labels.size() && i > 0) continue;  // the trailing dot of a fully qualified name
      return fail("empty label in host name '" + std::string(host) + "'");
    }
    std::string wire, unicode;
    if (is_ascii(label)) {
      wire = ascii::lower(label);
      unicode = wire;
      if (!is_host_label(wire))
        return fail("label '" + wire + "' holds characters a host name cannot (letters, digits, '-' and '_' only)");
      if (wire.rfind("xn--", 0) == 0) {
        char* decoded = nullptr;
        const int rc = idn2_to_unicode_8z8z(wire.c_str(), &decoded, 0);
        IdnString hold(decoded);
        if (rc != IDN2_OK || decoded == nullptr)
          return fail("label '" + wire + "' is not valid punycode (" + idn2_strerror(rc) + ")");
        unicode = decoded;
      }
    } else {
      char* encoded = nullptr;
      const int rc = idn2_to_ascii_8z(std::string(label).c_str(), &encoded,
                                      IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL | IDN2_USE_STD3_ASCII_RULES);
      IdnString hold(encoded);
      if (rc == IDN2_PUNYCODE_BIG_OUTPUT || rc == IDN2_TOO_BIG_LABEL)
        return fail("label '" + std::string(label) + "' is longer than 63 bytes on the wire");
      if (rc != IDN2_OK || encoded == nullptr)
        return fail("'" + std::string(host) + "' is not a valid internationalised domain name: label '" +
                    std::string(label) + "': " + idn2_strerror(rc));
      wire = ascii::lower(encoded);
      // STD3 rules leave letters, digits and hyphens; a label that maps to several (U+2488 -> "1.") is refused.
      if (!is_ldh(wire))
        return fail("'" + std::string(host) + "' is not a valid internationalised domain name: label '" +
                    std::string(label) + "' maps to '" + wire + "'");
      char* decoded = nullptr;
      const int back = idn2_to_unicode_8z8z(wire.c_str(), &decoded, 0);
      IdnString hold_decoded(decoded);
      unicode = back == IDN2_OK && decoded != nullptr ? std::string(decoded) : std::string(label);
    }
    if (wire.empty())  // a label of characters UTS #46 ignores (U+FE0E, U+200B, ...) maps to nothing
      return fail("label '" + std::string(label) + "' maps to an empty label");
    if (wire.size() > kMaxLabelBytes)
      return fail("label '" + std::string(label) + "' is longer than 63 bytes on the wire");
    out.ascii += wire;
    out.unicode += unicode;
  }
  const size_t name_bytes = out.ascii.size() - (out.ascii.back() == '.' ? 1 : 0);
  if (name_bytes > kMaxNameBytes)
    return fail("host name is longer than 253 bytes on the wire");
  return out;
}

}  // namespace kuzet::idn
