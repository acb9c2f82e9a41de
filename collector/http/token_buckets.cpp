#include "collector/http/token_buckets.hpp"

#include <algorithm>

namespace kuzet::collector::http {

TokenBuckets::TokenBuckets(double per_minute, double burst, size_t max_keys)
    : per_minute_(std::max(0.0, per_minute)), burst_(std::max(1.0, burst)), max_keys_(std::max<size_t>(1, max_keys)) {}

void TokenBuckets::refill(Bucket& b, std::chrono::steady_clock::time_point now) const {
  const double minutes = std::chrono::duration<double>(now - b.refilled).count() / 60.0;
  b.tokens = std::min(burst_, b.tokens + minutes * per_minute_);
  b.refilled = now;
}

void TokenBuckets::forget_full(std::chrono::steady_clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
  }
}

bool TokenBuckets::take(const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) forget_full(now);
    if (buckets_.size() >= max_keys_) return false;
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  refill(it->second, now);
  if (it->second.tokens < 1.0) return false;
  it->second.tokens -= 1.0;
  return true;
}

void TokenBuckets::give_back(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = buckets_.find(key); it != buckets_.end()) it->second.tokens = std::min(burst_, it->second.tokens + 1.0);
}

}  // namespace kuzet::collector::http
