#pragma once
// `kuzet-probe run --locate`: for a target whose packets show a forged reset after the ClientHello
// (rst_injection), the ClientHello is sent again on fresh connections with IP TTL 1, 2, ... (the handshake
// itself at the normal TTL), like OONI's tlsmiddlebox: the first TTL at which the reset comes back is the
// injector's distance in routers. Adds a `hop` finding (lib/packets locate_hop decides).
#include <vector>

#include "measure/target.hpp"
#include "probe/record.hpp"

namespace kuzet::probe::capture {

struct LocateLimits {
  int max_ttl = 16;
  int timeout_ms = 2000;  // per attempt; below the injector nothing answers, so each costs this much
  size_t max_targets = 3; // per run
};

void locate_injectors(std::vector<MeasurementRecord>& records, const measure::MeasureOptions& options,
                      const LocateLimits& limits = {});

}  // namespace kuzet::probe::capture
