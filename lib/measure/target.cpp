#include "measure/target.hpp"

#include "core/failure.hpp"
#include "core/time.hpp"
#include "measure/tcp.hpp"
#include "measure/url.hpp"

namespace kuzet::measure {

TargetObservations measure_target(const std::string& url, const MeasureOptions& options) {
  core::Stopwatch sw;
  TargetObservations obs;
  obs.url = url;
  std::string error;
  auto parsed = parse_url(url, &error);
  if (!parsed) {
    // Specs are validated before a run; this only guards direct callers.
    obs.dns.failure = core::failure::dns_error;
    return obs;
  }
  obs.scheme = parsed->scheme;
  obs.host = parsed->host;
  obs.port = parsed->port;

  obs.dns = resolve(parsed->host, options.dns);
  const auto& addresses = obs.dns.addresses;
  if (addresses.empty()) {
    obs.duration_ms = sw.elapsed_ms();
    return obs;
  }

  const bool https = parsed->scheme == "https";
  std::string http_address;  // the first address whose connection (and handshake) worked
  const size_t n = std::min(addresses.size(), options.max_addresses);
  for (size_t i = 0; i < n; ++i) {
    Socket sock;
    auto tcp = tcp_connect(addresses[i], parsed->port, options.tcp_timeout_ms, &sock);
    const bool connected = tcp.failure.empty();
    obs.tcp.push_back(std::move(tcp));
    if (!connected) continue;
    if (!https) {
      if (http_address.empty()) http_address = addresses[i];
      continue;
    }
    auto tls = tls_handshake(sock.fd(), addresses[i], parsed->port, parsed->host, parsed->host, options.tls);
    if (tls.failure.empty() && http_address.empty()) http_address = addresses[i];
    obs.tls.push_back(std::move(tls));
  }

  // HTTP runs on the first address that worked; when none did, on the first address so the HTTP layer's
  // own failure is on record too (it repeats the lower failure, which analysis reads first).
  const bool any_worked = !http_address.empty();
  if (!any_worked) http_address = addresses.front();
  if (any_worked) {
    HostResolver resolver = [&options](const std::string& host) { return resolve(host, options.dns); };
    obs.http = http_get(url, http_address, options.http, resolver);
  }
  obs.duration_ms = sw.elapsed_ms();
  return obs;
}

HttpObservation measure_neutral_sni(const TargetObservations& target, const MeasureOptions& options) {
  HttpOptions http = options.http;
  http.verify_peer = false;
  http.sni_mode = SniMode::none;
  http.max_redirects = 0;
  std::string address;
  std::string url = target.url;
  if (target.http && !target.http->requests.empty()) {
    // The last hop is the object whose throughput was measured.
    address = target.http->requests.back().address;
    url = target.http->requests.back().url;
  } else if (!target.dns.addresses.empty()) {
    address = target.dns.addresses.front();
  }
  if (address.empty()) {
    HttpObservation none;
    none.url = url;
    none.failure = core::failure::http_error;
    return none;
  }
  return http_get(url, address, http, [](const std::string& host) { DnsObservation none; none.hostname = host; none.failure = "dns.error"; return none; });
}

}  // namespace kuzet::measure
