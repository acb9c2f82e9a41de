#pragma once
// The upload path shared by POST /api/v1/measurements, `kuzet-collector import` and the benchmark:
// split the body, check every envelope (in parallel), write the good ones in one transaction.
#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/metrics.hpp"
#include "collector/store/store.hpp"
#include "collector/ingest/upload.hpp"
#include "collector/vantage/vantage.hpp"

namespace kuzet::collector::ingest {

enum class ItemStatus { stored, duplicate, rejected };

struct ItemOutcome {
  std::string measurement_uid;  // "" when the envelope named none
  ItemStatus status = ItemStatus::rejected;
  std::string reason;  // set when rejected
  std::optional<uint64_t> log_index;  // stored or duplicate: its entry in the transparency log
};

struct UploadOutcome {
  int http_status = 200;
  std::string error;  // whole-answer reason when http_status is not 200/207
  std::string detail;
  std::vector<ItemOutcome> items;
};

// Answer body of docs/protocol.md: {"results": [...], "stored": n, "duplicate": n, "rejected": n}
// plus "error"/"detail" when the status is an error.
std::string upload_answer_json(const UploadOutcome& outcome);

struct IngestOptions {
  size_t max_items = 1000;
  int64_t max_future_ms = kMaxFutureMs;
  int64_t max_backfill_ms = kMaxBackfillMs;
  unsigned workers = 0;  // threads that parse and verify one batch; 0 = hardware concurrency
  bool phase_timings = false;  // keep timings(): the benchmark's; CPU clock reads on every envelope
};

// Cumulative time per phase (ms), for the benchmark; zeros unless IngestOptions::phase_timings. Parse (split +
// JSON + field checks) and verify are CPU time summed over the checking threads; store is the wall and CPU
// time of the transaction.
struct IngestTimings {
  double parse_ms = 0, verify_ms = 0, store_ms = 0, store_cpu_ms = 0;
};

class Ingestor {
 public:
  Ingestor(Store& store, Metrics& metrics, IngestOptions options);

  // A whole upload body, from `source` (its tag and network are stored with every measurement). The outcome
  // is final: stored items are committed before this returns.
  UploadOutcome ingest_body(std::string_view body, const vantage::UploadSource& source = {});
  // Envelopes one by one (import of JSON Lines); a line that is not JSON is a malformed item. `sources` is
  // parallel to `envelopes` (the replay generator's probes), or empty: no source known (an import).
  UploadOutcome ingest_envelopes(const std::vector<std::string_view>& envelopes,
                                 const std::vector<vantage::UploadSource>& sources = {});

  IngestTimings timings() const;

 private:
  UploadOutcome ingest(const std::vector<std::string_view>& envelopes, bool whole_body,
                       const std::function<const vantage::UploadSource&(size_t)>& source_of);

  Store& store_;
  Metrics& metrics_;
  IngestOptions options_;
  std::atomic<uint64_t> parse_us_{0}, verify_us_{0}, store_us_{0}, store_cpu_us_{0};
};

}  // namespace kuzet::collector::ingest
