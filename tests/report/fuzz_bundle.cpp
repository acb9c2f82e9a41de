// The bundle parser and verifier on arbitrary bytes: an error, never a crash (bundles are untrusted).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "reports/report/bundle.hpp"
#include "reports/report/verify.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    kuzet::report::parse_bundle(text);
  } catch (const std::invalid_argument&) {
  }
  kuzet::report::verify_bundle(text, "");
  return 0;
}
