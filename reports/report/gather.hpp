#pragma once
// Gathering a report's measurements: from a collector database (read-only) or from a collector's HTTP API
// (libcurl; every reply is untrusted: bounded in size and time, every envelope's signature checked).
// Gathers every measurement of the chosen networks from one baseline window before the period to its end:
// the network series (shutdowns) need all of a network's measurements and their history.
#include <cstdint>
#include <string>
#include <vector>

#include "reports/report/report.hpp"

namespace kuzet::report {

struct Gathered {
  std::vector<Evidence> measurements;  // sorted by (started_at, uid)
  int64_t data_end_ms = 0;             // end of the bin of the collector's latest measurement
  std::string checkpoint;              // "" when the collector keeps no log
  std::string log_key;
  std::vector<std::string> warnings;   // for the operator (stderr), e.g. envelopes that failed their checks
};

// Opens the SQLite file read-only. The proofs lead to the last checkpoint the collector signed and stored;
// the log's public key comes from log_key (a key file: the collector's own or a verifier key; "" = the
// collector's default "<db>.log-key", if there is one). Throws std::runtime_error on storage errors, an
// unreadable or wrong key, or a stored log that does not extend its checkpoint.
Gathered gather_from_db(const std::string& db_path, const Params& params, int64_t now_ms,
                        const std::string& log_key = "");

// How the inclusion proofs are fetched: one GET /api/v1/measurements/{uid}/proof per measurement, or the
// log's tiles (entry bundles and hash tiles, ~2 requests per 256 log entries) and the proofs computed here.
// automatic takes whichever needs fewer requests. Both give the same proofs against one checkpoint.
enum class ProofFetch { automatic, per_measurement, tiles };

struct HttpLimits {
  long timeout_ms = 60000;                     // per request
  size_t max_reply_bytes = size_t{64} << 20;  // per reply
  size_t max_measurements = 2000000;           // in all
  ProofFetch proofs = ProofFetch::automatic;
};
// Throws std::runtime_error naming the request that failed.
Gathered gather_from_collector(const std::string& base_url, const Params& params, int64_t now_ms,
                               const HttpLimits& limits = {});

}  // namespace kuzet::report
