#pragma once
// The summaries of the rows the store's writer committed last, kept in memory for the readers that follow
// every new row: the timeline feed and the exporter (SqliteStore::in_log_order) and the place index (by
// rowid). Each of them read every new row back from the file, a page or more per measurement through the
// log, while the writer had the values in hand a second earlier (docs/benchmarks.md, session 25).
//
// What it answers is what the store would: a row is added only once its transaction has committed, and rows
// are held only while both their rowids and their log indexes follow on without a gap. A gap (another process
// wrote to the file between two of our commits) drops what was held. The oldest rows are dropped past a byte
// budget, and rows are let go once older than their readers need them, so that a quiet collector holds little.
// A reader whose start is not held, or who reaches the end of what is held, reads the file from there.
// Envelopes are never kept.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/store/store.hpp"

namespace kuzet::collector::sqlite {

class RecentRows {
 public:
  // One committed row: its rowid in `measurements`, its log index (-1 when the store keeps no log), and its
  // columns (the envelope is not kept).
  struct Committed {
    int64_t rowid;
    int64_t log_index;
    const NewMeasurement* row;
  };
  // What the place index reads of a held row.
  struct PlaceView {
    int64_t rowid;
    std::string_view uid;
    int64_t started_at_ms;
    std::string_view cc;
    uint32_t asn;
    std::string_view target;
  };

  RecentRows(size_t byte_budget, std::chrono::milliseconds keep_for) : budget_(byte_budget), keep_for_(keep_for) {}

  // Rows of one committed transaction, in the order they were written. Never throws: out of memory, it
  // holds nothing, and readers read the file.
  void add_committed(const std::vector<Committed>& rows) noexcept;

  // Appends to `out` the held rows whose log index is in [begin, end), from `begin` on; none when `begin` is
  // not held. Returns how many.
  size_t by_log_index(uint64_t begin, uint64_t end, std::vector<NewMeasurement>& out);

  // Calls `each(PlaceView)` for the held rows whose rowid is in [begin, end), from `begin` on, under the
  // lock (keep it short); none when `begin` is not held. Returns how many.
  template <class F>
  size_t by_rowid(int64_t begin, int64_t end, F&& each) {
    std::lock_guard lock(mutex_);
    expire_locked();
    size_t n = 0;
    if (const auto at = begin < end ? position(begin, &Packed::rowid) : std::nullopt)
      for (size_t i = *at; i < rows_.size() && rows_[i].rowid < end; ++i, ++n) {
        const Packed& p = rows_[i];
        each(PlaceView{p.rowid, p.text(kUid), p.started_at_ms, p.text(kCc), p.asn, p.text(kTarget)});
      }
    served(n);
    return n;
  }

  // The oldest row held, by rowid and by log index (none when nothing is held, or, for the log index, when
  // the store keeps no log): a reader that is not there yet reads the file up to it.
  std::optional<int64_t> first_rowid();
  std::optional<int64_t> first_log_index();

  // Rows held now, and their bytes as counted against the budget (tests, benchmarks).
  size_t size() const;
  size_t bytes() const;

 private:
  enum Text : size_t { kUid, kSource, kContentHash, kKeyId, kCc, kTarget, kCategory, kVerdict, kMethod, kVantage, kNetworkCheck, kTexts };
  struct Packed {
    int64_t rowid = 0;
    int64_t log_index = -1;
    int64_t started_at_ms = 0;
    int64_t received_at_ms = 0;
    uint32_t asn = 0;
    bool decisive = false;
    std::chrono::steady_clock::time_point committed_at;
    std::array<uint32_t, kTexts> ends{};  // where each text ends in `texts`
    std::string texts;

    std::string_view text(Text t) const {
      const uint32_t from = t == 0 ? 0 : ends[t - 1];
      return std::string_view(texts).substr(from, ends[t] - from);
    }
    size_t cost() const { return sizeof(Packed) + texts.capacity(); }
  };
  static Packed pack(const Committed& c, std::chrono::steady_clock::time_point now);
  static NewMeasurement unpack(const Packed& p);
  // Where the row whose `field` (rowid or log_index; both follow on) is `key` stands in rows_, if held;
  // a read whose start was dropped counts as a miss. Under the lock.
  std::optional<size_t> position(int64_t key, int64_t Packed::*field) const;
  static void served(size_t rows);  // counts rows taken from memory
  void drop_front();                // under the lock
  void drop_all() noexcept;         // under the lock
  void expire_locked();             // lets go of rows older than keep_for_

  mutable std::mutex mutex_;
  std::deque<Packed> rows_;
  size_t bytes_ = 0;
  size_t budget_;
  std::chrono::milliseconds keep_for_;
};

// Counters over the process's lifetime, for tests and benchmarks.
struct RecentRowsStats {
  uint64_t served = 0;  // rows a reader took from memory
  uint64_t misses = 0;  // reads that started before the oldest row held (they read the file)
  uint64_t dropped = 0;  // rows let go for the budget or at a gap
};
RecentRowsStats recent_rows_stats();

}  // namespace kuzet::collector::sqlite
