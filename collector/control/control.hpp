#pragma once
// POST /api/v1/control: the collector measures targets from its uncensored vantage point for a probe.
// Authenticated (registered key + signature over the raw body), rate-limited per key, and refusing to
// be used against private networks (SSRF) unless --allow-private-targets.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "collector/network/asn_db.hpp"
#include "collector/http/token_buckets.hpp"
#include "collector/metrics.hpp"
#include "collector/store/store.hpp"
#include "measure/observations.hpp"
#include "measure/target.hpp"

namespace kuzet::collector::control {

struct ControlTarget {
  std::string url;
  std::vector<std::string> probe_addresses;
};

struct ControlRequest {
  std::vector<ControlTarget> targets;
  int deadline_ms = 20000;
};

struct ControlOptions {
  std::string resolver;  // "" = system
  std::string ca_bundle;  // "" = system trust store
  bool allow_private_targets = false;
  size_t concurrency = 48;  // targets measured at once, across all requests
  size_t max_targets = 100;
  int max_deadline_ms = 60000;
  double requests_per_minute = 10;  // token bucket per key; also its burst size
  // Every control request costs the collector real work (DNS, connections, up to max_deadline_ms), so
  // all keys together share a budget too: fresh keys are free to make.
  double global_requests_per_minute = 30;
  double global_burst = 8;
};

// Parses a control body. error "" on success, else "malformed" / "too_large" / "bad_url" /
// "private_target" with detail. Checks URLs (http/https) and, unless allow_private, IP-literal hosts.
struct ParsedControlRequest {
  std::string error;
  std::string detail;
  ControlRequest request;
};
ParsedControlRequest parse_control_request(std::string_view body, const ControlOptions& options);

struct ControlAnswer {
  int http_status = 200;
  std::string body;  // JSON
};

class ControlService {
 public:
  // Loads the trust store: throws std::runtime_error on a bad --ca-bundle (startup error).
  ControlService(Store& store, const network::AsnDatabase& asn, Metrics& metrics, ControlOptions options);

  // Whole request: auth, rate limit, parse, measure. Blocks until done or deadline.
  ControlAnswer handle(std::string_view body, const std::string& key_header, const std::string& signature_header);

  // Measures already-validated targets (no auth). Results in request order.
  std::vector<measure::ControlObservations> run_controls(const ControlRequest& request);

 private:
  measure::MeasureOptions options_within(std::chrono::steady_clock::time_point deadline) const;

  Store& store_;
  const network::AsnDatabase& asn_;
  Metrics& metrics_;
  ControlOptions options_;
  measure::MeasureOptions measure_defaults_;
  std::counting_semaphore<1024> slots_;
  http::TokenBuckets per_key_;
  http::TokenBuckets global_;
};

}  // namespace kuzet::collector::control
