// Incidents stored when data arrives (collector/timeline/stored_incidents.hpp) answer exactly as the search
// over the window: on the January 2022 replay over many windows and every source, and on hand-made series
// where a window cuts a run (then the series is searched).
#include <doctest/doctest.h>

#include <functional>
#include <map>

#include "collector/timeline/api/api.hpp"
#include "core/time.hpp"
#include "collector/timeline/stored_incidents.hpp"
#include "tests/timeline/replay_fixture.hpp"

using namespace kuzet;
using namespace kuzet::timeline;
using namespace kuzet::replay;

namespace {

constexpr int64_t kT0 = 1641081600000;  // 2022-01-02T00:00:00Z
constexpr int64_t kBin = kDefaultBinMs;
constexpr int64_t kDay = int64_t{24} * 3600 * 1000;

// Another source's reads, with the incidents stored from them: the engine's search asks stored_incidents first.
class StoredSource : public TimelineSource {
 public:
  explicit StoredSource(TimelineSource& reads) : reads_(reads) {}
  // Stores every series of `source`, searched whole to the data's end.
  size_t store(const std::string& source, const IncidentOptions& options) {
    TimelineQuery all;
    all.source = source;
    return store_incidents(reads_, reads_.series_list(all), source, reads_.data_end_ms(source), options,
                           [&](std::vector<StoredSeries>& part) {
                             for (auto& s : part) stored_[{source, s.key}] = std::move(s);
                           });
  }
  size_t answered = 0, from_bins = 0, searched = 0;

  int64_t base_bin_ms() const override { return reads_.base_bin_ms(); }
  std::vector<SeriesInfo> series_list(const TimelineQuery& q) override { return reads_.series_list(q); }
  Series series(const SeriesKey& key, int64_t from, int64_t until, int64_t bin, const std::string& source) override {
    return reads_.series(key, from, until, bin, source);
  }
  std::vector<Series> series_many(const std::vector<SeriesRequest>& r, int64_t bin, const std::string& source) override {
    return reads_.series_many(r, bin, source);
  }
  std::vector<VantageSample> vantage_samples(const SeriesKey& key, int64_t from, int64_t until,
                                             const std::optional<std::string>& verdict, const std::string& source) override {
    return reads_.vantage_samples(key, from, until, verdict, source);
  }
  std::vector<std::vector<VantageSample>> vantage_samples_many(const std::vector<VantageRequest>& r,
                                                               const std::string& source) override {
    return reads_.vantage_samples_many(r, source);
  }
  std::optional<std::set<SeriesKey>> series_with_verdicts(const TimelineQuery& q, const std::vector<std::string>& v,
                                                          int64_t from, int64_t until) override {
    return reads_.series_with_verdicts(q, v, from, until);
  }
  int64_t data_end_ms(const std::string& source) override { return reads_.data_end_ms(source); }

 protected:
  std::vector<std::optional<std::vector<Incident>>> stored_incidents(const TimelineQuery& q, const IncidentOptions& o,
                                                                     const std::vector<SeriesInfo>& infos,
                                                                     const std::vector<SeriesRequest>& requests,
                                                                     int64_t data_end) override {
    // A copy: the bins read for a part replace the whole series' (as a read from ClickHouse gives them).
    std::vector<StoredSeries> copies;
    copies.reserve(requests.size());
    std::vector<StoredSeries*> of_request(requests.size(), nullptr);
    for (size_t k = 0; k < requests.size(); ++k) {
      const auto it = stored_.find({q.source, requests[k].key});
      if (it == stored_.end()) continue;
      copies.push_back(it->second);
      of_request[k] = &copies.back();
    }
    StoredAnswerReads reads;
    reads.read_bins = [&](const std::vector<NetworkPart>& parts) {
      for (const auto& p : parts) {
        std::vector<NetworkBin> inside;
        for (const auto& b : p.series->bins)
          if (b.start_ms >= p.from_ms && b.start_ms < p.until_ms) inside.push_back(b);
        if (p.from_ms < p.series->bins_from_ms || p.until_ms > p.series->bins_until_ms) continue;
        p.series->bins = std::move(inside);
        p.series->bins_from_ms = p.from_ms;
        p.series->bins_until_ms = p.until_ms;
        ++parts_read;
      }
    };
    reads.read_windows = [&](const std::vector<VantageRequest>& windows) {
      windows_read += windows.size();
      return reads_.vantage_samples_many(windows, q.source);
    };
    auto answers = answer_from_stored(of_request, infos, requests, q.from_ms, q.until_ms, data_end, base_bin_ms(), o, reads);
    answered += answers.from_runs;
    from_bins += answers.from_bins;
    searched += answers.searched;
    return std::move(answers.incidents);
  }

