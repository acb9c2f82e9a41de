// Fuzzes <data_dir>/network.json as the probe reads it back (probe/network_memory.cpp): whatever is in the
// file, a network is believed only in the shape the collector's whoami is believed in (probe/uplink/collector_reply.cpp),
// and it labels measurements as it was written: same AS number, no silent wrap-around.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/time.hpp"
#include "probe/identity/network_memory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto network = kuzet::probe::identity::parse_last_network(text);
  if (!network) return 0;
  const auto j = nlohmann::json::parse(text);  // it parsed once, it parses again
  if (network->asn != j.value("asn", uint64_t{0})) __builtin_trap();
  if (!network->cc.empty() && (network->cc.size() != 2 || network->cc[0] < 'A' || network->cc[0] > 'Z' ||
                               network->cc[1] < 'A' || network->cc[1] > 'Z'))
    __builtin_trap();
  if (network->as_name.size() > 512 || !kuzet::core::parse_rfc3339(network->learned_at)) __builtin_trap();
  return 0;
}
