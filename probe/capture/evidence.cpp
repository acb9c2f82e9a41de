#include "probe/capture/evidence.hpp"

#include <utility>

#include "ascii/ascii.hpp"
#include "core/crypto/crypto.hpp"
#include "packets/analyze.hpp"
#include "packets/evidence.hpp"

namespace kuzet::probe::capture {
namespace {

packets::TargetTraffic traffic_of(const measure::TargetObservations& o) {
  packets::TargetTraffic t;
  t.dns_name = ascii::lower(o.dns.hostname);
  if (!t.dns_name.empty() && t.dns_name.back() == '.') t.dns_name.pop_back();
  t.ports = {o.port};
  for (const auto& c : o.tcp) t.addresses.insert(c.address), t.ports.insert(c.port);
  for (const auto& h : o.tls) t.addresses.insert(h.address);
  for (const auto* http : {&o.http, &o.neutral_sni_http, &o.repeat_sni_http})
    if (*http)
      for (const auto& r : (*http)->requests)
        if (!r.address.empty()) t.addresses.insert(r.address);
  return t;
}

}  // namespace

void attach_evidence(std::vector<MeasurementRecord>& records, const packets::PcapFile& capture,
                     const CaptureLimits& limits, const std::vector<std::string>& own_addresses) {
  std::vector<std::optional<packets::Packet>> decoded;
  decoded.reserve(capture.frames.size());
  for (const auto& f : capture.frames) decoded.push_back(packets::decode_frame(capture.linktype, f));
  for (auto& rec : records) {
    auto& o = rec.observations;
    const auto mine = packets::packets_of(decoded, traffic_of(o), limits.max_packets_per_target);
    std::vector<packets::Packet> pk;
    pk.reserve(mine.size());
    for (size_t i : mine) pk.push_back(*decoded[i]);
    o.captured = true;
    o.packet_evidence = packets::analyze_packets(std::move(pk));
    o.packet_pcap.clear();
    if (!o.packet_evidence.empty()) {
      const std::string pcap = packets::evidence_pcap(capture, mine, own_addresses, limits.max_pcap_bytes);
      if (!pcap.empty()) o.packet_pcap = core::base64_encode(pcap);
    }
  }
}

}  // namespace kuzet::probe::capture
