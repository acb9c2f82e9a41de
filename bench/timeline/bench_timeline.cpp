// Timeline benchmark: fills a collector database with a month of measurements from many probes (rows
// inserted through collector::Store::insert_batch, as ingest does after its checks; envelopes are small
// placeholders because timelines never read them), then times timeline and incident queries (p50/p95),
// the store's insert cost with and without the timeline index, and the index's batched catch-up.
// Prints figures; not a test.
//   bench_timeline [--probes N] [--days N] [--targets N] [--round-minutes N] [--queries N] [--db FILE]
//                  [--sample 0|1]   (--db FILE keeps the dataset and reuses it when it exists)
#include <time.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "collector/store/store.hpp"
#include "collector/timeline/api/api.hpp"
#include "collector/timeline/index.hpp"

using namespace kuzet;
using namespace kuzet::timeline;
using namespace kuzet::timeline::api;

namespace {

constexpr int64_t kHour = 60 * kMinuteMs, kDay = 24 * kHour;
constexpr int64_t kStart = 1640995200000;  // 2022-01-01
constexpr int kNetworks = 10;

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}
double wall_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Config {
  int probes = 100;
  int days = 30;
  int targets = 8;
  int64_t round_ms = 35 * kMinuteMs;
  int queries = 200;
  std::string db;
  bool sample = true;  // --sample 0 skips the with/without-triggers store comparison
};

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Rows of one probe round, in time order. Each network has a 12-hour shutdown and each target a 2-day
// block on a few networks, at different times; 1 % noise.
void round_rows(const Config& c, int probe, int64_t round, std::vector<collector::NewMeasurement>* out, uint64_t* seq) {
  const uint32_t asn = 1000 + static_cast<uint32_t>(probe % kNetworks);
  const int64_t spacing = c.round_ms / c.targets;
  for (int t = 0; t < c.targets; ++t) {
    const int64_t at = round + t * spacing;
    if (at < kStart || at >= kStart + c.days * kDay) continue;
    const uint64_t r = mix(++*seq * 0x9e3779b97f4a7c15ULL);
    const int64_t day = (at - kStart) / kDay;
    const int64_t shutdown_day = 3 + (asn % 7) * 4;
    const bool cut = day == shutdown_day && (at - kStart) % kDay >= 6 * kHour && (at - kStart) % kDay < 18 * kHour;
    if (cut && r % 10 < 4) continue;  // silent probes
    collector::NewMeasurement m;
    char uid[64];
    std::snprintf(uid, sizeof uid, "%lld_%016llx", static_cast<long long>(at), static_cast<unsigned long long>(r));
    m.uid = uid;
    m.envelope = "{}";
    m.content_hash = "-";
    m.key_id = "probe" + std::to_string(probe);
    m.started_at_ms = at;
    m.received_at_ms = at + kMinuteMs;
    m.cc = "KZ";
    m.asn = asn;
    m.target = "target" + std::to_string(t) + ".example";
    m.category = t < 3 ? "messaging" : "news";
    m.verdict = "ok";
    const bool blocked_here = (asn + t) % 3 == 0 && day >= (t * 3) % c.days && day < (t * 3) % c.days + 2;
    if (cut) m.verdict = "offline";
    else if (blocked_here) m.verdict = "blocked", m.method = "tls.timeout";
    if (!cut && (r >> 20) % 100 == 0) m.verdict = "inconclusive", m.method = "";
    out->push_back(std::move(m));
  }
}

// Inserts the dataset in batches of 500; returns store CPU ms per 1000 rows over the first `sample` rows.
struct Fill {
  size_t rows = 0;
  double wall_ms = 0, cpu_ms = 0;
};
Fill fill(collector::Store& store, const Config& c, size_t limit) {
  Fill f;
  uint64_t seq = 0;
  std::vector<collector::NewMeasurement> batch;
  const double w0 = wall_ms(), c0 = cpu_ms();
  // Probes report round by round, all probes interleaved, as a live collector would receive them.
  for (int64_t round = kStart - 2 * kHour; round < kStart + c.days * kDay && f.rows < limit; round += c.round_ms) {
    for (int p = 0; p < c.probes && f.rows < limit; ++p) {
      const int64_t phase = static_cast<int64_t>(mix(static_cast<uint64_t>(p) + 1) % static_cast<uint64_t>(c.round_ms));
      size_t before = batch.size();
      round_rows(c, p, round + phase, &batch, &seq);
      f.rows += batch.size() - before;
      if (batch.size() >= 500) {
        store.insert_batch(batch);
        batch.clear();
      }
    }
  }
  if (!batch.empty()) store.insert_batch(batch);
  f.wall_ms = wall_ms() - w0;
  f.cpu_ms = cpu_ms() - c0;
  return f;
}

