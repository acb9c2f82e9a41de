#pragma once
// `kuzet-collector export --format ooni` and `kuzet-collector import-ooni`: the I/O around the pure
// mappings of export.hpp and import.hpp. Exit status 0 on success (skipped lines are counted and reported,
// never fatal), 1 when storage failed or an import conflicted with a stored row, 2 on usage errors.
#include <string>

#include "collector/query/list_measurements.hpp"
#include "collector/store/store.hpp"

namespace kuzet::ooni {

// One stored row as one OONI JSON Lines line (no newline): what `export --format ooni` writes and what
// GET /api/v1/measurements?format=ooni-jsonl answers. Throws std::invalid_argument for an unreadable envelope.
std::string jsonl_line(const collector::ListedMeasurement& row);
// That line as the listing's format=ooni-jsonl (application/x-ndjson), for collector::Server::add_list_format.
collector::query::LineFormat jsonl_list_format();

int export_command(int argc, const char* const* argv);       // argv[0] is "export"
int import_ooni_command(int argc, const char* const* argv);  // argv[0] is "import-ooni"

}  // namespace kuzet::ooni
