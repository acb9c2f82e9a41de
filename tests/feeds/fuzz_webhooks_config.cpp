// Fuzzes the webhooks config reader (collector/feeds/webhooks.hpp): bounded, and either subscriptions that
// each have an http(s) URL and a secret of 16+ characters, or a std::runtime_error naming the problem.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "collector/feeds/webhooks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 128 * 1024) return 0;
  try {
    auto subs = kuzet::collector::feeds::parse_subscriptions(
        std::string_view(reinterpret_cast<const char*>(data), size));
    for (const auto& s : subs)
      if (s.secret.size() < 16 || (s.url.rfind("http://", 0) != 0 && s.url.rfind("https://", 0) != 0) ||
          (!s.cc.empty() && s.cc.size() != 2))
        __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
