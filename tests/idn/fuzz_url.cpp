// Fuzzes URL parsing (measure::http::parse_url, resolve_redirect) and host conversion (idn::convert_host) with
// hostile text, and checks their promises: a parsed host is non-empty; a name's wire form is ASCII, within
// DNS limits, and parses back to itself; the first byte of input splits
// the rest into a base URL and a redirect location.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "idn/idn.hpp"
#include "measure/http/url.hpp"

namespace {
bool is_ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  using namespace kuzet;

  if (auto name = idn::convert_host(text)) {
    if (!is_ascii(name->ascii) || name->ascii.empty()) std::abort();
    if (name->ascii.size() > idn::kMaxNameBytes + 1) std::abort();
    auto again = idn::convert_host(name->ascii);
    if (!again || again->ascii != name->ascii) std::abort();
  }

  if (auto url = measure::http::parse_url(text)) {
    if (url->host.empty() || url->port == 0 || url->path.empty() || url->path.front() != '/') std::abort();
    if (url->scheme != "http" && url->scheme != "https") std::abort();
    if (!measure::http::is_ip_literal(url->host)) {
      if (!is_ascii(url->host)) std::abort();
      auto wire = measure::http::parse_url(url->wire_url);
      if (!wire || wire->host != url->host || wire->port != url->port) std::abort();
    }
  }

  if (size == 0) return 0;
  const size_t split = 1 + data[0] % size;  // after the first byte: the base, then the location
  const std::string base = text.substr(1, split - 1), location = text.substr(split);
  if (auto resolved = measure::http::resolve_redirect(base, location))
    if (!measure::http::parse_url(*resolved)) std::abort();
  return 0;
}
