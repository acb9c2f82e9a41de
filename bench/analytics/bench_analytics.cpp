// ClickHouse analytics benchmark: generates measurements inside the cluster (INSERT INTO measurements SELECT
// ... FROM numbers(): no client in the way), through the Distributed table and the views as the exporter's
// rows go, then times the timeline and incident reads of kuzet-collector serve --analytics (p50/p95 over
// repeated runs) and reports disk bytes per measurement from system.parts on every shard.
// Prints figures; not a test. Grow a dataset in steps (--reuse) to see how cost grows with its size:
//   bench_analytics --analytics clickhouse://127.0.0.1:PORT/kuzet_bench?cluster=kuzet&shard=...&shard=...
//                   [--rows N] [--chunk N] [--runs N] [--reuse]
// The data: 1,000,000 measurements a day from 2022-01-01 in runs of 50 targets (a probe measures its list in
// one run, a target every 0.2 s, as kuzet-probe run does), 20,000 runs a day by 20,000 probes on 300 networks
// in 30 countries (a network's share of probes skewed, the largest ~6%), targets in 8 categories; recurring
// blocking of some targets on some networks and shutdowns on others; 1% inconclusive.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/analytics/materializer.hpp"
#include "collector/analytics/schema.hpp"
#include "collector/analytics/timelines.hpp"

using namespace kuzet;
namespace analytics = kuzet::collector::analytics;

namespace {

constexpr int64_t kStart = 1640995200000;  // 2022-01-01
constexpr int64_t kDay = 24 * 60 * timeline::kMinuteMs;
constexpr int64_t kPerDay = 1000000;

// Row n of the dataset (n from numbers()): run n / 50, target n % 50; the run's probe, network and time
// follow from n alone.
std::string generate_sql(uint64_t first, uint64_t count) {
  return R"(INSERT INTO measurements SELECT
  concat(lower(hex(cityHash64(n))), lower(hex(cityHash64(n, 7)))) AS uid, 'kuzet' AS source,
  lower(hex(cityHash64(p))) AS key_id, toInt64()" + std::to_string(kStart) + R"( + offset_ms) AS started_at,
  toDate(intDiv(started_at, 1000)) AS day,
  ['KZ','RU','BY','UZ','KG','TJ','TM','AZ','AM','GE','UA','TR','IR','CN','IN','PK','EG','ET','NG','VE','CU','MM',
   'TH','VN','ID','MY','SA','AE','US','DE'][net % 30 + 1] AS cc,
  toUInt32(1000 + net) AS asn, concat('t', toString(t), '.example.org') AS target,
  ['messaging','social','news','egov','search','video','vpn','human-rights'][t % 8 + 1] AS category,
  multiIf(shutdown, 'offline', blocked, 'blocked', cityHash64(n, 3) % 100 = 0, 'inconclusive', 'ok') AS verdict,
  multiIf(shutdown, '', blocked, ['dns.nxdomain','tls.timeout','tcp.timeout','http.blockpage'][t % 4 + 1], '') AS method,
  lower(hex(cityHash64(p, intDiv(started_at, 86400000)))) AS vantage,
  toUInt8(blocked AND cityHash64(n, 5) % 2 = 0) AS decisive
FROM (SELECT number AS n, intDiv(number, 50) AS run, cityHash64(run, 11) % 20000 AS p,
        toUInt32(pow(intHash32(p) / 4294967295., 2) * 300) AS net, number % 50 AS t,
        intDiv(run * 50 * 86400000, )" + std::to_string(kPerDay) + R"() + t * 200 AS offset_ms, intDiv(offset_ms, 86400000) AS d,
        (net % 11 = 0) AND (d % 30 = 4) AND (intDiv(offset_ms % 86400000, 3600000) BETWEEN 6 AND 14) AS shutdown,
        (net % 5 = 0) AND (t % 10 < 2) AND (d % 20 >= 3) AND (d % 20 < 9) AS blocked
      FROM numbers()" + std::to_string(first) + ", " + std::to_string(count) + "))";
}

double wall_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <class F>
void time_it(const char* name, int runs, F&& f) {
  std::vector<double> ms;
  f();  // warm-up: the first read after generation pays for loading marks
  for (int i = 0; i < runs; ++i) {
    const double t0 = wall_ms();
    f();
    ms.push_back(wall_ms() - t0);
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))]; };
  std::printf("  %-62s p50 %8.1f ms  p95 %8.1f ms  max %8.1f ms\n", name, pct(0.5), pct(0.95), ms.back());
  std::fflush(stdout);
}