 public:
  size_t parts_read = 0, windows_read = 0;

 private:
  TimelineSource& reads_;
  std::map<std::pair<std::string, SeriesKey>, StoredSeries> stored_;
};

// A source over hand-made series (one source, ""): what the pure search reads, nothing else.
class SeriesSource : public TimelineSource {
 public:
  SeriesSource(std::vector<Series> all, int64_t data_end) : all_(std::move(all)), data_end_(data_end) {}
  int64_t base_bin_ms() const override { return kBin; }
  std::vector<SeriesInfo> series_list(const TimelineQuery&) override {
    std::vector<SeriesInfo> out;
    for (const auto& s : all_) out.push_back({s.key, "", s.bins.front().start_ms, s.bins.back().start_ms});
    return out;
  }
  Series series(const SeriesKey& key, int64_t from, int64_t until, int64_t bin, const std::string&) override {
    for (const auto& s : all_) {
      if (s.key != key) continue;
      Series part = s;
      part.bins.clear();
      for (int64_t t = bin_floor(from, bin); t < bin_ceil(until, bin); t += bin) {
        Bin b;
        b.start_ms = t;
        for (const auto& have : s.bins)
          if (have.start_ms == t) b = have;
        part.bins.push_back(b);
      }
      return part;
    }
    return {};
  }
  std::vector<VantageSample> vantage_samples(const SeriesKey&, int64_t, int64_t, const std::optional<std::string>&,
                                             const std::string&) override {
    return {{"k1", "tag1", 1}, {"k2", "tag2", 0}};
  }
  int64_t data_end_ms(const std::string&) override { return data_end_; }

 private:
  std::vector<Series> all_;
  int64_t data_end_;
};

// A target series of `bins` base bins from kT0, three probes, each bin's verdict from `f` ("" = silent).
Series target_series(int bins, const std::function<std::string(int bin)>& f) {
  Series s;
  s.key = {"KZ", 9198, "example.org"};
  s.bin_ms = kBin;
  for (int b = 0; b < bins; ++b) {
    Bin bin;
    bin.start_ms = kT0 + b * kBin;
    const std::string v = f(b);
    if (!v.empty()) {
      bin.probes = 3;
      bin.counts.push_back({v, v == "blocked" ? "dns.nxdomain" : "", 3});
    }
    s.bins.push_back(bin);
  }
  return s;
}

// A network series of 100 base bins from kT0: each bin's probes and those offline from the functions.
Series network_series(const std::function<int(int bin)>& probes, const std::function<int(int bin)>& offline) {
  Series net;
  net.key = {"KZ", 9198, kNetworkTarget};
  net.bin_ms = kBin;
  for (int b = 0; b < 100; ++b) {
    Bin bin;
    bin.start_ms = kT0 + b * kBin;
    bin.probes = probes(b);
    if (offline(b) > 0) bin.counts.push_back({"offline", "", offline(b)});
    if (bin.probes > offline(b)) bin.counts.push_back({"online", "", bin.probes - offline(b)});
    net.bins.push_back(bin);
  }
  return net;
}

}  // namespace

