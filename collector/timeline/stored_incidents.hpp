#pragma once
// Incidents found when data arrives, answered when asked. Pure.
//
// The incident search (TimelineSource::incidents) reads each series over [R, E): from the window's start less
// the baseline lookback (not before the series' first bin) to the window's end (a network series: not past the
// data's end), and runs the same search (target_incidents / shutdown_incidents) on that part. A search over
// the whole series, from its first bin to the data's end G, finds runs that a search over [R, E) finds alike
// when the part does not cut them:
//  - a search starts with no run open: where no run found on the whole series is open at R (a run too thin to
//    keep may be: the part of it the shorter search sees is thinner still), both walk the same bins alike;
//  - a run closed before E is whole in both; a run open at G is whole in any part reaching G (no bin holds
//    data past G), whose end (ongoing or closed as stale) follows from E;
//  - a shutdown's baseline looks back over the series from its first bin: a network series is answered from its
//    runs only when R is that bin; from later, the same search runs on its stored bins (shutdowns_from_stored_bins).
// Anything else (a kept run open at R, or still open at E before G) and the series is searched as before.
// An incident's independence depends only on its start and end, so it is kept too: over [start, last end) and,
// for a run still open, over [start, G) (its window while ongoing).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "collector/timeline/incidents.hpp"
#include "collector/timeline/source.hpp"

namespace kuzet::timeline {

// One run kept: an incident as the search on the whole series made it (confidence before independence).
struct StoredRun {
  std::string kind;
  int64_t start_ms = 0;
  RunExtent extent;
  double confidence = 0;
  int probes = 0;
  int bins = 0;
  double severity = 0;
  std::vector<std::string> methods;
  // Independence over [start, last end) (a shutdown: the day before it), and for an open run over [start, G).
  int vantage_points = 0, decisive = 0;
  int open_vantage_points = 0, open_decisive = 0;
  bool operator==(const StoredRun&) const = default;
};

// What a network series' shutdown search reads of one base bin: the probes that reported, and those offline.
struct NetworkBin {
  int64_t start_ms = 0;
  int probes = 0;
  int offline = 0;
  bool operator==(const NetworkBin&) const = default;
};

// One series' runs, searched over [first_bin, data_end) with the options `options` names.
struct StoredSeries {
  SeriesKey key;
  std::string options;  // options_fingerprint of the search
  int64_t first_bin_ms = 0;
  int64_t data_end_ms = 0;
  std::vector<StoredRun> runs;
  // A network series: its bins with data in [bins_from, bins_until) (the others there silent), ordered, so the
  // search over any part inside runs on them. store_series keeps [first_bin, data_end); a read, a part's.
  std::vector<NetworkBin> bins;
  int64_t bins_from_ms = 0, bins_until_ms = 0;
  bool operator==(const StoredSeries&) const = default;
};

// Every option the search depends on, as text: stored runs answer only a search with the same options.
std::string options_fingerprint(const IncidentOptions& options);

// The search over a whole series (from its first bin to the data's end `data_end_ms`), as runs still without
// their independence; then the incident windows whose samples complete them (stored_run_windows, in order),
// and the runs completed from those samples (one sample list per window).
StoredSeries store_series(const Series& series, int64_t data_end_ms, const IncidentOptions& options);
std::vector<TimelineSource::VantageRequest> stored_run_windows(const StoredSeries& stored);
void complete_stored_runs(StoredSeries& stored, const std::vector<std::vector<VantageSample>>& samples);

// The series of `infos` (of `source`, as series_list gives them) searched whole, to the data's end
// `data_end_ms`, through `reads` (its series and window reads, a few dozen series at a time; target series
// without any interference verdict are stored empty without a read), handed to `store` a part at a time.
// Returns how many runs were stored.
size_t store_incidents(TimelineSource& reads, const std::vector<SeriesInfo>& infos, const std::string& source,
                       int64_t data_end_ms, const IncidentOptions& options,
                       const std::function<void(std::vector<StoredSeries>& part)>& store);

// The incidents the search over `request` (the part of the series TimelineSource::incidents reads for a
// window [from, until)) would give, from the stored runs; nullopt when the part cuts a kept run, the series was
// stored for another first bin or other options, or a network series is read from later than its first bin.
// `data_end_ms` is the data's end now (a network series' runs count only while it is the stored one).
std::optional<std::vector<Incident>> incidents_from_stored(const StoredSeries& stored, const SeriesInfo& info,
                                                           const TimelineSource::SeriesRequest& request,
                                                           int64_t from_ms, int64_t until_ms, int64_t data_end_ms,
                                                           int64_t base_bin_ms, const IncidentOptions& options);

// A network series over the base bins [from, until) from its stored bins, as a read gives it to the shutdown
// search (each bin's probes, online and offline; no method). The bins must cover [from, until).
Series network_series_from_bins(const StoredSeries& stored, const std::string& category, int64_t from_ms,
                                int64_t until_ms, int64_t base_bin_ms);

// A network series incidents_from_stored leaves to the search (read from later than its first bin), answered by
// the same search over the same part, run on its stored bins instead of read ones: a base bin's counts do not
// depend on the part read. An incident starting where a stored run does takes that run's independence (a
// shutdown's window is the day before its start); `unassessed` lists the others (indices into `incidents`),
// whose windows (shutdown_window) are still to be read. nullopt when the stored bins do not cover the part, or
// the series was stored for another first bin, data end or options.
struct BinsAnswer {
  std::vector<Incident> incidents;
  std::vector<size_t> unassessed;
};
std::optional<BinsAnswer> shutdowns_from_stored_bins(const StoredSeries& stored, const SeriesInfo& info,
                                                     const TimelineSource::SeriesRequest& request, int64_t from_ms,
                                                     int64_t until_ms, int64_t data_end_ms, int64_t base_bin_ms,
                                                     const IncidentOptions& options);
// The window of a shutdown's independence: its network's probes in the day before it began.
TimelineSource::VantageRequest shutdown_window(const Incident& shutdown);

// Every stored answer of a search (TimelineSource::stored_incidents): per request, from `stored[k]` (null: none
// stored) by incidents_from_stored, else (a network series) by shutdowns_from_stored_bins over the bins
// `read_bins` adds to the stored series of the parts it is given (base bins [from, until)), with the windows
// of the incidents no stored run shares read by `read_windows` (one call); nullopt: searched.
struct NetworkPart {
  StoredSeries* series = nullptr;
  int64_t from_ms = 0, until_ms = 0;
};
struct StoredAnswerReads {
  std::function<void(const std::vector<NetworkPart>& parts)> read_bins;
  std::function<std::vector<std::vector<VantageSample>>(const std::vector<TimelineSource::VantageRequest>&)> read_windows;
};
struct StoredAnswers {
  std::vector<std::optional<std::vector<Incident>>> incidents;
  size_t from_runs = 0, from_bins = 0, searched = 0;
};
StoredAnswers answer_from_stored(const std::vector<StoredSeries*>& stored, const std::vector<SeriesInfo>& infos,
                                 const std::vector<TimelineSource::SeriesRequest>& requests, int64_t from_ms,
                                 int64_t until_ms, int64_t data_end_ms, int64_t base_bin_ms,
                                 const IncidentOptions& options, const StoredAnswerReads& reads);

}  // namespace kuzet::timeline
