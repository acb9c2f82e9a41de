#pragma once
// The collector's control, asked for as the probe's DNS answers arrive instead of after the last one: targets
// whose answers come together go in one request, a target resolved later goes in a later one, and each
// request runs while the probe measures. Few requests per run (the collector rate-limits requests per key).
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "probe/runner.hpp"

namespace kuzet::probe::pipeline {

struct ControlBatchPolicy {
  // After the first target of a batch arrives, wait this long for others that resolve at about the same time.
  std::chrono::milliseconds gather{50};
  size_t max_batch = 100;   // the collector's default max_targets per request
  size_t max_requests = 3;  // the last request waits for every remaining target (unless over max_batch)
};

class ControlBatches {
 public:
  // total: how many targets will be added (each exactly once).
  ControlBatches(CollectorLink& link, size_t total, int deadline_ms, ControlBatchPolicy policy = {});
  ~ControlBatches();
  ControlBatches(const ControlBatches&) = delete;
  ControlBatches& operator=(const ControlBatches&) = delete;

  // Target `index` (0..total-1) has its DNS answer; called from any thread.
  void add(size_t index, ControlTarget target);
  // Waits for every request; the control of each target, nullopt where its request failed. Call once, after
  // every add().
  std::vector<std::optional<measure::ControlObservations>> results();
  size_t requests_sent() const { return requests_sent_; }

 private:
  void gather_loop();
  void send(std::vector<size_t> indexes, std::vector<ControlTarget> targets);

  CollectorLink& link_;
  const size_t total_;
  const int deadline_ms_;
  ControlBatchPolicy policy_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t added_ = 0;
  std::vector<size_t> pending_indexes_;
  std::vector<ControlTarget> pending_;
  std::chrono::steady_clock::time_point first_pending_;
  size_t requests_sent_ = 0;
  std::vector<std::optional<measure::ControlObservations>> results_;  // guarded by mutex_
  std::vector<std::thread> requests_;                                  // touched by the gather thread only
  std::thread gatherer_;
};

}  // namespace kuzet::probe::pipeline
