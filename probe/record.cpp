#include "probe/record.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <ctime>

#include "analysis/analysis_json.hpp"
#include "core/crypto/crypto.hpp"
#include "core/encoding/json_struct.hpp"
#include "core/vocabulary/verdict.hpp"
#include "measure/observations_json.hpp"

namespace kuzet::probe {

std::string new_measurement_uid() {
  std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf) + "_" + core::random_hex(8);
}

void to_json(nlohmann::json& j, const NetworkIdentity& v) {
  j = nlohmann::json{{"cc", v.cc}, {"asn", v.asn}, {"as_name", v.as_name}, {"source", v.source}};
  if (!v.learned_at.empty()) j["learned_at"] = v.learned_at;
}

void from_json(const nlohmann::json& j, NetworkIdentity& v) {
  v.cc = j.value("cc", "");
  v.asn = core::json_value(j, "asn", uint32_t{0});
  v.as_name = j.value("as_name", "");
  v.source = j.value("source", "unknown");
  v.learned_at = j.value("learned_at", "");
}

void to_json(nlohmann::json& j, const MeasurementRecord& v) {
  j = nlohmann::json{{"schema", v.schema},
                     {"measurement_uid", v.measurement_uid},
                     {"run_id", v.run_id},
                     {"input", v.input},
                     {"target", v.target},
                     {"category", v.category},
                     {"spec", v.spec},
                     {"started_at", v.started_at},
                     {"runtime_ms", v.runtime_ms},
                     {"verdict", v.verdict.verdict},
                     {"method", v.verdict.method},
                     {"explanation", v.verdict.explanation},
                     {"evidence", v.verdict.evidence},
                     {"network", v.network},
                     {"software", {{"name", "kuzet-probe"}, {"version", kSoftwareVersion}}},
                     {"observations", v.observations}};
  if (v.control) j["control"] = *v.control;
  else j["control"] = nullptr;
}

void from_json(const nlohmann::json& j, MeasurementRecord& v) {
  v = MeasurementRecord{};
  v.schema = j.at("schema").get<std::string>();
  v.measurement_uid = j.at("measurement_uid").get<std::string>();
  v.run_id = j.value("run_id", "");
  v.input = j.at("input").get<std::string>();
  v.target = j.value("target", "");
  v.category = j.value("category", "");
  v.spec = j.value("spec", "");
  v.started_at = j.at("started_at").get<std::string>();
  v.runtime_ms = j.value("runtime_ms", 0.0);
  v.verdict.verdict = j.value("verdict", std::string(core::verdict::inconclusive));
  v.verdict.method = j.value("method", "");
  v.verdict.explanation = j.value("explanation", "");
  if (j.contains("evidence")) j.at("evidence").get_to(v.verdict.evidence);
  if (j.contains("network")) j.at("network").get_to(v.network);
  if (j.contains("observations")) j.at("observations").get_to(v.observations);
  if (j.contains("control") && !j.at("control").is_null()) v.control = j.at("control").get<measure::ControlObservations>();
}

}  // namespace kuzet::probe
