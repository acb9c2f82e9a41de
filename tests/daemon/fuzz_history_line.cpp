// Fuzzes one line of <data_dir>/history.jsonl as `kuzet-probe results` reads it back (probe/history): whatever
// the line holds, an entry is believed only whole — every field a bounded string, a valid time, an AS number
// that fits 32 bits — and written again it reads back the same.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/time.hpp"
#include "probe/history/history.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const auto entry = kuzet::probe::history::parse_line(line);
  if (!entry) return 0;
  if (size > kuzet::probe::history::kMaxLineBytes || !kuzet::core::parse_rfc3339(entry->at)) __builtin_trap();
  const auto again = kuzet::probe::history::parse_line(kuzet::probe::history::to_line(*entry));
  if (!again || again->at != entry->at || again->target != entry->target || again->verdict != entry->verdict ||
      again->asn != entry->asn || again->input != entry->input || again->seen != entry->seen)
    __builtin_trap();
  return 0;
}