TEST_CASE("stored incidents: a run cut by the window's end or open at its start is searched; others answer as stored") {
  // Blocked in bins 10..19 (closed by bins 20, 21) and from bin 40 to the end (open); the data ends at bin 50.
  const auto s = target_series(50, [](int b) { return (b >= 10 && b < 20) || b >= 40 ? "blocked" : "ok"; });
  const int64_t data_end = kT0 + 50 * kBin;
  SeriesSource plain({s}, data_end);
  StoredSource stored(plain);
  CHECK(stored.store("", IncidentOptions{}) == 2);
  const SeriesInfo info{s.key, "", kT0, kT0 + 49 * kBin};
  auto ask = [&](int64_t from, int64_t until) {
    TimelineQuery q;
    q.from_ms = from;
    q.until_ms = until;
    stored.answered = stored.searched = 0;
    const auto got = stored.incidents(q, IncidentOptions{});
    CHECK(got == plain.incidents(q, IncidentOptions{}));
    return stored.answered == 1;
  };
  CHECK(ask(kT0, data_end));                          // whole: both runs
  CHECK(ask(kT0, data_end + kDay));                   // past the data: the open run still ongoing
  CHECK(ask(kT0, data_end + 3 * kDay));               // long past: closed as stale
  CHECK(ask(kT0, kT0 + 30 * kBin));                   // the first run closed before the end
  CHECK_FALSE(ask(kT0, kT0 + 15 * kBin));             // cut in the middle of the first
  CHECK_FALSE(ask(kT0, kT0 + 21 * kBin));             // its closing bin not read yet
  CHECK(ask(kT0, kT0 + 22 * kBin));
  CHECK_FALSE(ask(kT0, kT0 + 45 * kBin));             // the open one cut before the data's end
  // A window starting later: the search reads from a week earlier (kT0 here): answered as stored.
  CHECK(ask(kT0 + 12 * kBin, data_end));

  // Options other than those stored: searched.
  IncidentOptions other;
  other.min_evidence = 5;
  TimelineQuery q;
  q.from_ms = kT0;
  q.until_ms = data_end;
  stored.answered = 0;
  CHECK(stored.incidents(q, other) == plain.incidents(q, other));
  CHECK(stored.answered == 0);

  // The pure answer directly: a part starting inside the first run (its tail ending after the window's start).
  IncidentOptions o;
  o.baseline_window_ms = 0;
  StoredSeries whole = store_series(plain.series(s.key, kT0, data_end, kBin, ""), data_end, o);
  REQUIRE(whole.runs.size() == 2);
  CHECK(whole.runs[0].extent == RunExtent{kT0 + 20 * kBin, kT0 + 21 * kBin});
  CHECK(whole.runs[1].extent == RunExtent{data_end, std::nullopt});
  CHECK(stored_run_windows(whole).size() == 3);  // the open run also over [start, data end)
  complete_stored_runs(whole, {{{"k", "t", 1}}, {}, {{"k", "t", 0}, {"j", "u", 1}}});
  CHECK(whole.runs[0].vantage_points == 1);
  CHECK(whole.runs[1].open_vantage_points == 2);
  CHECK(whole.runs[1].open_decisive == 1);
  const TimelineSource::SeriesRequest inside{s.key, kT0 + 15 * kBin, data_end};
  CHECK_FALSE(incidents_from_stored(whole, info, inside, kT0 + 15 * kBin, data_end, data_end, kBin, o));
  // ... whose tail ends before the window's start: not in the answer either way.
  const TimelineSource::SeriesRequest tail{s.key, kT0 + 15 * kBin, data_end};
  const auto later = incidents_from_stored(whole, info, tail, kT0 + 25 * kBin, data_end, data_end, kBin, o);
  REQUIRE(later);
  REQUIRE(later->size() == 1);
  CHECK(later->front().start_ms == kT0 + 40 * kBin);
  CHECK_FALSE(later->front().end_ms);
  CHECK(later->front().vantage_points == 2);  // ongoing: its window to the data's end
  // Another first bin (data came earlier since): searched.
  SeriesInfo moved = info;
  moved.first_bin_ms -= kBin;
  CHECK_FALSE(incidents_from_stored(whole, moved, {s.key, kT0, data_end}, kT0, data_end, data_end, kBin, o));
}

