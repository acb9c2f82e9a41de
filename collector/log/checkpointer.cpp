#include "collector/log/checkpointer.hpp"

#include <chrono>
#include <cstdio>

#include "core/time.hpp"
#include "core/log.hpp"
#include "core/thread_name.hpp"

namespace kuzet::collector::log {

std::string check_extends(const tlog::Checkpoint& checkpoint, uint64_t stored_size, tlog::HashSource& hashes) {
  if (stored_size < checkpoint.size)
    return "the stored log has " + std::to_string(stored_size) + " entries, fewer than the " +
           std::to_string(checkpoint.size) + " of the last signed checkpoint (was the database rolled back or replaced?)";
  if (tlog::tree_hash(checkpoint.size, hashes) != checkpoint.root)
    return "the first " + std::to_string(checkpoint.size) +
           " stored entries do not hash to the last signed checkpoint's root (the stored log was rewritten)";
  return "";
}

Checkpointer::Checkpointer(Store& store, tlog::NoteSigner signer, std::chrono::milliseconds interval)
    : store_(store), signer_(std::move(signer)), verifier_(tlog::verifier_of(signer_)), interval_(interval),
      hashes_(store) {
  if (auto note = store_.latest_checkpoint()) {
    std::string error;
    auto checkpoint = tlog::open_checkpoint(*note, verifier_, &error);
    if (!checkpoint)
      throw LogStartError("the last signed checkpoint does not verify with the log key " +
                          tlog::verifier_key_text(verifier_) + ": " + error + " (wrong --log-key?)");
    if (auto why = check_extends(*checkpoint, store_.log_head().size, hashes_); !why.empty())
      throw LogStartError("refusing to start: " + why);
    latest_ = {*checkpoint, *note};
    have_latest_ = true;
  }
  sign_if_grown();
}

Checkpointer::~Checkpointer() { stop(); }

void Checkpointer::start() {
  thread_ = std::thread([this] {
    core::name_this_thread("log-checkpoint");
    while (!stop_.wait_for(interval_)) {
      try {
        sign_if_grown();
      } catch (const std::exception& e) {
        // Nothing is signed; the next round tries again, and /log/checkpoint keeps the last good one.
        core::log_at(core::LogLevel::error, "checkpoint not signed: %s", e.what());
      }
    }
  });
}

void Checkpointer::stop() {
  stop_.stop();
  if (thread_.joinable()) thread_.join();
}

bool Checkpointer::sign_if_grown() {
  std::lock_guard lock(sign_mutex_);
  const LogHead head = store_.log_head();
  const SignedCheckpoint previous = latest();
  if (have_latest_) {
    if (head.size == previous.checkpoint.size) return false;
    // Never sign a tree that does not extend the last signed one.
    const auto proof = tlog::prove_consistency(previous.checkpoint.size, head.size, hashes_);
    if (!tlog::verify_consistency(previous.checkpoint.size, head.size, previous.checkpoint.root, head.root, proof))
      throw std::runtime_error("the log at size " + std::to_string(head.size) +
                               " is not consistent with the last checkpoint (size " +
                               std::to_string(previous.checkpoint.size) + ")");
  }
  tlog::Checkpoint checkpoint;
  checkpoint.origin = signer_.name;
  checkpoint.size = head.size;
  checkpoint.root = head.root;
  const std::string note = tlog::sign_note(tlog::checkpoint_text(checkpoint), signer_);
  store_.add_checkpoint(checkpoint.size, note, core::to_unix_ms(std::chrono::system_clock::now()));
  std::lock_guard latest_lock(latest_mutex_);
  latest_ = {checkpoint, note};
  have_latest_ = true;
  return true;
}

SignedCheckpoint Checkpointer::latest() const {
  std::lock_guard lock(latest_mutex_);
  return latest_;
}

}  // namespace kuzet::collector::log
