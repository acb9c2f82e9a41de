#pragma once
// Counters and latency histograms exported at GET /metrics (Prometheus text format).
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace kuzet::collector {

enum class Rejection { malformed, unknown_key, bad_signature, future_timestamp, backdated, conflict, count };
std::string_view rejection_name(Rejection r);
// nullopt-free mapping: unknown strings count as malformed.
Rejection rejection_from_reason(std::string_view reason);

enum class Route { whoami, register_key, upload, get_measurement, list_measurements, control, healthz, metrics, count };
std::string_view route_name(Route r);

class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBounds{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30};
  void observe(double seconds);
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size()> buckets_{};  // non-cumulative; summed when rendered
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_us_{0};
};

struct Metrics {
  std::atomic<uint64_t> stored{0};
  std::atomic<uint64_t> duplicate{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Rejection::count)> rejected{};
  std::atomic<uint64_t> measurements_total{0};  // rows in the store (set at startup, then counted)
  std::atomic<uint64_t> control_targets{0};
  std::atomic<uint64_t> control_refused{0};
  std::array<LatencyHistogram, static_cast<size_t>(Route::count)> latency;

  void reject(Rejection r) { rejected[static_cast<size_t>(r)]++; }
  uint64_t rejected_count(Rejection r) const { return rejected[static_cast<size_t>(r)].load(); }
  std::string render() const;
};

}  // namespace kuzet::collector