TEST_CASE("stored incidents: a network series answers only from its first bin and at the stored data end") {
  IncidentOptions o;
  o.min_baseline_ms = 6 * kBin;
  const Series net = network_series([](int b) { return b >= 40 && b < 70 ? 1 : 6; }, [](int) { return 0; });
  const int64_t data_end = kT0 + 100 * kBin;
  StoredSeries whole = store_series(net, data_end, o);
  REQUIRE(whole.runs.size() == 1);
  complete_stored_runs(whole, {{}});
  const SeriesInfo info{net.key, "", kT0, kT0 + 99 * kBin};
  CHECK(incidents_from_stored(whole, info, {net.key, kT0, data_end}, kT0, data_end, data_end, kBin, o));
  CHECK_FALSE(incidents_from_stored(whole, info, {net.key, kT0 + kBin, data_end}, kT0 + kBin, data_end, data_end, kBin, o));
  CHECK_FALSE(incidents_from_stored(whole, info, {net.key, kT0, data_end}, kT0, data_end, data_end + kBin, kBin, o));
  CHECK_FALSE(incidents_from_stored(whole, info, {net.key, kT0, kT0 + 50 * kBin}, kT0, kT0 + 50 * kBin, data_end, kBin, o));
  const auto before = incidents_from_stored(whole, info, {net.key, kT0, kT0 + 30 * kBin}, kT0, kT0 + 30 * kBin, data_end, kBin, o);
  REQUIRE(before);
  CHECK(before->empty());
}

