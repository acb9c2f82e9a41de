// Arbitrary text -> parse_probe_config. Only ConfigError may come out; anything else crashes the fuzzer.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "probe/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = kuzet::probe::parse_probe_config(text, "/etc/kuzet/probe.yaml");
    if (config.schedule.jitter_s > config.schedule.interval_s || config.limits.concurrency < 1) std::abort();
  } catch (const kuzet::probe::ConfigError& e) {
    const std::string message = e.what();
    if (message.rfind("/etc/kuzet/probe.yaml:", 0) != 0) std::abort();
  }
  return 0;
}
