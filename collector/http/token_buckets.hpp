#pragma once
// Token buckets by key (a probe key, a source network, or one global key): `per_minute` tokens a
// minute, at most `burst` saved. Memory is bounded: past `max_keys` keys, full buckets are forgotten
// (a full bucket is what a new key gets anyway) and, if none is full, new keys are refused.
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>

namespace kuzet::collector::http {

class TokenBuckets {
 public:
  TokenBuckets(double per_minute, double burst, size_t max_keys = 100000);
  // Takes one token for `key`; false when its bucket is empty (rate limited).
  bool take(const std::string& key);
  // Gives back a token taken by take() (e.g. when a later, global check refused the request).
  void give_back(const std::string& key);

 private:
  struct Bucket {
    double tokens = 0;
    std::chrono::steady_clock::time_point refilled;
  };
  void refill(Bucket& b, std::chrono::steady_clock::time_point now) const;
  void forget_full(std::chrono::steady_clock::time_point now);

  double per_minute_;
  double burst_;
  size_t max_keys_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace kuzet::collector::http
