#include "measure/target.hpp"

#include <algorithm>

#include "core/vocabulary/failure.hpp"
#include "core/time.hpp"
#include "measure/tcp.hpp"
#include "measure/http/url.hpp"

namespace kuzet::measure {

namespace {
// HTTP verifies against the same store as the TLS step, loaded once per run.
http::HttpOptions http_options(const MeasureOptions& options) {
  http::HttpOptions http = options.http;
  if (!http.trust) http.trust = options.tls.trust;
  return http;
}
}  // namespace

TargetObservations begin_target(const std::string& url, const MeasureOptions& options,
                                std::unique_ptr<dns::DnsHoldOn>* hold) {
  core::Stopwatch sw;
  TargetObservations obs;
  obs.url = url;
  auto parsed = http::parse_url(url);
  if (!parsed) {
    // Specs are validated before a run; this only guards direct callers.
    obs.dns.failure = core::failure::dns_error;
    return obs;
  }
  obs.scheme = parsed->scheme;
  obs.host = parsed->unicode_host;  // records show the name as people write it; the wire gets parsed->host
  obs.port = parsed->port;
  obs.dns = hold ? dns::resolve_first(parsed->host, options.dns, hold) : dns::resolve(parsed->host, options.dns);
  obs.duration_ms = sw.elapsed_ms();
  return obs;
}

void finish_target(TargetObservations& obs, const MeasureOptions& options) {
  core::Stopwatch sw;
  const auto& addresses = obs.dns.addresses;
  const auto url = http::parse_url(obs.url);
  if (addresses.empty() || !url) return;

  const bool https = obs.scheme == "https";
  std::string http_address;  // the first address whose connection (and handshake) worked
  const size_t n = std::min(addresses.size(), options.max_addresses);
  for (size_t i = 0; i < n; ++i) {
    Socket sock;
    auto tcp = tcp_connect(addresses[i], obs.port, options.tcp_timeout_ms, &sock);
    const bool connected = tcp.failure.empty();
    obs.tcp.push_back(std::move(tcp));
    if (!connected) continue;
    if (!https) {
      if (http_address.empty()) http_address = addresses[i];
      continue;
    }
    auto tls = tls_handshake(sock.fd(), addresses[i], obs.port, url->host, url->host, options.tls);
    if (tls.failure.empty() && http_address.empty()) http_address = addresses[i];
    obs.tls.push_back(std::move(tls));
  }

  // HTTP only where a connection (and handshake) worked: otherwise the lower layer already says why.
  if (!http_address.empty()) {
    // A hop uses its name's first address only, so Hold-On there would wait for replies no one reads.
    http::HostResolver resolver = [&options](const std::string& host) {
      dns::DnsOptions hop = options.dns;
      hop.hold_on_ms = 0;
      return dns::resolve(host, hop);
    };
    obs.http = http::http_get(obs.url, http_address, http_options(options), resolver);
  }
  obs.duration_ms += sw.elapsed_ms();
}

bool first_replies_proven(const TargetObservations& obs) {
  if (obs.scheme != "https") return false;  // plain HTTP proves nothing about who answered
  for (const TlsHandshake& h : obs.tls) {
    const bool first_reply_address =
        std::find(obs.dns.addresses.begin(), obs.dns.addresses.end(), h.address) != obs.dns.addresses.end();
    if (first_reply_address && !h.sni.empty() && publicly_verified(h)) return true;
  }
  return false;
}

TargetObservations measure_target(const std::string& url, const MeasureOptions& options) {
  auto obs = begin_target(url, options);
  finish_target(obs, options);
  return obs;
}

namespace {
// The object whose throughput was measured, fetched again from the same address with the given SNI mode.
HttpObservation refetch(const TargetObservations& target, const MeasureOptions& options, http::SniMode sni_mode) {
  http::HttpOptions http = http_options(options);
  http.verify_peer = false;
  http.sni_mode = sni_mode;
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
  return http::http_get(url, address, http, [](const std::string& host) {
    DnsObservation none;
    none.hostname = host;
    none.failure = core::failure::dns_error;
    return none;
  });
}
}  // namespace

HttpObservation measure_neutral_sni(const TargetObservations& target, const MeasureOptions& options) {
  return refetch(target, options, http::SniMode::none);
}

HttpObservation measure_repeat_sni(const TargetObservations& target, const MeasureOptions& options) {
  return refetch(target, options, http::SniMode::normal);
}

}  // namespace kuzet::measure
