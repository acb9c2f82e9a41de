#pragma once
// ClickHouseTimelines: the timelines and incidents of kuzet-collector serve --analytics, read from the
// ClickHouse cluster the exporter (collector/analytics/exporter.hpp) fills. Every read is one or two queries to
// the query server, which gathers the shards' rows through the Distributed tables; the incident search is the
// one every source shares (timeline::TimelineSource::incidents). Answers include what was exported so
// far: the exporter's interval behind the store.
#include <mutex>
#include <string>

#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/analytics/queries.hpp"
#include "collector/timeline/source.hpp"

namespace kuzet::collector::analytics {

class ClickHouseTimelines : public timeline::TimelineSource {
 public:
  // Reads the tables create_schema made for this base bin. Throws nothing until queried.
  ClickHouseTimelines(const clickhouse::ClickHouseUrl& url, int64_t base_bin_ms,
                      const clickhouse::ClientLimits& limits = {});

  int64_t base_bin_ms() const override { return base_bin_ms_; }
  std::vector<timeline::SeriesInfo> series_list(const timeline::TimelineQuery& query) override;
  timeline::Series series(const timeline::SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms,
                          const std::string& source = "") override;
  // Many series in one read (incidents read every series of the places asked for).
  std::vector<timeline::Series> series_many(const std::vector<SeriesRequest>& requests, int64_t bin_ms,
                                            const std::string& source) override;
  std::vector<timeline::VantageSample> vantage_samples(const timeline::SeriesKey& key, int64_t from_ms,
                                                       int64_t until_ms, const std::optional<std::string>& verdict,
                                                       const std::string& source) override;
  // Many incident windows in one query (plain columns of probe_presence), a second for probes with two states
  // at their latest time in a bin (probe_bins).
  std::vector<std::vector<timeline::VantageSample>> vantage_samples_many(const std::vector<VantageRequest>& requests,
                                                                         const std::string& source) override;
  // From verdict_days: whole days, one query.
  std::optional<std::set<timeline::SeriesKey>> series_with_verdicts(const timeline::TimelineQuery& query,
                                                                    const std::vector<std::string>& verdicts,
                                                                    int64_t from_ms, int64_t until_ms) override;
  int64_t data_end_ms(const std::string& source) override;

  // How the latest incident search was answered: series from the stored runs (materializer.hpp), network series
  // searched on their stored bins, series searched on their reads. For tests and the benchmark: which path answered.
  struct IncidentPaths {
    size_t stored = 0, from_bins = 0, searched = 0;
  };
  IncidentPaths last_incident_paths() const {
    std::lock_guard<std::mutex> lock(paths_mutex_);
    return last_paths_;
  }
  // How the latest series read was answered: bins from the day counts stored when the data arrived (1-day bins,
  // materializer.hpp), bins read from the per-probe tables.
  struct SeriesPaths {
    size_t from_days = 0, read = 0;
  };
  SeriesPaths last_series_paths() const {
    std::lock_guard<std::mutex> lock(paths_mutex_);
    return last_series_paths_;
  }

 protected:
  // From series_incidents when its watermark is the export's (one query); the series it cannot answer are
  // searched.
  std::vector<std::optional<std::vector<timeline::Incident>>> stored_incidents(
      const timeline::TimelineQuery& query, const timeline::IncidentOptions& options,
      const std::vector<timeline::SeriesInfo>& infos, const std::vector<SeriesRequest>& requests,
      int64_t data_end_ms) override;

 private:
  // Series of distinct keys at bin_ms: at 1-day bins the days counted when the data arrived first (day_counts);
  // with `counts`, exact counts from bin_probes; then the bins left from the probes' states (queries.hpp). Adds to
  // `paths` how its bins were answered.
  std::vector<timeline::Series> read_series(const std::vector<SeriesRequest>& requests, int64_t bin_ms,
                                            const std::string& source, bool counts, SeriesPaths& paths);
  // The day counts' part of read_series: nullopt when no day of `ranges` is counted.
  std::optional<GroupCounts> stored_days(const std::vector<SeriesRequest>& requests,
                                         const std::vector<KeyRange>& ranges, const std::string& source);
  // The same refusal as the SQLite index's (std::invalid_argument).
  void check_bin(int64_t bin_ms) const;

  int64_t base_bin_ms_;
  clickhouse::Client client_;
  void set_paths(IncidentPaths paths) {
    std::lock_guard<std::mutex> lock(paths_mutex_);
    last_paths_ = paths;
  }
  void set_series_paths(SeriesPaths paths) {
    std::lock_guard<std::mutex> lock(paths_mutex_);
    last_series_paths_ = paths;
  }
  mutable std::mutex paths_mutex_;
  IncidentPaths last_paths_;
  SeriesPaths last_series_paths_;
};

}  // namespace kuzet::collector::analytics
