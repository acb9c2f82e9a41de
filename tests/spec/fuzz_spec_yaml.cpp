// Arbitrary text -> parse_spec. A SpecError is the expected outcome for junk; any other exception escapes
// (and crashes the fuzzer), as does a broken invariant of an accepted spec.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "measure/http/url.hpp"
#include "spec/categories.hpp"
#include "spec/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto spec = kuzet::spec::parse_spec(text, "fuzz.yaml");
    if (spec.targets.empty()) std::abort();
    for (const auto& t : spec.targets) {
      if (!kuzet::measure::http::parse_url(t.url) || !kuzet::spec::category_problem(t.category).empty()) std::abort();
    }
    for (const auto& r : spec.interception_roots)
      if (r.sha256.size() != 64) std::abort();
  } catch (const kuzet::spec::SpecError& e) {
    // "fuzz.yaml:LINE: problem"
    const std::string message = e.what();
    if (message.rfind("fuzz.yaml:", 0) != 0 || message.size() < 12 || message[10] < '1' || message[10] > '9')
      std::abort();
  }
  return 0;
}
