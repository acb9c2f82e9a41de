#pragma once
// One line of a `kuzet-probe export` bundle (docs/collector.md, `kuzet-collector import`): the probe's key
// statements come first, then its envelopes. Shared by the import command and its fuzz target, so the fuzzer
// runs the code the collector runs.
#include <string>
#include <string_view>

#include "collector/store/store.hpp"

namespace kuzet::collector::ingest {

struct BundleLine {
  enum class Kind { blank, key_statement, envelope };
  Kind kind = Kind::blank;
  ProbeKey key;        // key_statement with an empty refusal: the key to register
  std::string refusal;  // key_statement: "" when it is well-formed and self-signed, else why not
};

// Blank lines are skipped; a line that names "registered_at" and not "measurement" and parses (under
// kKeyStatementLimits) to a statement's shape is a key statement, checked like a registration; every other
// line is an envelope, for check_envelope.
BundleLine classify_bundle_line(std::string_view line);

}  // namespace kuzet::collector::ingest
