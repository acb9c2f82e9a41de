#pragma once
// `kuzet-probe export [--config FILE] [--since T] [--until T] FILE`: the queued (not yet acknowledged)
// results whose started_at lies in [since, until), as a bundle someone can carry out on a USB stick.
//
// Bundle format (JSON Lines, what `kuzet-collector import` reads): first one key statement per network
// key used, {"public_key", "registered_at", "signature"} — the same self-signed statement as
// POST /api/v1/probes/register — then the signed envelopes, one per line. Every envelope carries its
// own Ed25519 signature, so the bundle needs no trust in whoever carried it: import checks each one
// exactly like an upload. Results stay queued; the daemon still uploads them when the network returns
// (duplicates are harmless).
#include <cstdint>
#include <optional>
#include <string>

#include "core/time.hpp"
#include "probe/identity/identity.hpp"

namespace kuzet::probe::daemon {

struct ExportOptions {
  std::string queue_dir;
  std::optional<core::SystemTime> since, until;
  std::string out_path;
};

struct ExportResult {
  uint64_t exported = 0;
  uint64_t keys = 0;
  uint64_t skipped = 0;  // outside the time range, or unreadable
  std::string error;     // "" on success; the file is written atomically, so an error leaves none
};

ExportResult export_bundle(const ExportOptions& options, const identity::Identity& identity);

int export_command(int argc, char** argv);

}  // namespace kuzet::probe::daemon
