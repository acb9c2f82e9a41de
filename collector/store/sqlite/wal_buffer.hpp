#pragma once
// A SQLite VFS over the default one that gathers a connection's appends to its write-ahead log and writes
// them a few hundred frames at a time. SQLite writes each WAL frame as two pwrite calls (its 24-byte header,
// then the page): ~2,000 calls for a group commit of 500 measurements, all inside the store's serial commit
// (docs/benchmarks.md, "Collector ingest: WAL appends in one write"). Durability is unchanged: the buffer is
// written before every sync of the log, before any read that reaches into it, and before the connection
// publishes a commit to other connections (the barrier between the wal-index header's two copies), so no
// reader, in this process or another, is told of a frame that is not in the file yet. A checkpoint's reads
// of the log are served from reads of 124 KiB, not one frame each, and its writes of pages that follow on
// go to the database in one write per 124 KiB; if the last of those fails, the process stops (docs/collector.md,
// Storage).
#include <cstdint>

namespace kuzet::collector::sqlite {

// The VFS's name, for sqlite3_open_v2. Registering is idempotent and thread-safe; the default VFS is unchanged.
const char* wal_buffer_vfs();

// Counters over the process's lifetime, for tests and benchmarks.
struct WalBufferStats {
  uint64_t appends = 0;       // WAL writes taken into a buffer
  uint64_t flushes = 0;       // writes of (a piece of) a buffer to the file
  uint64_t direct_writes = 0;  // WAL writes that went straight to the file
  uint64_t checkpoint_reads = 0;  // a checkpoint's reads of the log, served from what was read ahead
  uint64_t checkpoint_fills = 0;  // reads of the log ahead of a checkpoint
  uint64_t checkpoint_pages = 0;  // pages a checkpoint wrote into a database, gathered in runs
  uint64_t checkpoint_writes = 0;  // writes of those runs to the file
};
WalBufferStats wal_buffer_stats();

}  // namespace kuzet::collector::sqlite
