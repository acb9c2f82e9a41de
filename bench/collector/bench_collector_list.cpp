// The list API's pages (Store::list, GET /api/v1/measurements) on an SQLite store whose place-keyed
// orderings are indexes on the measurements table (schema 6) and one whose orderings are the place index's
// file (schema 7, collector/store/sqlite/place_index.hpp): the in-process commit cost per measurement of
// each, the place index's catch-up rate, and milliseconds per 1,000-row page for each filter. Not a test.
//   bench_collector_list [N] [TARGETS] [NETWORKS]     (defaults 300000 200 20)
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "collector/store/sqlite/place_index.hpp"
#include "collector/store/store.hpp"
#include "core/crypto/crypto.hpp"
#include "tests/collector/support/helpers.hpp"

using namespace kuzet;
using namespace kuzet::collector;

namespace {

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct Shape {
  size_t rows, targets, networks;
};

// Synthetic rows in upload order: every network's probes measure every target about once an hour.
std::vector<NewMeasurement> synthetic_rows(const Shape& shape) {
  std::vector<NewMeasurement> rows;
  rows.reserve(shape.rows);
  std::mt19937 random(17);
  const std::string padding(1500, 'x');  // a stored envelope's order of size
  for (size_t i = 0; i < shape.rows; ++i) {
    NewMeasurement m;
    m.uid = "bench-" + std::to_string(i);
    m.envelope = "{\"uid\":\"" + m.uid + "\",\"pad\":\"" + padding + "\"}";
    m.content_hash = core::sha256_hex(m.envelope);
    m.key_id = "k" + std::to_string(i % 50);
    m.started_at_ms = 1700000000000 + static_cast<int64_t>(i) * 50 + static_cast<int64_t>(random() % 1000);
    m.received_at_ms = m.started_at_ms + 2000;
    const size_t network = random() % shape.networks;
    m.cc = network % 2 ? "KZ" : "RU";
    m.asn = 9000 + static_cast<uint32_t>(network);
    m.target = "t" + std::to_string(random() % shape.targets) + ".example";
    m.category = "news";
    m.verdict = random() % 100 == 0 ? "dns_blocking" : "ok";
    m.method = "";
    rows.push_back(std::move(m));
  }
  return rows;
}

// Milliseconds per page: the median of up to 20 pages of 1,000 rows, walked with the cursor.
double ms_per_page(Store& store, SummaryQuery filter, size_t* rows_seen) {
  ListQuery q;
  q.filter = filter;
  q.filter.limit = 1000;
  std::vector<double> pages;
  *rows_seen = 0;
  for (int i = 0; i < 20; ++i) {
    const double t0 = now_ms();
    auto page = store.list(q);
    pages.push_back(now_ms() - t0);
    *rows_seen += page.size();
    if (page.size() < q.filter.limit) break;
    q.after = page.back().position;
  }
  std::sort(pages.begin(), pages.end());
  return pages[pages.size() / 2];
}

void run(const std::vector<NewMeasurement>& rows, int schema) {
  testing::TempDir dir;
  const std::string db = dir.file("list.db");
  auto store = open_sqlite_store(db, schema);
  double cpu = 0;
  const double t0 = now_ms();
  constexpr size_t kBatch = 2000;  // a group commit's order of size at 20,000 measurements/s
  for (size_t i = 0; i < rows.size(); i += kBatch) {
    std::vector<NewMeasurement> batch(rows.begin() + static_cast<long>(i),
                                      rows.begin() + static_cast<long>(std::min(rows.size(), i + kBatch)));
    const double c0 = thread_cpu_ms();
    store->insert_batch(batch);
    cpu += thread_cpu_ms() - c0;
  }
  const double insert_ms = now_ms() - t0;
  std::printf("schema %d: stored %zu rows in %.1f s; the committing thread's CPU %.1f µs per measurement\n", schema,
              rows.size(), insert_ms / 1e3, cpu * 1e3 / static_cast<double>(rows.size()));
  if (schema >= 7) {
    // The background thread's work, measured alone: a fresh file built from the whole table on this thread.
    const std::string side = dir.file("rebuild.places");
    sqlite::PlaceIndex rebuild(db, side, std::chrono::milliseconds(0));
    const double c0 = thread_cpu_ms(), w0 = now_ms();
    rebuild.catch_up();
    const double c1 = thread_cpu_ms() - c0, w1 = now_ms() - w0;
    std::printf("  place index built from %zu rows in %.1f s (%.1f µs CPU per row on its thread); file %.1f MB\n",
                rows.size(), w1 / 1e3, c1 * 1e3 / static_cast<double>(rows.size()),
                static_cast<double>(std::filesystem::file_size(side)) / 1e6);
  }
  const std::string common_target = rows[0].target;
  struct Case {
    const char* name;
    SummaryQuery filter;
  };
  std::vector<Case> cases;
  SummaryQuery f;
  f.target = common_target;
  cases.push_back({"target", f});
  f.cc = rows[0].cc;
  f.asn = rows[0].asn;
  cases.push_back({"cc+asn+target", f});
  SummaryQuery rare;
  rare.target = common_target;
  rare.verdict = "dns_blocking";
  cases.push_back({"target+verdict (1%)", rare});
  SummaryQuery cc;
  cc.cc = "KZ";
  cases.push_back({"cc", cc});
  cc.asn = rows[0].asn % 2 ? rows[0].asn : rows[0].asn + 1;
  cases.push_back({"cc+asn", cc});
  for (const auto& c : cases) {
    size_t seen = 0;
    const double ms = ms_per_page(*store, c.filter, &seen);
    std::printf("  %-22s %8.2f ms per 1,000-row page (median; %zu rows over the pages walked)\n", c.name, ms, seen);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Shape shape{300000, 200, 20};
  if (argc > 1) shape.rows = std::strtoull(argv[1], nullptr, 10);
  if (argc > 2) shape.targets = std::max<size_t>(1, std::strtoull(argv[2], nullptr, 10));
  if (argc > 3) shape.networks = std::max<size_t>(1, std::strtoull(argv[3], nullptr, 10));
  std::printf("bench_collector_list: %zu rows, %zu targets, %zu networks\n", shape.rows, shape.targets, shape.networks);
  const auto rows = synthetic_rows(shape);
  run(rows, 6);
  run(rows, latest_schema_version());
  return 0;
}
