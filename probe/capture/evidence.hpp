#pragma once
// The run's capture -> each record's packet_evidence (and, with a finding, its packets as a small pcap).
// Glue between the records and the pure analysis of lib/packets.
#include <string>
#include <vector>

#include "packets/pcap_file.hpp"
#include "probe/capture/recorder.hpp"
#include "probe/record.hpp"

namespace kuzet::probe::capture {

void attach_evidence(std::vector<MeasurementRecord>& records, const packets::PcapFile& capture,
                     const CaptureLimits& limits, const std::vector<std::string>& own_addresses);

}  // namespace kuzet::probe::capture