TEST_CASE("stored incidents: a network series read from later than its first bin is searched on its stored bins") {
  // 20 probes online in bins 0..40, 6 in 41..49, 1 in 50..69, 20 again from 70; the data ends at bin 100. The
  // whole series' search sees a shutdown from bin 41; a part read from bin 41 takes 6 probes as its normal and
  // sees one from bin 50, whose independence no stored run has.
  IncidentOptions o;
  o.min_baseline_ms = 3 * kBin;
  o.baseline_window_ms = 20 * kBin;
  // The last probe's queued offline reports in bins 60..69.
  const Series net = network_series([](int b) { return b < 41 || b >= 70 ? 20 : b < 50 ? 6 : 1; },
                                    [](int b) { return b >= 60 && b < 70 ? 1 : 0; });
  const int64_t data_end = kT0 + 100 * kBin;
  SeriesSource plain({net}, data_end);
  StoredSource stored(plain);
  CHECK(stored.store("", o) >= 1);

  StoredSeries whole = store_series(net, data_end, o);
  CHECK(whole.bins.size() == 100);
  CHECK(whole.bins[65] == NetworkBin{kT0 + 65 * kBin, 1, 1});
  CHECK(network_series_from_bins(whole, "", kT0 + 41 * kBin, data_end, kBin).bins ==
        plain.series(net.key, kT0 + 41 * kBin, data_end, kBin, "").bins);
  REQUIRE(whole.runs.size() >= 1);
  CHECK(whole.runs[0].start_ms == kT0 + 41 * kBin);
  complete_stored_runs(whole, std::vector<std::vector<VantageSample>>(stored_run_windows(whole).size()));
  const SeriesInfo info{net.key, "", kT0, kT0 + 99 * kBin};
  const TimelineSource::SeriesRequest part{net.key, kT0 + 41 * kBin, data_end};
  CHECK_FALSE(incidents_from_stored(whole, info, part, part.from_ms, data_end, data_end, kBin, o));
  const auto answer = shutdowns_from_stored_bins(whole, info, part, part.from_ms, data_end, data_end, kBin, o);
  REQUIRE(answer);
  REQUIRE(answer->incidents.size() == 1);
  CHECK(answer->incidents[0].start_ms == kT0 + 50 * kBin);
  CHECK(answer->unassessed == std::vector<size_t>{0});
  CHECK(shutdown_window(answer->incidents[0]).until_ms == kT0 + 50 * kBin);
  // From the first bin its run is a stored one's: assessed.
  const auto from_first = shutdowns_from_stored_bins(whole, info, {net.key, kT0, data_end}, kT0, data_end, data_end, kBin, o);
  REQUIRE(from_first);
  CHECK(from_first->unassessed.empty());
  // Not current (another data end, options or first bin) or bins not covering the part: searched.
  CHECK_FALSE(shutdowns_from_stored_bins(whole, info, part, part.from_ms, data_end, data_end + kBin, kBin, o));
  CHECK_FALSE(shutdowns_from_stored_bins(whole, info, part, part.from_ms, data_end, data_end, kBin, IncidentOptions{}));
  SeriesInfo moved = info;
  moved.first_bin_ms -= kBin;
  CHECK_FALSE(shutdowns_from_stored_bins(whole, moved, part, part.from_ms, data_end, data_end, kBin, o));
  StoredSeries cut = whole;
  cut.bins_until_ms -= kBin;
  CHECK_FALSE(shutdowns_from_stored_bins(cut, info, part, part.from_ms, data_end, data_end, kBin, o));

  // Through the search, every window: the answer is the search's; later windows from the bins.
  size_t compared = 0;
  for (int from = 0; from < 100; from += 3)
    for (const int length : {5, 20, 60, 200}) {
      TimelineQuery q;
      q.from_ms = kT0 + from * kBin;
      q.until_ms = q.from_ms + length * kBin;
      CAPTURE(from);
      CAPTURE(length);
      CHECK(stored.incidents(q, o) == plain.incidents(q, o));
      ++compared;
    }
  CHECK(stored.from_bins > 0);
  CHECK(stored.windows_read > 0);
  CHECK(stored.answered + stored.from_bins + stored.searched == compared);
}

TEST_CASE("stored incidents: the January 2022 replay over many windows and every source equals the search") {
  testing::TempDir dir;
  const auto config = testing::test_config();
  const Replay replay = generate_replay(config);
  testing::IndexedStore indexed(dir);
  REQUIRE(testing::ingest(*indexed.store, replay, 0, replay.envelopes.size()) == replay.envelopes.size());
  StoredSource stored(indexed.index);
  size_t runs = 0;
  for (const std::string source : {"", "kuzet", "ooni"}) runs += stored.store(source, IncidentOptions{});
  CHECK(runs > 0);
  const int64_t start = config.start_ms, end = config.start_ms + config.days * kDay;
  size_t compared = 0;
  for (const std::string source : {"", "kuzet", "ooni"})
    for (int64_t from = start - kDay; from < end; from += int64_t{17} * 3600 * 1000 + 7 * 60 * 1000)
      for (const int64_t length : {int64_t{6 * 3600 * 1000}, 2 * kDay, 5 * kDay, 20 * kDay}) {
        TimelineQuery q;
        q.cc = "KZ";
        q.source = source;
        q.from_ms = from;
        q.until_ms = from + length;
        CAPTURE(source);
        CAPTURE(core::format_utc(q.from_ms));
        CAPTURE(core::format_utc(q.until_ms));
        CHECK(stored.incidents(q, IncidentOptions{}) == indexed.index.incidents(q, IncidentOptions{}));
        ++compared;
      }
  MESSAGE(compared, " windows: ", stored.answered, " series answered from stored runs, ", stored.from_bins,
          " network series searched on stored bins, ", stored.searched, " searched");
  CHECK(stored.answered > stored.searched);
  CHECK(stored.from_bins > 0);
  CHECK(stored.searched > 0);
}
