// Fuzzes the upload body path without network or database: split the body into envelopes, then parse
// and check each one (shape, time, signature) as the ingest does.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "collector/ingest/upload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto split = kuzet::collector::ingest::split_upload_body(body, 1000);
  kuzet::collector::ingest::CheckOptions options;
  options.now_ms = 1700000000000;
  options.key_registered_ms = [](const std::string&) -> std::optional<int64_t> { return 0; };
  for (auto envelope : split.envelopes) {
    auto checked = kuzet::collector::ingest::check_envelope(envelope, options);
    // An accepted envelope must carry the exact bytes it came from.
    if (checked.reason.empty() && checked.row.envelope != envelope) __builtin_trap();
  }
  return 0;
}
