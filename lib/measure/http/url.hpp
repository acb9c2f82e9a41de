#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace kuzet::measure::http {

struct Url {
  std::string scheme;        // "http" or "https", lower-case
  std::string host;          // the wire form (DNS, SNI, Host, certificate check): lower-case, IDN labels as
                             // A-labels ("xn--..."); IPv6 literals without brackets
  std::string unicode_host;  // the form people read (records, tables): IDN labels as Unicode; == host otherwise
  uint16_t port = 0;         // explicit or the scheme's default
  std::string path;          // path and query, at least "/"
  std::string wire_url;      // the URL with `host` in place of what was written: what libcurl is given
};

// Parses an absolute http(s) URL with libcurl's URL API; an internationalised host is converted with
// idn::convert_host. nullopt (and *error set) when invalid.
std::optional<Url> parse_url(const std::string& text, std::string* error = nullptr);
// Resolves a Location header against the URL it came from. nullopt when it is not http(s).
std::optional<std::string> resolve_redirect(const std::string& base, const std::string& location);
bool is_ip_literal(const std::string& host);

}  // namespace kuzet::measure::http
