// describe_certificate_der takes whatever a peer presented: it must not crash, and what it returns must be
// serialisable (printable strings), since it goes straight into signed JSON results.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "measure/observations_json.hpp"
#include "measure/tls.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string der(reinterpret_cast<const char*>(data), size);
  const auto info = kuzet::measure::describe_certificate_der(der);
  if (info.sha256.size() != 64) std::abort();
  nlohmann::json j = info;
  (void)j.dump();  // throws (and so aborts) on invalid UTF-8
  return 0;
}
