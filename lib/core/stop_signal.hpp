#pragma once
// A stop request that a background thread waits on between rounds of its work: the owner's destructor calls
// stop() and joins, and the thread wakes at once instead of sleeping out its interval.
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace kuzet::core {

class StopSignal {
 public:
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_ = true;
    }
    wake_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mutex_);
    return stopped_;
  }
  // Waits up to `interval`; true when stop() was called (before or meanwhile).
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> interval) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, interval, [this] { return stopped_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopped_ = false;
};

}  // namespace kuzet::core
