#pragma once
// bundle.json (docs/report-bundle.md): the signed measurements a report rests on, their inclusion proofs,
// the log's checkpoint and key, and the report's parameters and incidents. Written by `kuzet-report build`,
// read (as untrusted input: bounded in size and depth, never trusted) by `kuzet-report verify`.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/encoding/json_parse.hpp"
#include "reports/report/report.hpp"

namespace kuzet::report {

// /3: incidents are confirmed by independent vantage points, read from the log entries (Independence);
// /2: each measurement's proof is a C2SP tlog-proof text ("tlog_proof"), confirmation by distinct keys;
// /1 had JSON proof fields ("log"). /1 and /2 are still read and verified, by their own rule.
inline constexpr std::string_view kBundleFormat = "kuzet.report-bundle/3";
inline constexpr std::string_view kBundleFormatV2 = "kuzet.report-bundle/2";
inline constexpr std::string_view kBundleFormatV1 = "kuzet.report-bundle/1";
inline constexpr size_t kMaxBundleBytes = size_t{1} << 30;  // 1 GiB: ~200,000 measurements
inline constexpr size_t kMaxBundleDepth = 16;
inline constexpr size_t kMaxProofHashes = 64;
inline constexpr core::JsonLimits kBundleJsonLimits{kMaxBundleBytes, kMaxBundleDepth, size_t{1} << 24};

nlohmann::json incident_json(const ReportIncident& r, const std::vector<Evidence>& measurements);
std::string bundle_json(const Report& report);

// What a bundle claims, as read. Measurements hold only what the bundle gives (envelope, proof); every
// other Evidence field is empty until verify derives it from the envelope.
struct ParsedBundle {
  Report report;
  nlohmann::json incidents;  // as written in the bundle
};

// Throws std::invalid_argument naming what is wrong (size, depth, shape, a field).
ParsedBundle parse_bundle(std::string_view text);

}  // namespace kuzet::report
