#pragma once
// Signs C2SP checkpoints of the collector's log: whenever the tree grew, at most once per interval, and
// never one that does not extend the last (checked with a consistency proof before every signature and
// against the stored tree at start).
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "collector/store/store.hpp"
#include "core/stop_signal.hpp"
#include "tlog/merkle.hpp"
#include "tlog/note.hpp"

namespace kuzet::collector::log {

// The stored log does not extend the last signed checkpoint, or that checkpoint does not verify with the
// log key: starting would sign a second history.
struct LogStartError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A Store's log hashes as a tlog::HashSource.
class StoreHashes : public tlog::HashSource {
 public:
  explicit StoreHashes(Store& store) : store_(store) {}
  std::vector<tlog::Hash> read(const std::vector<tlog::Subtree>& subtrees) override {
    return store_.log_hashes(subtrees);
  }

 private:
  Store& store_;
};

struct SignedCheckpoint {
  tlog::Checkpoint checkpoint;
  std::string note;  // the signed note, as served at /log/checkpoint
};

// "" when the stored tree (head size, hashes) extends `checkpoint`; else why not.
std::string check_extends(const tlog::Checkpoint& checkpoint, uint64_t stored_size, tlog::HashSource& hashes);

class Checkpointer {
 public:
  // Checks the stored log against the last signed checkpoint (throws LogStartError), then signs one if
  // there is none yet or the log grew while the collector was down.
  Checkpointer(Store& store, tlog::NoteSigner signer, std::chrono::milliseconds interval);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // A thread that calls sign_if_grown() once per interval until stop().
  void start();
  void stop();

  // Signs and stores a checkpoint of the committed log if it grew since the last one. true when it did.
  // Throws (and signs nothing) if the new tree is not consistent with the last checkpoint.
  bool sign_if_grown();

  SignedCheckpoint latest() const;
  const tlog::NoteVerifier& verifier() const { return verifier_; }
  std::chrono::milliseconds interval() const { return interval_; }

 private:
  Store& store_;
  tlog::NoteSigner signer_;
  tlog::NoteVerifier verifier_;
  std::chrono::milliseconds interval_;
  StoreHashes hashes_;
  std::mutex sign_mutex_;
  mutable std::mutex latest_mutex_;
  SignedCheckpoint latest_;
  bool have_latest_ = false;
  core::StopSignal stop_;
  std::thread thread_;
};

}  // namespace kuzet::collector::log
