#pragma once
// `kuzet-collector migrate --from FILE.db --to postgresql://…` (docs/deployment.md): copies a store into
// another, in log order, so the copy's transparency log is the same tree (same entries, same root) and the
// signed checkpoints stay valid. Every envelope is checked before it is written: its hash, and for Kuzet's
// own measurements the signature by the registered key and the stored uid, key and time. A copy that
// stopped half-way resumes: what the target already holds must be the source's first entries.
#include <cstdint>
#include <functional>
#include <string>

#include "collector/store/store.hpp"

namespace kuzet::collector {

struct CopyReport {
  std::string error;  // "" = the copy is complete and its log head equals the source's
  uint64_t keys = 0;
  uint64_t already = 0;  // entries the target had (a resumed copy)
  uint64_t copied = 0;
  bool checkpoint = false;  // the latest signed checkpoint was copied
};

// progress(copied so far, total) after each batch; may be empty.
CopyReport copy_store(Store& from, Store& to, const std::function<void(uint64_t, uint64_t)>& progress = {});

struct MigrateOptions;
// The command: prints progress and a summary; 0 on success, 1 when a check failed, 2 on usage/startup.
int migrate_command(const MigrateOptions& options);

}  // namespace kuzet::collector
