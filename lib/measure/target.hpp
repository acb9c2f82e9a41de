#pragma once
#include <memory>
#include <string>

#include "measure/dns/dns.hpp"
#include "measure/http/http.hpp"
#include "measure/observations.hpp"
#include "measure/tls.hpp"

namespace kuzet::measure {

struct MeasureOptions {
  dns::DnsOptions dns;
  int tcp_timeout_ms = 10000;
  TlsOptions tls;
  http::HttpOptions http;
  size_t max_addresses = 4;  // TCP/TLS are tried on at most this many resolved addresses
};

// DNS -> TCP (each address) -> TLS (each connected address, https) -> HTTP GET on the first address that
// worked. Blocking; call from a worker thread. Equivalent to begin_target + finish_target.
TargetObservations measure_target(const std::string& url, const MeasureOptions& options);

// The two halves, so a runner can ask for control with the target's addresses while it connects.
// begin_target parses the URL and resolves; finish_target does TCP, TLS and HTTP. With `hold`, the DNS step
// returns with its first replies and hands back its open Hold-On windows (dns/dns.hpp, dns::resolve_first): the
// caller must finish them into obs.dns before judging; without it, begin_target waits them out.
TargetObservations begin_target(const std::string& url, const MeasureOptions& options,
                                std::unique_ptr<dns::DnsHoldOn>* hold = nullptr);
void finish_target(TargetObservations& target, const MeasureOptions& options);

// Whether the DNS step's first replies led to the site itself: a handshake at one of their addresses verified
// publicly for the host. Then a later different reply to those queries could only be a forgery that lost
// the race, and the Hold-On windows may close early (dns::DnsHoldOn::finish).
bool first_replies_proven(const TargetObservations& target);

// Fetches the same URL from the same address again with no SNI (throttling confirmation).
HttpObservation measure_neutral_sni(const TargetObservations& target, const MeasureOptions& options);
// Fetches it once more with the site's SNI, after the neutral fetch: a policer keyed on the name slows it
// again, congestion that hit the first fetch has usually passed (docs/verdicts.md, throughput).
HttpObservation measure_repeat_sni(const TargetObservations& target, const MeasureOptions& options);

}  // namespace kuzet::measure
