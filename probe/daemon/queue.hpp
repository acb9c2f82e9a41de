#pragma once
// The daemon's durable upload queue: signed envelopes wait on disk until a collector acknowledges them.
//
// Layout of <dir> (docs/daemon.md):
//   seg-<16-digit sequence>.jsonl  append-only segments; one record per line: "<crc32 8 hex> <json>\n"
//   cursor                         "<sequence> <offset>\n": everything before it is acknowledged
//   lock                           flock()ed by the one process that owns the queue
// Every append is fdatasync'ed before append() returns, and new/removed files are made durable with an
// fsync of the directory, so an appended record survives kill -9 and power loss. A torn or corrupt line
// (power loss mid-write) fails its checksum and is skipped when read. Acknowledged records may be sent
// again after a crash (the cursor is saved after the collector answers); ingestion is idempotent.
// The queue never drops what it holds: when full, new records are refused (counted in refused_full).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace kuzet::probe::daemon {

struct QueueOptions {
  std::string dir;
  uint64_t max_bytes = 64ull * 1024 * 1024;  // bytes of segment files on disk, acknowledged parts included
  uint64_t segment_max_bytes = 1 << 20;      // a segment is closed for appends beyond this size
};

// One queued record, and where it ends (what acknowledge() takes).
struct QueueEntry {
  uint64_t segment = 0;
  uint64_t end = 0;     // offset just past its line
  std::string payload;  // the JSON text (one line, no newline)
};

struct QueueStats {
  uint64_t records = 0;        // waiting for acknowledgement
  uint64_t bytes = 0;          // on disk
  uint64_t segments = 0;
  uint64_t corrupt_lines = 0;  // skipped when read (torn writes); since open
  uint64_t refused_full = 0;   // records refused because the queue was full; since open
  std::string full_since;      // RFC 3339 time of the first refusal since the queue last had room, else ""
};

struct AppendResult {
  size_t appended = 0;      // the first `appended` payloads are durable
  size_t refused_full = 0;  // the rest, refused because the queue is full
  std::string error;        // I/O failure ("" when none): the rest were not written
};

// CRC-32 (IEEE), as used in the line framing.
uint32_t crc32(const std::string& data);
// "<crc32 hex> <payload>\n"; payload must not contain '\n'.
std::string frame_line(const std::string& payload);
// The payload of a framed line (without its '\n'), or nullopt when the checksum or framing is wrong.
std::optional<std::string> unframe_line(const std::string& line);

class DiskQueue {
 public:
  // Creates the directory (0700) if needed, takes the lock and scans the segments. Throws
  // std::runtime_error when the directory is unusable or another process holds the lock.
  explicit DiskQueue(QueueOptions options);
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;
  ~DiskQueue();

  // Appends in order and fsyncs once. Payloads with a newline are re-serialised by the caller, not here.
  AppendResult append(const std::vector<std::string>& payloads);
  // The oldest unacknowledged records, at most max_records and (beyond the first) max_bytes of payload.
  std::vector<QueueEntry> peek(size_t max_records, size_t max_bytes);
  // Everything up to and including `last` is acknowledged: persists the cursor, deletes finished segments.
  // Returns "" or the I/O failure.
  std::string acknowledge(const QueueEntry& last);

  QueueStats stats() const;
  const QueueOptions& options() const { return options_; }

 private:
  struct Segment {
    uint64_t sequence = 0;
    uint64_t size = 0;
    uint64_t records = 0;  // unacknowledged
  };
  std::string segment_path(uint64_t sequence) const;
  std::string save_cursor();
  void close_active();

  QueueOptions options_;
  int lock_fd_ = -1;
  int active_fd_ = -1;              // segment open for appends, -1 when none
  uint64_t active_sequence_ = 0;
  std::vector<Segment> segments_;   // ascending sequence
  uint64_t cursor_segment_ = 0, cursor_offset_ = 0;
  QueueStats stats_;
};

// Calls fn(payload) for every unacknowledged record in a queue directory, oldest first, without taking
// the lock (for `kuzet-probe export` while the daemon runs). Returns the number of corrupt lines skipped.
uint64_t scan_queue(const std::string& dir, const std::function<void(const std::string& payload)>& fn);

// Appends {"reason":..., "at":..., "envelope": <payload>} to <dir>/rejected.jsonl and fsyncs: a record
// the collector refused is set aside for a human, never silently dropped. Returns "" or the failure.
std::string keep_rejected(const std::string& dir, const std::string& payload, const std::string& reason);

}  // namespace kuzet::probe::daemon
