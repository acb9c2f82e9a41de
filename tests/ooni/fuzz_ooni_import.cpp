// Fuzz target: one untrusted line of an OONI file through the importer (bounded parse, mapping, the verdict
// engine, the Kuzet measurement it would store) and back out through the exporter.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collector/ooni/export.hpp"
#include "collector/ooni/import.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = kuzet::ooni::parse_ooni_line(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.measurement) return 0;
  auto verdict = kuzet::ooni::judge(*parsed.measurement, {});
  auto measurement = kuzet::ooni::to_kuzet_measurement(*parsed.measurement, verdict);
  (void)kuzet::ooni::to_ooni(measurement, {}).dump();
  return 0;
}
