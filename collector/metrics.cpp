#include "collector/metrics.hpp"

#include <cstdio>

namespace kuzet::collector {

std::string_view rejection_name(Rejection r) {
  switch (r) {
    case Rejection::malformed: return "malformed";
    case Rejection::unknown_key: return "unknown_key";
    case Rejection::bad_signature: return "bad_signature";
    case Rejection::future_timestamp: return "future_timestamp";
    case Rejection::backdated: return "backdated";
    case Rejection::conflict: return "conflict";
    case Rejection::count: break;
  }
  return "unknown";
}

Rejection rejection_from_reason(std::string_view reason) {
  for (size_t i = 0; i < static_cast<size_t>(Rejection::count); ++i)
    if (rejection_name(static_cast<Rejection>(i)) == reason) return static_cast<Rejection>(i);
  return Rejection::malformed;
}

std::string_view route_name(Route r) {
  switch (r) {
    case Route::whoami: return "whoami";
    case Route::register_key: return "register";
    case Route::upload: return "upload";
    case Route::get_measurement: return "get_measurement";
    case Route::list_measurements: return "list_measurements";
    case Route::control: return "control";
    case Route::healthz: return "healthz";
    case Route::metrics: return "metrics";
    case Route::count: break;
  }
  return "unknown";
}

void LatencyHistogram::observe(double seconds) {
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      buckets_[i]++;
      break;
    }
  }
  count_++;
  sum_us_ += static_cast<uint64_t>(seconds * 1e6);
}

void LatencyHistogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  uint64_t cumulative = 0;
  char buf[256];
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load();
    std::snprintf(buf, sizeof buf, "%.*s_bucket{%.*s,le=\"%g\"} %llu\n", int(name.size()), name.data(),
                  int(labels.size()), labels.data(), kBounds[i], static_cast<unsigned long long>(cumulative));
    out += buf;
  }
  unsigned long long count = count_.load();
  std::snprintf(buf, sizeof buf, "%.*s_bucket{%.*s,le=\"+Inf\"} %llu\n%.*s_sum{%.*s} %.6f\n%.*s_count{%.*s} %llu\n",
                int(name.size()), name.data(), int(labels.size()), labels.data(), count, int(name.size()),
                name.data(), int(labels.size()), labels.data(), sum_us_.load() / 1e6, int(name.size()), name.data(),
                int(labels.size()), labels.data(), count);
  out += buf;
}

std::string Metrics::render() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, uint64_t value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name + " " +
           std::to_string(value) + "\n";
  };
  counter("kuzet_measurements_stored_total", "Measurements newly stored.", stored.load());
  counter("kuzet_measurements_duplicate_total", "Uploaded measurements that were already stored.", duplicate.load());
  out += "# HELP kuzet_measurements_rejected_total Uploaded measurements rejected, by reason.\n"
         "# TYPE kuzet_measurements_rejected_total counter\n";
  for (size_t i = 0; i < static_cast<size_t>(Rejection::count); ++i)
    out += "kuzet_measurements_rejected_total{reason=\"" + std::string(rejection_name(static_cast<Rejection>(i))) +
           "\"} " + std::to_string(rejected[i].load()) + "\n";
  out += "# HELP kuzet_measurements Measurements in the store.\n# TYPE kuzet_measurements gauge\n"
         "kuzet_measurements " + std::to_string(measurements_total.load()) + "\n";
  counter("kuzet_control_targets_total", "Targets measured for control requests.", control_targets.load());
  counter("kuzet_control_refused_total", "Control requests refused (auth, rate limit, bad target).",
          control_refused.load());
  out += "# HELP kuzet_http_request_duration_seconds HTTP request latency by endpoint.\n"
         "# TYPE kuzet_http_request_duration_seconds histogram\n";
  for (size_t i = 0; i < static_cast<size_t>(Route::count); ++i)
    latency[i].render(out, "kuzet_http_request_duration_seconds",
                      "endpoint=\"" + std::string(route_name(static_cast<Route>(i))) + "\"");
  return out;
}

}  // namespace kuzet::collector
