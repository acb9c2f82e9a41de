#pragma once
// One measurement record: the unit the probe writes (--out, JSON Lines), signs and uploads.
// Field names are a contract; see docs/measurement-schema.md.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "analysis/analysis.hpp"
#include "core/version.hpp"
#include "measure/observations.hpp"

namespace kuzet::probe {

inline constexpr const char* kSchemaVersion = "kuzet.measurement/1";
inline constexpr const char* kSoftwareVersion = core::kVersion;

// Where the probe is, never who: country and ASN only, never the IP address.
struct NetworkIdentity {
  std::string cc;     // ISO 3166 alpha-2, "" when unknown
  uint32_t asn = 0;   // 0 when unknown
  std::string as_name;
  // "collector" (whoami), "config" (manual override), "last_known" (the collector was unreachable: the
  // network it last reported, see identity/network_memory.hpp), "unknown"
  std::string source = "unknown";
  std::string learned_at;  // RFC 3339, when the collector reported it; set for "last_known" only
};

struct MeasurementRecord {
  std::string schema = kSchemaVersion;
  std::string measurement_uid;
  std::string run_id;
  std::string input;     // the URL as given
  std::string target;    // its host
  std::string category;
  std::string spec;      // spec file the target came from ("" for --target)
  std::string started_at;  // RFC 3339 UTC
  double runtime_ms = 0;
  analysis::Verdict verdict;
  NetworkIdentity network;
  measure::TargetObservations observations;
  std::optional<measure::ControlObservations> control;
};

// "20261123T104501Z_" + 16 random hex digits: sorts by time, unguessable, no device identity in it.
std::string new_measurement_uid();

void to_json(nlohmann::json& j, const NetworkIdentity& v);
void from_json(const nlohmann::json& j, NetworkIdentity& v);
// Flattens verdict into top-level "verdict", "method", "explanation", "evidence".
void to_json(nlohmann::json& j, const MeasurementRecord& v);
void from_json(const nlohmann::json& j, MeasurementRecord& v);

}  // namespace kuzet::probe
