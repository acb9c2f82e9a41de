#pragma once
// A replayed January 2022 dataset in a fresh collector database, ingested through the normal checks.
#include <filesystem>
#include <string>

#include "collector/ingest/ingest.hpp"
#include "collector/metrics.hpp"
#include "collector/store/store.hpp"
#include "collector/timeline/index.hpp"
#include "collector/replay/replay.hpp"
#include "core/crypto/crypto.hpp"
#include "tests/collector/support/test_db.hpp"

namespace kuzet::timeline::testing {

// The smaller configuration of the generator that tests use: 40 probes over 10 days from 2 Jan.
inline replay::ReplayConfig test_config() {
  replay::ReplayConfig c;
  c.probes = 40;
  c.start_ms = 1641081600000;  // 2022-01-02T00:00:00Z
  c.days = 10;
  return c;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("kuzet-timeline-" + core::random_hex(6));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// The store and index a timeline test runs on, as `kuzet-collector serve` runs them: SQLite with the index in
// the same file; or (KUZET_TEST_DB) a PostgreSQL store whose index is fed from it into a local file.
struct IndexedStore {
  collector::testing::TestDb db;
  std::unique_ptr<collector::Store> store;
  TimelineIndex index;
  explicit IndexedStore(const TempDir& dir)
      : db((dir.path / "collector.db").string()),
        store(collector::open_store(db.location())),
        index(db.postgres() ? (dir.path / "timelines.db").string() : db.location(), kDefaultBinMs,
              std::chrono::seconds(1), db.postgres() ? store.get() : nullptr) {}
};

// Registers the keys and ingests envelopes [begin, end) of the replay, in arrival order. Returns stored count.
inline size_t ingest(collector::Store& store, const replay::Replay& replay, size_t begin, size_t end) {
  for (const auto& k : replay.keys) store.register_key({k.key_id, k.public_key, 0});
  collector::Metrics metrics;
  collector::ingest::Ingestor ingestor(store, metrics, collector::ingest::IngestOptions{});
  size_t stored = 0;
  for (size_t i = begin; i < end; i += 1000) {
    std::vector<std::string_view> batch;
    std::vector<collector::vantage::UploadSource> sources;  // each synthetic probe its own vantage point
    for (size_t j = i; j < std::min(end, i + 1000); ++j) {
      batch.push_back(replay.envelopes[j]);
      sources.push_back(replay.sources[j]);
    }
    for (const auto& item : ingestor.ingest_envelopes(batch, sources).items)
      if (item.status == collector::ingest::ItemStatus::stored) ++stored;
  }
  return stored;
}

}  // namespace kuzet::timeline::testing
