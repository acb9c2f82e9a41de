#include "collector/ingest/bundle.hpp"

#include "ascii/ascii.hpp"
#include "collector/ingest/key_statement.hpp"
#include "core/encoding/json_parse.hpp"

namespace kuzet::collector::ingest {

BundleLine classify_bundle_line(std::string_view line) {
  BundleLine out;
  if (ascii::trim(line, " \t\r").empty()) return out;
  out.kind = BundleLine::Kind::envelope;
  // Cheap test first: a statement is ~200 bytes, an envelope kilobytes; only a candidate is parsed.
  if (line.find("\"registered_at\"") == std::string_view::npos ||
      line.find("\"measurement\"") != std::string_view::npos)
    return out;
  const auto j = core::parse_json(line, kKeyStatementLimits).value;  // null when refused
  if (!looks_like_key_statement(j)) return out;
  out.kind = BundleLine::Kind::key_statement;
  out.refusal = check_key_statement(j, &out.key);
  return out;
}

}  // namespace kuzet::collector::ingest
