#pragma once
// The probe's local history: what each run found, one line per target, kept in <data_dir>/history.jsonl after
// the results left the queue (the queue forgets a result once a collector acknowledged it; a volunteer still
// wants to see it). Bounded: when the file passes max_bytes the oldest lines go, so it holds the newest
// half-to-whole budget, and lines older than max_days are dropped at the same time. `kuzet-probe results`
// lists it. The daemon appends after each run; nothing here is uploaded.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "probe/runner.hpp"

namespace kuzet::probe::history {

struct Entry {
  std::string at;               // when the target was measured (RFC 3339)
  std::string run_id;
  std::string measurement_uid;  // the measurement's id at the collector
  std::string input;            // the URL
  std::string target;           // its host
  std::string category;
  std::string verdict;          // core/vocabulary/verdict.hpp
  std::string method;           // core/vocabulary/method.hpp, "" for none
  std::string seen;             // what the first failing step saw (probe/ui/output.hpp seen_failure), "-" for none
  std::string cc;
  uint32_t asn = 0;
};

struct Limits {
  uint64_t max_bytes = 8u << 20;  // ~40 000 lines
  int64_t max_days = 90;
};

// Bounds on reading one line back: its size, and core::parse_json's limits for it.
inline constexpr size_t kMaxLineBytes = 16 * 1024;

std::string path(const std::string& data_dir);

// The entries of one run, in target order.
std::vector<Entry> entries_of(const RunResult& result);

// Appends, then trims when the file is over limits.max_bytes (keeping the newest lines, within half of it) or
// holds lines older than max_days. "" or the reason it failed.
std::string append(const std::string& data_dir, const std::vector<Entry>& entries, const Limits& limits,
                   std::string_view now_rfc3339);

// One stored line, checked: bounded, strict JSON, every field of the right type and size, a valid time.
// nullopt for anything else (a torn or tampered line is skipped, not believed).
std::optional<Entry> parse_line(std::string_view line);
std::string to_line(const Entry& entry);
// An entry as `results --json` and the status page show it (measurement_uid spelled out).
nlohmann::json to_json(const Entry& entry);

struct ReadResult {
  std::vector<Entry> entries;  // oldest first
  size_t skipped = 0;          // lines that did not parse
  std::string error;           // the file could not be read ("" when it just does not exist yet)
};
ReadResult read(const std::string& data_dir);

}  // namespace kuzet::probe::history
