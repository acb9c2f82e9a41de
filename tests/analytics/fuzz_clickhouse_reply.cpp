// Fuzzes what the collector reads from ClickHouse as JSONCompact (untrusted: a server it does not control, or a
// broken one): a reply parsed as rows, then decoded as a series list, series keys and vantage samples (the
// large reads are TabSeparated: fuzz_clickhouse_tsv.cpp).
// Checks the decoders' promises, not only the absence of crashes: a series list in key order, no negative
// decisive count.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/analytics/queries.hpp"

using namespace kuzet;
using namespace kuzet::collector::analytics;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  clickhouse::Rows rows;
  try {
    rows = clickhouse::parse_reply(body, 1 << 16);
  } catch (const std::runtime_error&) {
    return 0;
  }
  try {
    timeline::TimelineQuery q;
    q.source = "kuzet";
    const auto list = series_list_from_rows(rows, q);
    for (size_t i = 1; i < list.size(); ++i)
      if (!(list[i - 1].key < list[i].key)) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  try {
    series_keys_from_rows(rows);
  } catch (const std::runtime_error&) {
  }
  try {
    for (const auto& v : vantage_samples_from_rows(rows))
      if (v.decisive < 0) __builtin_trap();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
