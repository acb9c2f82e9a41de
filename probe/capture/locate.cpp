#include "probe/capture/locate.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include "core/vocabulary/failure.hpp"
#include "measure/tcp.hpp"
#include "measure/tls.hpp"
#include "packets/findings.hpp"

namespace kuzet::probe::capture {
namespace {

// The ClientHello sent with IP TTL `ttl` after a normal handshake: tls.reset, tls.timeout, "" (answered), ...
std::string hello_with_ttl(const measure::TlsHandshake& original, int ttl, const measure::MeasureOptions& options,
                           int timeout_ms) {
  measure::Socket sock;
  const auto tcp = measure::tcp_connect(original.address, original.port, options.tcp_timeout_ms, &sock);
  if (!tcp.failure.empty() || !sock) return tcp.failure.empty() ? std::string(core::failure::tcp_error) : tcp.failure;
  const bool v6 = original.address.find(':') != std::string::npos;
  if (setsockopt(sock.fd(), v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_UNICAST_HOPS : IP_TTL, &ttl, sizeof ttl) != 0)
    return std::string(core::failure::tcp_error);
  measure::TlsOptions tls = options.tls;
  tls.timeout_ms = timeout_ms;
  return measure::tls_handshake(sock.fd(), original.address, original.port, original.sni, original.sni, tls).failure;
}

}  // namespace

void locate_injectors(std::vector<MeasurementRecord>& records, const measure::MeasureOptions& options,
                      const LocateLimits& limits) {
  size_t located = 0;
  for (auto& rec : records) {
    auto& o = rec.observations;
    if (located >= limits.max_targets) return;
    bool injected = false;
    for (const auto& f : o.packet_evidence) injected = injected || f.kind == packets::kind::rst_injection;
    const measure::TlsHandshake* reset = nullptr;
    for (const auto& h : o.tls)
      if (h.failure == core::failure::tls_reset && !reset) reset = &h;
    if (!injected || !reset) continue;
    ++located;
    std::vector<std::string> outcomes;
    int hop = 0;
    for (int ttl = 1; ttl <= limits.max_ttl && hop == 0; ++ttl) {
      outcomes.push_back(hello_with_ttl(*reset, ttl, options, limits.timeout_ms));
      hop = packets::locate_hop(outcomes, std::string(core::failure::tls_reset));
      if (hop == 0 && outcomes.back().empty()) break;  // reached the server: nothing in between answered
    }
    if (hop == 0) continue;
    packets::PacketFinding f;
    f.kind = packets::kind::hop;
    f.peer = reset->address + ":" + std::to_string(reset->port);
    if (reset->address.find(':') != std::string::npos) f.peer = "[" + reset->address + "]:" + std::to_string(reset->port);
    f.trigger = "tls_client_hello";
    f.failure = std::string(core::failure::tls_reset);
    f.hop = hop;
    f.max_ttl = static_cast<int>(outcomes.size());
    o.packet_evidence.push_back(std::move(f));
  }
}

}  // namespace kuzet::probe::capture
