#pragma once
// Knowledge shipped with the probe (lib/knowledge/builtin.json, embedded at build time): interception roots
// and blockpage fingerprints that are not about one spec, so a custom spec or a bare --target is judged
// with them too. docs/verdicts.md ("Knowledge").
#include <string_view>

#include "analysis/analysis.hpp"

namespace kuzet::knowledge {

// The embedded file's text, as built.
std::string_view builtin_text();

// The embedded knowledge, parsed once. The file is checked at build time by a unit test, so a broken file
// fails the tests, not a volunteer's run.
const analysis::Knowledge& builtin();

// The run's knowledge: the specs' first, then built-in entries the specs do not already hold (roots by
// SHA-256, else by name; blockpages by name).
analysis::Knowledge merged_with_builtin(const analysis::Knowledge& from_specs);

}  // namespace kuzet::knowledge