void report(const char* name, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))]; };
  std::printf("  %-58s p50 %7.2f ms   p95 %7.2f ms   max %7.2f ms\n", name, pct(0.5), pct(0.95), ms.back());
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    long long v = std::atoll(argv[i + 1]);
    if (a == "--probes") c.probes = static_cast<int>(v);
    else if (a == "--days") c.days = static_cast<int>(v);
    else if (a == "--targets") c.targets = static_cast<int>(v);
    else if (a == "--round-minutes") c.round_ms = v * kMinuteMs;
    else if (a == "--queries") c.queries = static_cast<int>(v);
    else if (a == "--db") c.db = argv[i + 1];
    else if (a == "--sample") c.sample = v != 0;
    else return std::fprintf(stderr, "unknown option %s\n", a.c_str()), 2;
  }
  const auto dir = std::filesystem::temp_directory_path() / ("kuzet-bench-timeline-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const bool keep = !c.db.empty();
  if (!keep) c.db = (dir / "bench.db").string();
  std::printf("dataset: %d probes on %d networks, %d targets, a round every %lld min, %d days\n", c.probes,
              kNetworks, c.targets, static_cast<long long>(c.round_ms / kMinuteMs), c.days);

  // 1. Store cost with and without the timeline triggers, on the same first 100,000 rows.
  const size_t sample = 100000;
  if (c.sample) {
    auto plain = collector::open_sqlite_store((dir / "plain.db").string());
    auto without = fill(*plain, c, sample);
    auto indexed_store = collector::open_sqlite_store((dir / "indexed.db").string());
    // The index in its own file, fed from the store, as kuzet-collector serve keeps it.
    TimelineIndex idx((dir / "indexed.db.timelines").string(), kDefaultBinMs, std::chrono::milliseconds(0),
                      indexed_store.get());
    auto with = fill(*indexed_store, c, sample);
    const double cw = wall_ms(), cc = cpu_ms();
    idx.catch_up();
    const double catch_wall = wall_ms() - cw, catch_cpu = cpu_ms() - cc;
    std::printf("store (insert_batch of 500, synchronous=FULL), %zu rows:\n", without.rows);
    std::printf("  without a timeline index:   %6.1f us CPU/row, %8.0f rows/s wall\n", 1000 * without.cpu_ms / without.rows,
                without.rows / (without.wall_ms / 1000));
    std::printf("  with the index present:     %6.1f us CPU/row, %8.0f rows/s wall\n", 1000 * with.cpu_ms / with.rows,
                with.rows / (with.wall_ms / 1000));
    std::printf("  index catch-up, batched:    %6.1f us CPU/row, %8.0f rows/s wall\n", 1000 * catch_cpu / with.rows,
                with.rows / (catch_wall / 1000));
  }
  std::filesystem::remove(dir / "plain.db");
  std::filesystem::remove(dir / "indexed.db");
  std::filesystem::remove(dir / "indexed.db.timelines");

  // 2. The full dataset, index maintained during the fill.
  bool existing = keep && std::filesystem::exists(c.db);
  auto store = collector::open_sqlite_store(c.db);
  double w0 = wall_ms();
  TimelineIndex index(c.db + ".timelines", kDefaultBinMs, std::chrono::seconds(1), store.get());
  if (existing) std::printf("reusing %s (index opened in %.0f ms)\n", c.db.c_str(), wall_ms() - w0);
  else {
    auto f = fill(*store, c, SIZE_MAX);
    const double cw = wall_ms();
    index.catch_up();  // what the background indexer had not applied yet
    std::printf("filled %zu measurements in %.0f s wall (%.1f us CPU/row, index included; last catch-up %.0f ms)\n",
                f.rows, f.wall_ms / 1000, 1000 * f.cpu_ms / f.rows, wall_ms() - cw);
  }
  std::printf("measurements: %llu; database %.0f MB, timeline index %.0f MB\n",
              static_cast<unsigned long long>(store->measurement_count()), std::filesystem::file_size(c.db) / 1e6,
              std::filesystem::file_size(c.db + ".timelines") / 1e6);

  // 3. Queries over the whole period, on random networks and targets.
  const int64_t from = kStart, until = kStart + c.days * kDay;
  std::vector<double> fast, fast_json, hourly, network, inc_target, inc_network, by_source, hourly_source,
      inc_source, half_hourly, daily;
  uint64_t seq = 7;
  IncidentOptions io;
  size_t incidents_seen = 0;
  for (int q = 0; q < c.queries; ++q) {
    const uint64_t r = mix(++seq);
    const uint32_t asn = 1000 + static_cast<uint32_t>(r % kNetworks);
    const SeriesKey key{"KZ", asn, "target" + std::to_string((r >> 8) % static_cast<uint64_t>(c.targets)) + ".example"};
    double t = wall_ms();
    auto s = index.series(key, from, until, index.base_bin_ms());
    fast.push_back(wall_ms() - t);
    t = wall_ms();
    auto s2 = index.series(key, from, until, index.base_bin_ms());
    std::string body;
    append_series_json(body, s2);
    fast_json.push_back(wall_ms() - t);
    t = wall_ms();
    index.series({"KZ", asn, kNetworkTarget}, from, until, index.base_bin_ms());
    network.push_back(wall_ms() - t);
    if (q % 4 == 0) {
      t = wall_ms();
      index.series(key, from, until, 60 * kMinuteMs);
      hourly.push_back(wall_ms() - t);
      // Bins the aggregates do not hold: each probe's rows, base level (30 min) and coarse level (1 day).
      t = wall_ms();
      index.series(key, from, until, 30 * kMinuteMs);
      half_hourly.push_back(wall_ms() - t);
      t = wall_ms();
      index.series(key, from, until, 24 * 60 * kMinuteMs);
      daily.push_back(wall_ms() - t);
    }
    // source= (every row here is a Kuzet probe's): series of one source read the aggregates after a check.
    t = wall_ms();
    index.series(key, from, until, index.base_bin_ms(), collector::kSourceKuzet);
    by_source.push_back(wall_ms() - t);
    if (q % 4 == 0) {
      t = wall_ms();
      index.series(key, from, until, 60 * kMinuteMs, collector::kSourceKuzet);
      hourly_source.push_back(wall_ms() - t);
    }
    TimelineQuery tq;
    tq.cc = "KZ";
    tq.asn = asn;
    tq.target = key.target;
    tq.from_ms = from;
    tq.until_ms = until;
    t = wall_ms();
    incidents_seen += index.incidents(tq, io).size();
    inc_target.push_back(wall_ms() - t);
    tq.source = collector::kSourceKuzet;
    t = wall_ms();
    index.incidents(tq, io);
    inc_source.push_back(wall_ms() - t);
    tq.source.clear();
    tq.target.clear();
    t = wall_ms();
    index.incidents(tq, io);
    inc_network.push_back(wall_ms() - t);
  }
  std::printf("queries over %d days (%d queries each, wall time, loaded machine):\n", c.days, c.queries);
  report("timeline, one target, 10-min bins (aggregate table)", fast);
  report("  same + JSON rendering", fast_json);
  report("timeline, network connectivity, 10-min bins", network);
  report("timeline, one target, 1-hour bins (coarse aggregates)", hourly);
  report("timeline, one target, 30-min bins (base probe rows)", half_hourly);
  report("timeline, one target, 1-day bins (coarse probe rows)", daily);
  report("timeline, one target, 10-min bins, source=kuzet (one source)", by_source);
  report("timeline, one target, 1-hour bins, source=kuzet (one source)", hourly_source);
  report("incidents, one target (with 7-day lookback)", inc_target);
  report("incidents, one target, source=kuzet", inc_source);
  report("incidents, whole network (all targets + shutdowns)", inc_network);
  std::printf("(incidents found per target query: %.1f)\n", static_cast<double>(incidents_seen) / c.queries);
  store.reset();
  if (!keep) std::filesystem::remove_all(dir);
  return 0;
}
