#pragma once
// TimelineSource: where timelines and incidents are read from. The collector's own SQLite index
// (TimelineIndex, collector/timeline/index.hpp) and a ClickHouse cluster (ClickHouseTimelines,
// collector/analytics) implement the same reads; the incident search over them is one function, here, so
// both engines give the same incidents for the same data (tests/analytics checks it on the replay).
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/timeline/incidents.hpp"
#include "collector/timeline/timeline.hpp"

namespace kuzet::timeline {

struct SeriesInfo {
  SeriesKey key;
  std::string category;
  int64_t first_bin_ms = 0;
  int64_t last_bin_ms = 0;
  bool operator==(const SeriesInfo&) const = default;
};

// Every filter optional. Times in ms since the epoch, from inclusive, until exclusive.
struct TimelineQuery {
  std::string cc;
  std::optional<uint32_t> asn;
  std::string target;  // kNetworkTarget selects network series only
  std::string category;
  std::string source;  // "kuzet", "ooni"; "" = every source
  int64_t from_ms = 0;
  int64_t until_ms = 0;
  int64_t bin_ms = 0;  // 0 = the source's base bin
};

class TimelineSource {
 public:
  virtual ~TimelineSource() = default;

  virtual int64_t base_bin_ms() const = 0;
  // Series matching the filters (from/until/bin ignored), ordered by (cc, asn, target). With a source,
  // only series with its data, first/last over its bins (the category stays the series' own).
  virtual std::vector<SeriesInfo> series_list(const TimelineQuery& query) = 0;
  // One series over [from, until) at bin_ms (a multiple of the base bin; throws std::invalid_argument
  // else), counting the probes of one source ("" = every source). category and as_name left "".
  virtual Series series(const SeriesKey& key, int64_t from_ms, int64_t until_ms, int64_t bin_ms,
                        const std::string& source = "") = 0;
  // One series per request, as series() gives them; a source may read them together (ClickHouse: one query
  // for a network's series instead of one each). The default asks series() for each.
  struct SeriesRequest {
    SeriesKey key;
    int64_t from_ms = 0;
    int64_t until_ms = 0;
  };
  virtual std::vector<Series> series_many(const std::vector<SeriesRequest>& requests, int64_t bin_ms,
                                          const std::string& source);

  // Incidents of every matching series overlapping [from, until), found on base bins with a lookback of the
  // baseline window (so starts before `from` are kept and ids stay the same whatever the window): the
  // same search (find_incidents) over every engine's reads.
  std::vector<Incident> incidents(const TimelineQuery& query, const IncidentOptions& options);

  // The reads behind an incident's independence: per (probe, base bin) the probe's latest measurement in
  // [from, until) of the series, those with `verdict` only when given, as one sample per (probe, vantage
  // tag) with the sum of their decisive flags. Order does not matter.
  virtual std::vector<VantageSample> vantage_samples(const SeriesKey& key, int64_t from_ms, int64_t until_ms,
                                                     const std::optional<std::string>& verdict,
                                                     const std::string& source) = 0;
  // The samples of several windows, as vantage_samples() gives each; a source may read them together
  // (ClickHouse: one query for a network's incidents instead of one each). The default asks for each.
  struct VantageRequest {
    SeriesKey key;
    int64_t from_ms = 0;
    int64_t until_ms = 0;
    std::optional<std::string> verdict;
  };
  virtual std::vector<std::vector<VantageSample>> vantage_samples_many(const std::vector<VantageRequest>& requests,
                                                                       const std::string& source);
  // The target series among `query`'s places with a measurement of one of `verdicts` (of `query.source`)
  // in base bins [from, until); a superset is fine. nullopt (the default): the source cannot tell cheaply,
  // every series may. The incident search reads only these target series: one without any measurement of
  // an interference verdict cannot have a latest-per-probe count of it, so it has no incident.
  virtual std::optional<std::set<SeriesKey>> series_with_verdicts(const TimelineQuery& query,
                                                                  const std::vector<std::string>& verdicts,
                                                                  int64_t from_ms, int64_t until_ms);
  // The end of the last base bin holding data (of one source, "" = any); 0 + base bin when empty.
  virtual int64_t data_end_ms(const std::string& source) = 0;

 protected:
  // The incidents of some of the series the search reads (`requests`, with their `infos`, for `query`'s window),
  // found when their data arrived (stored_incidents.hpp): per request the incidents the search over it would
  // give, or nullopt for a series to be searched. Empty (the default): none are stored.
  virtual std::vector<std::optional<std::vector<Incident>>> stored_incidents(const TimelineQuery& query,
                                                                             const IncidentOptions& options,
                                                                             const std::vector<SeriesInfo>& infos,
                                                                             const std::vector<SeriesRequest>& requests,
                                                                             int64_t data_end_ms);
  // Runs `reads` so that the reads it makes see one state of the data (TimelineIndex: under its
  // connection's lock, caught up once). The default just runs it.
  virtual void consistent_reads(const std::function<void()>& reads) { reads(); }
};

}  // namespace kuzet::timeline
