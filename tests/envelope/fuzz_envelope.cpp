// Hostile upload items: envelope::verify must answer, never throw or crash.
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto value = nlohmann::json::parse(data, data + size, nullptr, false);
  if (value.is_discarded()) return 0;
  const std::string verdict = kuzet::envelope::verify(value);  // noexcept in practice: a throw aborts
  if (verdict != "" && verdict != "malformed" && verdict != "bad_signature") std::abort();
  return 0;
}
