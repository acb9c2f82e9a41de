#pragma once
#include <memory>
#include <string>

#include "measure/observations.hpp"

namespace kuzet::measure::dns {

struct DnsOptions {
  std::string resolver;  // "" = the system's resolv.conf; else "IP", "IP:PORT" or "[IPv6]:PORT"
  int timeout_ms = 4000;
  bool query_aaaa = true;
  // "Hold-On": after the first UDP reply to a query, keep listening this long (never past timeout_ms) for
  // further replies with the same ID and question from the same server. An on-path injector races the
  // real answer, so a different late reply is recorded as an extra DnsQuery of the same query_type.
  // 0 disables. A resolve() that gets replies takes up to this much longer.
  int hold_on_ms = 400;
  // When the caller has proven the first replies genuine (DnsHoldOn::finish with first_replies_proven: a
  // handshake at one of their addresses verified publicly for the host), each window closes this long after
  // its first reply instead. An injector's forgery must arrive first to be used; one that lost the race by
  // more than this kept nobody from the site. A fast target then waits this long, not hold_on_ms.
  int hold_on_after_proof_ms = 50;
};

// Resolves A (and AAAA) for hostname with c-ares. Never throws for network failures: they are data.
// An IP literal resolves to itself without a query.
// queries: the first reply (or failure) of each query type, A then AAAA; then each later reply that
// differs from those already recorded for its type (see hold_on_ms): A's, then AAAA's, each in arrival
// order. addresses and the overall failure come from the first replies only: what an ordinary resolver
// would have used, so the probe connects to those.
DnsObservation resolve(const std::string& hostname, const DnsOptions& options);

// The hold windows of a resolve_first() that returned before they closed: the sockets stay open (the kernel
// keeps what arrives, with its arrival time) until finish() reads them.
class DnsHoldOn {
 public:
  struct State;
  explicit DnsHoldOn(std::unique_ptr<State> state);
  ~DnsHoldOn();
  DnsHoldOn(const DnsHoldOn&) = delete;
  DnsHoldOn& operator=(const DnsHoldOn&) = delete;
  // Waits until every hold window has closed (returns at once when they already have), then appends to
  // obs.queries the late replies that arrived within their windows, exactly as resolve() records them.
  // Call once, with the observation resolve_first() returned, before anything judges it. With
  // first_replies_proven the windows are hold_on_after_proof_ms long (measure::first_replies_proven).
  void finish(DnsObservation& obs, bool first_replies_proven = false);

 private:
  std::unique_ptr<State> state_;
};

// resolve() without waiting out Hold-On: returns as soon as every query has its first reply (or failed), so
// the caller can connect to those addresses at once; the open hold windows come back in *hold (null when
// there are none). resolve() is resolve_first() followed by finish().
DnsObservation resolve_first(const std::string& hostname, const DnsOptions& options,
                             std::unique_ptr<DnsHoldOn>* hold);

// Validates "IP", "IP:PORT", "[IPv6]:PORT"; used by the CLI to reject bad --resolver values early.
bool is_valid_resolver(const std::string& resolver);

}  // namespace kuzet::measure::dns
