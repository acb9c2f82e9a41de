#pragma once
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "measure/observations.hpp"
#include "measure/tls.hpp"

namespace kuzet::measure::http {

enum class SniMode {
  normal,  // SNI = the URL's host
  none,    // no SNI at all (request sent to the IP literal, Host header kept)
};

struct HttpOptions {
  int timeout_ms = 10000;          // whole exchange per request (connect + TLS + transfer)
  size_t body_cap = 512 * 1024;    // bytes kept and hashed; the transfer stops there
  int max_redirects = 10;
  std::string ca_bundle;           // "" = system default; ignored when `trust` is set
  std::shared_ptr<const TrustStore> trust;  // the run's shared store (measure_target sets it from tls.trust)
  bool verify_peer = true;         // false for neutral-SNI throughput checks
  SniMode sni_mode = SniMode::normal;
  std::string user_agent = "Mozilla/5.0 (X11; Linux x86_64) kuzet-probe/0.1";
  size_t max_samples = 64;         // throughput samples kept per request
  size_t body_prefix_bytes = 2048;
};

// Resolves a host met in a redirect (libcurl never resolves by itself). A hop whose host does not resolve
// records the DNS failure as its own failure.
using HostResolver = std::function<DnsObservation(const std::string& host)>;

// GET url on `address` with libcurl, following redirects by hand so that every hop is recorded and every
// new host goes through `resolve_host`. Network failures are data.
// Hop timings are libcurl's, cumulative from the start of that request: connect_ms = TCP connected,
// tls_ms = TLS handshake done (0 for plain HTTP), first_byte_ms = first response byte, total_ms = end.
// A body stopped at body_cap is marked body_truncated and is not a failure.
HttpObservation http_get(const std::string& url, const std::string& address, const HttpOptions& options,
                         const HostResolver& resolve_host);

// Pure helpers, exposed for tests and fuzzing.
// The <title> text: entities decoded, white space collapsed, valid UTF-8, at most 256 code points.
std::string extract_title(const std::string& body);
// Replaces each byte that is not part of a valid UTF-8 sequence with U+FFFD (JSON needs valid UTF-8).
std::string sanitize_utf8(std::string_view text);
// Adds one response header line as libcurl hands it over (status lines included) to `headers`: only the final
// response's headers, at most 100 of them and ~64 KiB, trimmed, valid UTF-8; `header_bytes` counts what is kept.
void add_header_line(std::string_view line, bool body_started, std::vector<HttpHeader>& headers,
                     size_t& header_bytes);
// Where a 3xx response sends us: its last Location header resolved against `url` ("" when none is usable).
std::string redirect_location(const std::string& url, const std::vector<HttpHeader>& headers);

}  // namespace kuzet::measure::http
