#include "probe/pipeline/control_batches.hpp"

namespace kuzet::probe::pipeline {

ControlBatches::ControlBatches(CollectorLink& link, size_t total, int deadline_ms, ControlBatchPolicy policy)
    : link_(link), total_(total), deadline_ms_(deadline_ms), policy_(policy), results_(total) {
  if (policy_.max_batch == 0) policy_.max_batch = 1;
  if (policy_.max_requests == 0) policy_.max_requests = 1;
  gatherer_ = std::thread([this] { gather_loop(); });
}

ControlBatches::~ControlBatches() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    added_ = total_;  // results() was not called (an exception): send what is pending and stop
  }
  changed_.notify_all();
  if (gatherer_.joinable()) gatherer_.join();
}

void ControlBatches::add(size_t index, ControlTarget target) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (pending_.empty()) first_pending_ = std::chrono::steady_clock::now();
    pending_indexes_.push_back(index);
    pending_.push_back(std::move(target));
    ++added_;
  }
  changed_.notify_all();
}

void ControlBatches::gather_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    changed_.wait(lock, [&] { return !pending_.empty() || added_ >= total_; });
    if (pending_.empty()) break;  // everything added and sent
    // Send when every target is in, when the batch is full, or when the gathering time is up, except that
    // the last request allowed waits for all the rest (so one slow DNS answer costs one more request, not many).
    auto ready = [&] {
      if (added_ >= total_ || pending_.size() >= policy_.max_batch) return true;
      const bool last_allowed = requests_sent_ + 1 >= policy_.max_requests;
      return !last_allowed && std::chrono::steady_clock::now() >= first_pending_ + policy_.gather;
    };
    while (!ready()) {
      if (requests_sent_ + 1 >= policy_.max_requests) changed_.wait(lock);
      else changed_.wait_until(lock, first_pending_ + policy_.gather);
    }
    const size_t take = std::min(pending_.size(), policy_.max_batch);
    std::vector<size_t> indexes(pending_indexes_.begin(), pending_indexes_.begin() + static_cast<std::ptrdiff_t>(take));
    std::vector<ControlTarget> targets(std::make_move_iterator(pending_.begin()),
                                       std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(take)));
    pending_indexes_.erase(pending_indexes_.begin(), pending_indexes_.begin() + static_cast<std::ptrdiff_t>(take));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(take));
    if (!pending_.empty()) first_pending_ = std::chrono::steady_clock::now();
    ++requests_sent_;
    requests_.emplace_back([this, indexes = std::move(indexes), targets = std::move(targets)]() mutable {
      send(std::move(indexes), std::move(targets));
    });
  }
  lock.unlock();
  for (auto& r : requests_) r.join();
}

void ControlBatches::send(std::vector<size_t> indexes, std::vector<ControlTarget> targets) {
  auto answers = link_.control(targets, deadline_ms_);
  if (!answers || answers->size() != targets.size()) return;  // the request failed: no control for these
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t k = 0; k < indexes.size(); ++k) results_[indexes[k]] = std::move((*answers)[k]);
}

std::vector<std::optional<measure::ControlObservations>> ControlBatches::results() {
  if (gatherer_.joinable()) gatherer_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  return std::move(results_);
}

}  // namespace kuzet::probe::pipeline
