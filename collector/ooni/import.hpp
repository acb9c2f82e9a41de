#pragma once
// OONI Web Connectivity measurement (v0.4 and v0.5 test keys) -> Kuzet observations + control, judged by
// Kuzet's own verdict engine. Pure: reading files and storing rows is the caller's (import_file.hpp).
// docs/ooni.md has the mapping.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "analysis/analysis.hpp"
#include "collector/store/store.hpp"
#include "core/encoding/json_parse.hpp"

namespace kuzet::ooni {

inline constexpr const char* kSourceName = collector::kSourceOoni;

struct ImportedMeasurement {
  std::string ooni_measurement_uid;  // "" when the line has none (raw reports before the backend)
  std::string report_id;
  std::string input;
  std::string started_at;  // RFC 3339 UTC
  int64_t started_at_ms = 0;
  std::string cc;     // "" when ZZ
  uint32_t asn = 0;   // 0 when AS0
  std::string as_name;
  std::string software_name, software_version;
  double runtime_ms = 0;
  analysis::TargetInput target;  // observations + control (nullopt when the test helper failed)
};

// Why a line was not imported. Counted and reported by the importer, never fatal.
namespace skip {
inline constexpr const char* malformed = "malformed";  // not JSON, not an object, wrong types
inline constexpr const char* not_web_connectivity = "not_web_connectivity";
inline constexpr const char* no_test_keys = "no_test_keys";
inline constexpr const char* bad_input = "bad_input";  // input is not an http(s) URL
inline constexpr const char* bad_time = "bad_time";
}  // namespace skip

struct ParsedOoni {
  std::optional<ImportedMeasurement> measurement;
  std::string skipped;  // one of skip::*, "" when measurement is set
  std::string detail;
};

ParsedOoni from_ooni(const nlohmann::json& ooni);

// One line of an OONI JSON Lines file may hold response bodies: generous, but bounded. The exporter reads
// stored rows (imported ones included) with the same limits.
inline constexpr core::JsonLimits kOoniLineLimits{.max_bytes = 16u << 20, .max_depth = 64, .max_values = 1u << 22};
// One line, parsed with core::parse_json under kOoniLineLimits (duplicate keys are malformed), then from_ooni.
ParsedOoni parse_ooni_line(std::string_view line);

// The Kuzet measurement uid of an OONI measurement: derived from its identity, so importing the same
// file twice writes nothing new.
std::string kuzet_uid(const ImportedMeasurement& m);

// Judges one imported measurement alone (RunFacts: the test helper answered).
analysis::Verdict judge(const ImportedMeasurement& m, const analysis::Knowledge& knowledge);

// kuzet.measurement/1 JSON with "source": {"name": "ooni", "measurement_uid", "report_id", "explorer_url"}.
nlohmann::json to_kuzet_measurement(const ImportedMeasurement& m, const analysis::Verdict& verdict);

// OONI Explorer's permanent link for a measurement.
std::string explorer_url(const ImportedMeasurement& m);

}  // namespace kuzet::ooni
