#pragma once
// TimelineIndex: per-bin aggregates kept next to the collector's measurements, in the same SQLite file.
// An indexer applies newly stored measurements (by rowid, past a watermark kept in timeline_meta) in
// batches: in a background thread every catch_up_interval, and before every query, so an answer includes
// every measurement stored before it was asked. Batches cost ~6x less than maintaining the index inside
// each upload's transaction (docs/timelines.md); an upload at most waits for one batch's writer lock
// (~0.1 s). A duplicate upload stores nothing and so changes nothing; a result uploaded days late lands
// in its bin. Tables:
//   timeline_probe_bins: per (cc, asn, target, base bin, probe) the probe's latest measurement there;
//   timeline_bins:       per (cc, asn, target, base bin, verdict, method) how many probes are in that state
//                        (kept from timeline_probe_bins by SQLite triggers);
//   (each probe row also keeps its measurement's supporting vantage tag and decisive flag, for incidents,
//   and its source, "kuzet" or "ooni");
//   timeline_series(_sources): each series' first and last bin (per source);
//   and both again with suffix _coarse, for bins of kCoarseFactor base bins.
// Queries at a level's bin read its aggregates; other multiples reduce the per-probe rows of the coarsest
// level that tiles them, which gives exactly what the engine gives over the raw measurements (a probe's
// latest in a coarse bin is the latest of its latest in each finer bin). tests/timeline checks it.
// A query for one source (source=kuzet|ooni) reads the aggregates when the series has no other source;
// otherwise it reduces the per-probe rows of that source: a probe is of one source (imported OONI rows have
// their own "ooni:<report>" keys), so its rows are whole. The aggregates count every source.
// Assumes measurements are never deleted (rowids only grow): collector::Store has no delete.
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "collector/store/store.hpp"
#include "collector/timeline/incidents.hpp"
#include "collector/timeline/source.hpp"
#include "collector/timeline/timeline.hpp"
#include "core/stop_signal.hpp"

namespace kuzet::collector::sqlite {
class WriteGate;
}

namespace kuzet::timeline {

// The index keeps a second, coarse level of kCoarseFactor base bins (1 hour with the default 10 minutes):
// month-long views read its aggregates, or ~6x fewer per-probe rows.
inline constexpr int64_t kCoarseFactor = 6;

class TimelineIndex : public TimelineSource {
 public:
  // Opens its own connection to the collector's database file, creates the aggregate tables and triggers
  // when missing and fills them from the measurements already stored (once; rebuilt if base_bin_ms
  // changed). Throws std::runtime_error on storage errors (startup).
  // catch_up_interval 0: no background thread (queries and catch_up() still apply new measurements). The
  // thread takes the process's background turn (core::background_turn) for each batch; queries do not.
  // feed: when set, db_path is the index's own file, and the measurements come from the feed in log order
  // (Store::in_log_order), applied in batches in the transactions that move its watermark there. The log
  // order is the commit order on every engine, so a watermark never skips a row another collector process
  // committed later with an earlier position.
  explicit TimelineIndex(const std::string& db_path, int64_t base_bin_ms = kDefaultBinMs,
                         std::chrono::milliseconds catch_up_interval = std::chrono::seconds(1),
                         collector::Store* feed = nullptr);
  ~TimelineIndex() override;
  TimelineIndex(const TimelineIndex&) = delete;
  TimelineIndex& operator=(const TimelineIndex&) = delete;

  int64_t base_bin_ms() const override { return base_bin_ms_; }

  // Removes an index kept inside the store's database file, if there is one (the default before the index
  // had a file of its own), so that the store does not carry a stale copy. Throws std::runtime_error.
  static void drop_from(const std::string& db_path);

  // Applies every measurement stored so far (the background thread does this on its own). Throws
  // std::runtime_error on storage errors.
  void catch_up();

  // TimelineSource: every read first applies what was stored since the last catch-up.
  std::vector<SeriesInfo> series_list(const TimelineQuery& query) override;
  Series series(const SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms,
                const std::string& source = "") override;
  std::vector<VantageSample> vantage_samples(const SeriesKey& key, int64_t from_ms, int64_t until_ms,
                                             const std::optional<std::string>& verdict,
                                             const std::string& source) override;
  int64_t data_end_ms(const std::string& source) override;

 protected:
  // incidents(): its reads under the connection's lock, caught up once.
  void consistent_reads(const std::function<void()>& reads) override;

 private:
  std::vector<SeriesInfo> series_list_locked(const TimelineQuery& query);
  Series series_locked(const SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms,
                       const std::string& source);
  // At most `batches` transactions; true when more may wait.
  bool catch_up_locked(size_t batches = SIZE_MAX);
  // Applies what the feed logged since the last pull (nothing without a feed), at most `batches` batches
  // (counted down); true when more may wait.
  bool pull_feed_locked(size_t& batches);
  void catch_up_before_query_locked();
  // A read's start: caught up unless inside consistent_reads (which did it once).
  void before_read_locked();
  void run_indexer(std::chrono::milliseconds interval);
  // Whether a source other than `source` has rows in the series (then its aggregates mix sources).
  bool series_has_other_source_locked(const SeriesKey& key, const std::string& source);
  void stream_bins_locked(const std::string& level, const SeriesKey& key, int64_t first, int64_t end,
                          int64_t bin_ms, const std::string& source, Series& s);

  int64_t base_bin_ms_;
  collector::Store* feed_ = nullptr;
  sqlite3* db_ = nullptr;
  // The connection: queries and catch-ups. Recursive: incidents() holds it over the reads it makes.
  std::recursive_mutex mutex_;
  bool in_consistent_reads_ = false;  // only read and written by the thread holding mutex_

  // Rows per catch-up transaction. In the store's own file the store's commits wait while one runs (the
  // file's write gate), so it is kept short (~10-25 ms of the writer lock on 2 idle cores). A fed index has
  // its file to itself: a larger transaction rewrites each series' leaves once per 20,000 rows instead of
  // once per 1,000 (under a third of their CPU in docs/benchmarks.md), and holds up only its own queries.
  static constexpr int64_t kSharedFileBatchRows = 1000, kOwnFileBatchRows = 20000;
  int64_t batch_rows() const { return feed_ ? kOwnFileBatchRows : kSharedFileBatchRows; }
  collector::sqlite::WriteGate* gate_ = nullptr;  // the database file's write gate (sqlite::write_gate)
  core::StopSignal stop_;
  std::thread indexer_;
};

}  // namespace kuzet::timeline
