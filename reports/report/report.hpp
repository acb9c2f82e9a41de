#pragma once
// A dated report: what was asked (Params), the signed measurements it rests on (Evidence, each with its
// place in the collector's transparency log), and what the pure timeline engine finds in them.
// compute() is pure: the build and `kuzet-report verify` call it on the same measurements and must agree.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "envelope/envelope.hpp"
#include "packets/findings.hpp"
#include "collector/timeline/incidents.hpp"
#include "collector/timeline/timeline.hpp"

namespace kuzet::report {

// What makes the measurements behind an incident independent. Bundles /1 and /2 were built counting
// distinct probe keys; from /3 a report counts the independent vantage points the collector committed to in
// each measurement's transparency-log entry (lib/tlog/entry.hpp), as the collector's incident API does.
enum class Independence { probe_keys, vantage_points };

struct Params {
  std::string cc;
  std::vector<uint32_t> asns;        // empty: every network of cc with data
  std::vector<std::string> targets;  // empty: every target
  int64_t from_ms = 0;               // the period reported on, [from, until)
  int64_t until_ms = 0;
  // Where the collector's data ended when the report was built: a network's bins after it are not silence
  // (as the collector's own incident API does). <= until_ms.
  int64_t data_end_ms = 0;
  int64_t bin_ms = timeline::kDefaultBinMs;
  bool include_unconfirmed = false;
  Independence independence = Independence::vantage_points;  // set by the bundle's format, not written in it
  bool operator==(const Params&) const = default;
};

// The transparency log's word on one measurement (docs/report-bundle.md).
// In bundle.json it is one C2SP tlog-proof text (tlog/proof.hpp) with the entry as its extra data.
struct LogProof {
  uint64_t index = 0;
  std::vector<std::string> inclusion;  // raw 32-byte hashes, leaf's sibling first
  std::string entry;                   // the log entry's bytes (its leaf hash is over them)
  std::string checkpoint;              // the signed note the proof leads to (the report's checkpoint)
  bool operator==(const LogProof&) const = default;
};

// One signed measurement. Every field but `envelope` and `proof` is derived from the envelope
// (evidence_from_envelope), never taken from a bundle or a reply as given.
struct Evidence {
  std::string envelope;  // the exact bytes the probe signed and the collector stored
  std::string sha256;    // hex of envelope
  std::string uid;
  std::string key_id;
  int64_t started_at_ms = 0;
  std::string cc;
  uint32_t asn = 0;
  std::string as_name;
  std::string target;
  std::string category;
  std::string verdict;
  std::string method;
  std::string synthetic;  // "" or synthetic_label(spec): made by the replay generator, the lab or a test
  bool decisive = false;  // decisive local evidence (a known blockpage or interception root; collector/vantage)
  std::optional<LogProof> proof;
  // What the measurement's packets showed (observations.packet_evidence; docs/packet-evidence.md), at most 8.
  std::vector<packets::PacketFinding> packet_findings;
};

// Checks the envelope (shape and Ed25519 signature, the collector's own checks) and fills Evidence from it.
// `error` is "" on success, else the collector's rejection reason ("malformed", "bad_signature", ...).
// now_ms: measurements dated after it are refused ("future_timestamp"). `signatures` (may be null) shares
// the verification of a batch's signature between its envelopes.
Evidence evidence_from_envelope(std::string envelope, int64_t now_ms, std::string* error,
                                envelope::SignatureCache* signatures = nullptr);

// Synthetic data is marked by its spec name: the replay generator writes "replay/...", lab and test specs
// are named "lab/..." and "test/...". "" for real measurements.
std::string synthetic_label(const std::string& spec);

struct ReportIncident {
  timeline::Incident incident;
  int distinct_probes = 0;       // keys whose measurements show the state inside the incident
  bool confirmed = false;        // the incident's own (vantage rule) or distinct_probes >= kMinIndependent
  std::vector<size_t> evidence;  // indexes into the measurements, (started_at, uid) order
  bool operator==(const ReportIncident&) const = default;
};

struct Computed {
  std::vector<timeline::Series> chart;  // per network: the network series, then its targets, at chart_bin_ms
  int64_t chart_bin_ms = 0;
  std::vector<ReportIncident> incidents;  // every incident found, confirmed or not, by (start, key, kind)
};

// Measurements must be sorted by (started_at_ms, uid) (sort_evidence).
void sort_evidence(std::vector<Evidence>& measurements);
Computed compute(const Params& params, const std::vector<Evidence>& measurements);

// An incident needs independent confirmation before a report states it: this many independent vantage
// points (Independence::vantage_points; for /1 and /2 bundles, distinct probe keys).
inline constexpr int kMinIndependent = 2;

// The vantage point a measurement supports, as its log entry states it: "" without a proof, when the entry
// is /1 or is not this measurement's (verify names that failure), or when it supports none.
std::string vantage_point_of(const Evidence& e);

// A whole report.
struct Report {
  Params params;
  int64_t generated_at_ms = 0;
  std::string source;      // "https://collector.example" or "database collector.db" (for the reader)
  std::string checkpoint;  // the log's signed note the proofs lead to; "" when the collector has no log
  std::string log_key;     // the log's verifier key (name+hash+base64); "" when none
  std::vector<Evidence> measurements;
  Computed computed;
  std::string synthetic;   // "" or the label of the synthetic data in it (replay, lab, test)
};

}  // namespace kuzet::report
