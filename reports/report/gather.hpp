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

// Opens the SQLite file read-only. Throws std::runtime_error on storage errors.
Gathered gather_from_db(const std::string& db_path, const Params& params, int64_t now_ms);

struct HttpLimits {
  long timeout_ms = 60000;                     // per request
  size_t max_reply_bytes = size_t{64} << 20;  // per reply
  size_t max_measurements = 2000000;           // in all
};
// Throws std::runtime_error naming the request that failed.
Gathered gather_from_collector(const std::string& base_url, const Params& params, int64_t now_ms,
                               const HttpLimits& limits = {});

}  // namespace kuzet::report
