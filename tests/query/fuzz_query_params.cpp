// Fuzzes the read API's query parameters as the server sees them: the query text parsed by cpp-httplib,
// then the strict checks and every value through the cc, asn and time parsers and the CSV cell writer.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "collector/query/query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // the server caps request lines far below this
  httplib::Params params;
  httplib::detail::parse_query_text(std::string(reinterpret_cast<const char*>(data), size), params);
  using namespace kuzet::collector::query;
  const std::string error = check_names(params, {"cc", "asn", "from", "until", "target"});
  if (error.size() > 200) __builtin_trap();  // the echoed name is bounded
  for (const auto& [name, value] : params) {
    if (auto cc = parse_cc(value); cc && (cc->size() != 2 || (*cc)[0] < 'A' || (*cc)[0] > 'Z')) __builtin_trap();
    parse_asn(value);
    if (auto s = parse_source(value); s && !s->empty() && *s != "kuzet" && *s != "ooni") __builtin_trap();
    if (auto t = parse_time(value); t && (*t < 0 || *t > 253402300799999)) __builtin_trap();
    for (const std::string& s : {name, value}) {
      const std::string cell = csv_cell(s);
      if (!cell.empty() && std::string_view("=+-@\t\r").find(cell[0]) != std::string_view::npos) __builtin_trap();
    }
  }
  return 0;
}
