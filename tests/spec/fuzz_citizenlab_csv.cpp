// Arbitrary text -> parse_citizenlab_csv (and the CSV reader under it). A SpecError naming "fuzz.csv:LINE:"
// is the expected outcome for junk; any other exception escapes (and crashes the fuzzer), as does a broken
// promise of an accepted list: at least one target, each a valid URL with a recordable category.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "csv/csv.hpp"
#include "measure/http/url.hpp"
#include "spec/categories.hpp"
#include "spec/citizenlab.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto records = kuzet::csv::parse(text, {.max_bytes = 1 << 20, .max_records = 1000, .max_fields = 16,
                                                  .max_total_fields = 4000, .max_field_bytes = 4096});
    int last_line = 0;
    for (const auto& r : records) {
      if (r.line <= last_line || r.fields.empty() || r.fields.size() > 16) std::abort();
      for (const auto& f : r.fields)
        if (f.size() > 4096) std::abort();
      last_line = r.line;
    }
  } catch (const kuzet::csv::Error& e) {
    if (e.line() < 0) std::abort();
  }
  try {
    const auto spec = kuzet::spec::parse_citizenlab_csv(text, "fuzz.csv");
    if (spec.targets.empty()) std::abort();
    for (const auto& t : spec.targets)
      if (!kuzet::measure::http::parse_url(t.url) || !kuzet::spec::category_problem(t.category).empty()) std::abort();
  } catch (const kuzet::spec::SpecError& e) {
    const std::string message = e.what();
    if (message.rfind("fuzz.csv:", 0) != 0 || message.size() < 11 || message[9] < '1' || message[9] > '9')
      std::abort();
  }
  return 0;
}
