#pragma once
// `kuzet-collector export --format ooni` and `kuzet-collector import-ooni`: the I/O around the pure
// mappings of export.hpp and import.hpp. Exit status 0 on success (skipped lines are counted and reported,
// never fatal), 1 when storage failed or an import conflicted with a stored row, 2 on usage errors.
namespace kuzet::ooni {

int export_command(int argc, const char* const* argv);       // argv[0] is "export"
int import_ooni_command(int argc, const char* const* argv);  // argv[0] is "import-ooni"

}  // namespace kuzet::ooni
