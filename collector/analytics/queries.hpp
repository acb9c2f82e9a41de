#pragma once
// The timeline reads as ClickHouse SQL, and their replies back into the timeline engine's types. Pure:
// tests/analytics checks the statements and the decoding of recorded replies; the SQLite index
// (collector/timeline/index.cpp) gives the meaning each must match.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "collector/analytics/clickhouse.hpp"
#include "collector/timeline/source.hpp"

namespace kuzet::collector::analytics {

// Per (cc, asn, target, source): category, first and last base bin, for the place filters of `query`.
std::string series_list_sql(const timeline::TimelineQuery& query);
// Rows of series_list_sql into the series list: one entry per series (category over every source,
// extent over `query.source`'s rows, or all), category filter applied, ordered by (cc, asn, target).
std::vector<timeline::SeriesInfo> series_list_from_rows(const Rows& rows, const timeline::TimelineQuery& query);

// Per query bin in [first, end) of the series and (verdict, method), how many probes had it as their latest
// there: each probe's latest per base bin merged into its latest per query bin (bin_ms a multiple of it).
std::string series_sql(const timeline::SeriesKey& key, int64_t first, int64_t end, int64_t bin_ms,
                       const std::string& source);
// The dense series over [first, end) at bin_ms from series_sql's rows; throws std::runtime_error on a row
// outside it.
timeline::Series series_from_rows(const timeline::SeriesKey& key, int64_t first, int64_t end, int64_t bin_ms,
                                  const Rows& rows);

// The series of several targets of one network (the network series "*" among them), each over its own
// [from, until): one query over the union of their bins, per target (rows: target, bin, verdict, method,
// probes), then each series cut from them. Equal to series_sql/series_from_rows per series.
std::string series_group_sql(const std::string& cc, uint32_t asn, const std::vector<std::string>& targets,
                             int64_t first, int64_t end, int64_t bin_ms, const std::string& source);
std::vector<timeline::Series> series_group_from_rows(const std::vector<timeline::TimelineSource::SeriesRequest>& requests,
                                                     int64_t bin_ms, const Rows& rows);

// Per (probe, vantage tag) the sum of decisive flags of the probe's latest measurement per base bin in
// [from, until), with that verdict when given.
std::string vantage_samples_sql(const timeline::SeriesKey& key, int64_t from, int64_t until,
                                const std::optional<std::string>& verdict, const std::string& source);
std::vector<timeline::VantageSample> vantage_samples_from_rows(const Rows& rows);

// The samples of several windows in a network's series at once: each probe's latest per base bin over the
// union of the windows (rows: target, bin, key_id, verdict, vantage, decisive; only rows of one of
// `verdicts`, or of the network series), then each window's samples cut from them in C++ (pure). Equal to
// vantage_samples_sql/vantage_samples_from_rows per window.
std::string vantage_group_sql(const std::string& cc, uint32_t asn, const std::vector<std::string>& targets,
                              int64_t first, int64_t end, const std::vector<std::string>& verdicts,
                              const std::string& source);
std::vector<std::vector<timeline::VantageSample>> vantage_group_from_rows(
    const std::vector<timeline::TimelineSource::VantageRequest>& requests, const Rows& rows);

// The last base bin holding data (0 when none).
std::string last_bin_sql(const std::string& source);

}  // namespace kuzet::collector::analytics