uint64_t scalar(analytics::clickhouse::Client& c, const std::string& sql) {
  const auto rows = c.select(sql);
  return rows.empty() || !rows[0][0].is_number_unsigned() ? 0 : rows[0][0].get<uint64_t>();
}

}  // namespace

int main(int argc, char** argv) {
  std::string url_text;
  uint64_t rows = 10000000, chunk = 5000000;
  int runs = 20;
  bool reuse = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--analytics") url_text = next();
    else if (a == "--rows") rows = std::stoull(next());
    else if (a == "--chunk") chunk = std::stoull(next());
    else if (a == "--runs") runs = std::stoi(next());
    else if (a == "--reuse") reuse = true;
    else {
      std::fprintf(stderr, "usage: bench_analytics --analytics URL [--rows N] [--chunk N] [--runs N] [--reuse]\n");
      return 2;
    }
  }
  try {
    const auto url = analytics::clickhouse::parse_clickhouse_url(url_text);
    analytics::clickhouse::ClientLimits limits;
    limits.timeout = std::chrono::milliseconds(3600 * 1000);  // one generation chunk may take minutes
    if (!reuse)
      for (const auto& s : url.shards)
        analytics::clickhouse::Client(s, "default", limits).execute("DROP DATABASE IF EXISTS " + url.database);
    analytics::create_schema(url, timeline::kDefaultBinMs, limits);
    analytics::clickhouse::Client client(url.query, url.database, limits);
    uint64_t have = scalar(client, "SELECT toUInt64(count()) FROM measurements");
    std::printf("ClickHouse analytics benchmark: %zu shards, %llu measurements stored, target %llu\n", url.shards.size(),
                static_cast<unsigned long long>(have), static_cast<unsigned long long>(rows));
    // Rows are numbered from 0, so what is stored (whole chunks) tells where to go on.
    const double g0 = wall_ms();
    const uint64_t had = have;
    while (have < rows) {
      const uint64_t n = std::min(chunk, rows - have);
      const double t0 = wall_ms();
      client.execute(generate_sql(have, n));
      have += n;
      std::printf("  generated %llu .. %llu (%.0f rows/s)\n", static_cast<unsigned long long>(have - n),
                  static_cast<unsigned long long>(have), static_cast<double>(n) / ((wall_ms() - t0) / 1000));
      std::fflush(stdout);
    }
    if (have > had)
      std::printf("generation: %llu rows in %.0f s\n", static_cast<unsigned long long>(have - had), (wall_ms() - g0) / 1000);

    // Disk: active parts on every shard, per table.
    uint64_t total_bytes = 0;
    for (const auto& s : url.shards) {
      analytics::clickhouse::Client shard(s, url.database, limits);
      for (const auto& r :
           shard.select("SELECT table, toUInt64(sum(rows)), toUInt64(sum(bytes_on_disk)), toUInt64(count())"
                        " FROM system.parts WHERE active AND database = " +
                        analytics::clickhouse::sql_string(url.database) + " GROUP BY table ORDER BY table")) {
        std::printf("  shard %s:%u %-20s %12llu rows %14llu bytes (%llu parts)\n", s.host.c_str(), s.port,
                    r[0].get<std::string>().c_str(), static_cast<unsigned long long>(r[1].get<uint64_t>()),
                    static_cast<unsigned long long>(r[2].get<uint64_t>()), static_cast<unsigned long long>(r[3].get<uint64_t>()));
        total_bytes += r[2].get<uint64_t>();
      }
    }
    std::printf("disk: %.1f bytes per measurement (all tables, both shards: %.2f GB for %llu measurements)\n",
                static_cast<double>(total_bytes) / static_cast<double>(have), static_cast<double>(total_bytes) / 1e9,
                static_cast<unsigned long long>(have));

    // Reads as serve --analytics makes them, over a fixed week (days 3..10), the largest network (AS1000, KZ):
    // first with the incidents searched when asked (no stored incidents), then stored when the data arrived.
    for (const auto& table : {analytics::kSeriesIncidents, analytics::kNetworkBins, analytics::kIncidentsWatermark,
                              analytics::kDayCounts, analytics::kDayMarks})
      client.execute(std::string("DROP TABLE IF EXISTS ") + table);
    analytics::create_schema(url, timeline::kDefaultBinMs, limits);
    analytics::ClickHouseTimelines timelines(url, timeline::kDefaultBinMs);
    const int64_t from = kStart + 3 * kDay, until = kStart + 10 * kDay;
    const int64_t days = static_cast<int64_t>(have / kPerDay);
    const timeline::SeriesKey target{"KZ", 1000, "t0.example.org"}, network{"KZ", 1000, "*"};
    const timeline::SeriesKey small{"TM", 1006, "t0.example.org"};
    // Each search's answer as first found (searched): the stored incidents must give the same.
    std::map<std::string, std::vector<timeline::Incident>> first_answers;
    auto incidents = [&](const char* name, const timeline::TimelineQuery& q) {
      std::vector<timeline::Incident> found;
      time_it(name, runs, [&] { found = timelines.incidents(q, timeline::IncidentOptions{}); });
      const auto paths = timelines.last_incident_paths();
      const auto [first, added] = first_answers.emplace(name, found);
      std::printf("    (%zu incidents; series from stored runs %zu, network series from stored bins %zu, searched %zu%s)\n",
                  found.size(), paths.stored, paths.from_bins, paths.searched,
                  added ? "" : first->second == found ? "; the same as searched" : "; NOT the same as searched");
    };
    // The series as first read (from the states): the day counts must give the same.
    std::optional<timeline::Series> first_days;
    auto whole_period_days = [&] {
      timeline::Series found;
      time_it("timeline: a target, largest network, whole period at 1 day", runs,
              [&] { found = timelines.series(target, kStart, kStart + std::max<int64_t>(days, 1) * kDay, kDay); });
      const auto paths = timelines.last_series_paths();
      const bool first = !first_days;
      if (first) first_days = found;
      std::printf("    (bins from stored day counts %zu, read from the per-probe tables %zu%s)\n", paths.from_days,
                  paths.read, first ? "" : *first_days == found ? "; the same as read" : "; NOT the same as read");
    };
    auto queries = [&](bool series_too) {
      std::printf("queries (%d runs each, after one warm-up):\n", runs);
      if (series_too) {
        time_it("timeline: a target, largest network, a week at 10 min", runs,
                [&] { timelines.series(target, from, until, timeline::kDefaultBinMs); });
        time_it("timeline: network connectivity (*), largest network, a week, 10 min", runs,
                [&] { timelines.series(network, from, until, timeline::kDefaultBinMs); });
        time_it("timeline: a target, a smaller network, a week at 10 min", runs,
                [&] { timelines.series(small, from, until, timeline::kDefaultBinMs); });
        whole_period_days();
        time_it("timeline: a target, largest network, a week at 1 h", runs,
                [&] { timelines.series(target, from, until, 60 * timeline::kMinuteMs); });
      }
      timeline::TimelineQuery q;
      q.cc = "KZ";
      q.asn = 1000;
      q.from_ms = from;
      q.until_ms = until;
      time_it("series list of a network", runs, [&] { timelines.series_list(q); });
      incidents("incidents: largest network (51 series), a week", q);
      if (days >= 57) {  // a later week: the network series' lookback no longer reaches their first bin
        timeline::TimelineQuery later = q;
        later.from_ms = kStart + 50 * kDay;
        later.until_ms = kStart + 57 * kDay;
        incidents("incidents: largest network, a later week (days 50..57)", later);
      }
      q.asn = 1030;
      incidents("incidents: a blocking network (AS1030, 51 series), a week", q);
      q.asn = std::nullopt;
      q.target = "t0.example.org";
      incidents("incidents: one target in a country (all its networks), a week", q);
    };
    std::printf("incidents searched when asked:\n");
    queries(true);
    // What a pass of the exporter does after the data arrived, for every series at once.
    analytics::IncidentMaterializer materializer(url, timeline::kDefaultBinMs, timeline::IncidentOptions{}, limits);
    const double m0 = wall_ms();
    const auto stats = materializer.materialize(std::nullopt, 0, 0);
    std::printf("materialized: %zu series (every source), %zu runs stored in %.1f s\n", stats.series, stats.runs,
                (wall_ms() - m0) / 1000);
    const double c0 = wall_ms();
    const size_t counted = materializer.count_days(std::nullopt, 0);
    std::printf("day bins counted: %zu days (every series and source) in %.1f s\n", counted, (wall_ms() - c0) / 1000);
    std::printf("incidents and day bins stored when the data arrived:\n");
    queries(false);
    whole_period_days();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_analytics: %s\n", e.what());
    return 1;
  }
  return 0;
}
