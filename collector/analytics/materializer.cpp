#include "collector/analytics/materializer.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <chrono>
#include <stdexcept>

#include "collector/analytics/schema.hpp"
#include "collector/analytics/timelines.hpp"
#include "core/encoding/json_parse.hpp"

namespace kuzet::collector::analytics {

namespace {

using timeline::SeriesKey;
using timeline::StoredRun;
using timeline::StoredSeries;

// A run as stored: [kind, start, last_end, closed_at|null, confidence bits, probes, bins, severity bits,
// [methods], vantage_points, decisive, open_vantage_points, open_decisive].
constexpr size_t kRunFields = 13;

[[noreturn]] void broken(const std::string& what) { throw std::runtime_error("ClickHouse reply: stored runs " + what); }

int64_t int_field(const nlohmann::json& v) {
  if (!v.is_number_integer()) broken("hold a non-integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) broken("hold a number out of range");
  return v.get<int64_t>();
}

int small_field(const nlohmann::json& v) {
  const int64_t n = int_field(v);
  if (n < 0 || n > INT32_MAX) broken("hold a count out of range");
  return static_cast<int>(n);
}

// A time in ms: from 1970 to well past any probe's clock (the sums the answer makes of them cannot overflow).
constexpr int64_t kMaxTimeMs = int64_t{1} << 50;
int64_t time_field(const nlohmann::json& v) {
  const int64_t t = int_field(v);
  if (t < 0 || t > kMaxTimeMs) broken("hold a time out of range");
  return t;
}

double double_field(const nlohmann::json& v) {
  if (!v.is_number_unsigned()) broken("hold a double that is not its bits");
  return std::bit_cast<double>(v.get<uint64_t>());
}

}  // namespace

std::string runs_text(const std::vector<StoredRun>& runs) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : runs) {
    out.push_back({r.kind, r.start_ms, r.extent.last_end_ms,
                   r.extent.closed_at_ms ? nlohmann::json(*r.extent.closed_at_ms) : nlohmann::json(nullptr),
                   std::bit_cast<uint64_t>(r.confidence), r.probes, r.bins, std::bit_cast<uint64_t>(r.severity),
                   r.methods, r.vantage_points, r.decisive, r.open_vantage_points, r.open_decisive});
  }
  // Names from uploads are UTF-8 (checked at upload); anything else is replaced, as the exporter does.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::vector<StoredRun> runs_from_text(std::string_view text) {
  // Three levels: the list, a run, its methods.
  const auto parsed = core::parse_json(text, core::JsonLimits{text.size(), 3, text.size() + 1});
  if (!parsed.ok()) broken("are not JSON (" + parsed.error + ")");
  if (!parsed.value.is_array()) broken("are not a list");
  std::vector<StoredRun> out;
  out.reserve(parsed.value.size());
  for (const auto& v : parsed.value) {
    if (!v.is_array() || v.size() != kRunFields) broken("hold a run of another shape");
    StoredRun r;
    if (!v[0].is_string()) broken("hold a kind that is not text");
    r.kind = v[0].get<std::string>();
    r.start_ms = time_field(v[1]);
    r.extent.last_end_ms = time_field(v[2]);
    if (!v[3].is_null()) r.extent.closed_at_ms = time_field(v[3]);
    if (r.extent.last_end_ms <= r.start_ms || (r.extent.closed_at_ms && *r.extent.closed_at_ms < r.extent.last_end_ms))
      broken("hold a run ending before it starts");
    r.confidence = double_field(v[4]);
    r.probes = small_field(v[5]);
    r.bins = small_field(v[6]);
    r.severity = double_field(v[7]);
    if (!v[8].is_array()) broken("hold methods that are not a list");
    for (const auto& m : v[8]) {
      if (!m.is_string()) broken("hold a method that is not text");
      r.methods.push_back(m.get<std::string>());
    }
    r.vantage_points = small_field(v[9]);
    r.decisive = small_field(v[10]);
    r.open_vantage_points = small_field(v[11]);
    r.open_decisive = small_field(v[12]);
    out.push_back(std::move(r));
  }
  return out;
}

std::string stored_series_rows(const std::vector<StoredSeries>& series, const std::string& source, uint64_t watermark,
                               uint64_t made_at_ms) {
  std::string out;
  for (const auto& s : series) {
    const nlohmann::json row = {{"source", source},         {"cc", s.key.cc},
                                {"asn", s.key.asn},         {"target", s.key.target},
                                {"watermark", watermark},   {"made_at", made_at_ms},
                                {"options", s.options},     {"first_bin", s.first_bin_ms},
                                {"data_end", s.data_end_ms}, {"runs", runs_text(s.runs)}};
    out += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  }
  return out;
}

std::string network_bins_rows(const std::vector<StoredSeries>& series, const std::string& source, int64_t base_bin_ms,
                              uint64_t made_at_ms) {
  const int64_t chunk_ms = kBinsPerChunk * base_bin_ms;
  std::string out;
  for (const auto& s : series) {
    if (s.key.target != timeline::kNetworkTarget || s.bins_until_ms <= s.bins_from_ms) continue;
    auto bin = s.bins.begin();
    for (int64_t chunk = s.bins_from_ms / chunk_ms; chunk <= (s.bins_until_ms - 1) / chunk_ms; ++chunk) {
      std::string text;
      for (int64_t t = chunk * chunk_ms; t < (chunk + 1) * chunk_ms; t += base_bin_ms) {
        while (bin != s.bins.end() && bin->start_ms < t) ++bin;
        const bool has = bin != s.bins.end() && bin->start_ms == t;
        if (!text.empty()) text += ' ';
        text += has ? std::to_string(bin->probes) + ' ' + std::to_string(bin->offline) : "0 0";
      }
      const nlohmann::json row = {{"source", source}, {"cc", s.key.cc}, {"asn", s.key.asn}, {"chunk", chunk},
                                  {"made_at", made_at_ms}, {"bins", text}};
      out += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += '\n';
    }
  }
  return out;
}

std::vector<timeline::NetworkBin> network_bins_from_text(std::string_view text, int64_t chunk_start_ms,
                                                         int64_t base_bin_ms) {
  auto bad = [](const char* what) { throw std::runtime_error(std::string("ClickHouse reply: network bins ") + what); };
  std::vector<timeline::NetworkBin> out;
  size_t at = 0;
  // The next count: 1..10 decimal digits, at most INT32_MAX, then a space or (the last) the end.
  auto count = [&](bool last) {
    size_t end = at;
    while (end < text.size() && end - at <= 10 && text[end] >= '0' && text[end] <= '9') ++end;
    if (end == at || end - at > 10) bad("hold a count that is not one");
    int64_t n = 0;
    for (size_t i = at; i < end; ++i) n = n * 10 + (text[i] - '0');
    if (n > INT32_MAX) bad("hold a count out of range");
    if (last ? end != text.size() : (end == text.size() || text[end] != ' ')) bad("are not a chunk's pairs");
    at = end + 1;
    return static_cast<int>(n);
  };
  for (int64_t i = 0; i < kBinsPerChunk; ++i) {
    const int probes = count(false), offline = count(i + 1 == kBinsPerChunk);
    if (offline > probes) bad("hold more probes offline than reported");
    if (probes > 0) out.push_back({chunk_start_ms + i * base_bin_ms, probes, offline});
  }
  return out;
}

std::string network_bins_sql(const std::vector<timeline::NetworkPart>& parts, const std::string& source,
                             int64_t base_bin_ms) {
  const int64_t chunk_ms = kBinsPerChunk * base_bin_ms;
  std::string any;
  for (const auto& p : parts) {
    if (p.until_ms <= p.from_ms) continue;
    any += (any.empty() ? "(" : " OR ") + std::string("(cc = ") + clickhouse::sql_string(p.series->key.cc) +
           " AND asn = " + std::to_string(p.series->key.asn) + " AND chunk >= " + std::to_string(p.from_ms / chunk_ms) +
           " AND chunk <= " + std::to_string((p.until_ms - 1) / chunk_ms) + ")";
  }
  return std::string("SELECT cc, asn, chunk, argMax(bins, made_at) FROM ") + kNetworkBins +
         " WHERE source = " + clickhouse::sql_string(source) + " AND " + (any.empty() ? "0" : any + ")") +
         " GROUP BY cc, asn, chunk";
}

void add_network_bins(const std::vector<timeline::NetworkPart>& parts, const clickhouse::Table& rows,
                      int64_t base_bin_ms) {
  if (rows.size() > 0 && rows.width() != kNetworkBinColumns)
    throw std::runtime_error("ClickHouse reply: network bins of another width");
  const int64_t chunk_ms = kBinsPerChunk * base_bin_ms;
  std::map<SeriesKey, std::vector<size_t>> by_key;
  for (size_t i = 0; i < parts.size(); ++i) by_key[parts[i].series->key].push_back(i);
  std::vector<std::set<int64_t>> seen(parts.size());
  std::vector<std::vector<timeline::NetworkBin>> bins(parts.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t asn = rows.integer(r, 1);
    if (asn < 0 || asn > UINT32_MAX) throw std::runtime_error("ClickHouse reply: ASN out of range");
    const auto it = by_key.find({std::string(rows.text(r, 0)), static_cast<uint32_t>(asn), timeline::kNetworkTarget});
    if (it == by_key.end()) continue;
    const int64_t chunk = rows.integer(r, 2);
    for (size_t i : it->second) {
      const auto& p = parts[i];
      if (chunk < p.from_ms / chunk_ms || chunk > (p.until_ms - 1) / chunk_ms) continue;
      if (!seen[i].insert(chunk).second) throw std::runtime_error("ClickHouse reply: a chunk of network bins twice");
      for (const auto& b : network_bins_from_text(rows.text(r, 3), chunk * chunk_ms, base_bin_ms))
        if (b.start_ms >= p.from_ms && b.start_ms < p.until_ms) bins[i].push_back(b);
    }
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    StoredSeries& s = *parts[i].series;
    const auto& p = parts[i];
    const bool whole = p.until_ms > p.from_ms &&
                       static_cast<int64_t>(seen[i].size()) == (p.until_ms - 1) / chunk_ms - p.from_ms / chunk_ms + 1;
    std::sort(bins[i].begin(), bins[i].end(),
              [](const timeline::NetworkBin& a, const timeline::NetworkBin& b) { return a.start_ms < b.start_ms; });
    s.bins = whole ? std::move(bins[i]) : std::vector<timeline::NetworkBin>{};
    s.bins_from_ms = whole ? p.from_ms : 0;
    s.bins_until_ms = whole ? p.until_ms : 0;
  }
}

std::string networks_with_bins_sql(const std::string& source) {
  return std::string("SELECT DISTINCT cc, asn FROM ") + kNetworkBins +
         " WHERE source = " + clickhouse::sql_string(source);
}

std::set<SeriesKey> networks_from_rows(const clickhouse::Rows& rows) {
  std::set<SeriesKey> out;
  for (const auto& row : rows) {
    if (!row.is_array() || row.size() != 2 || !row[0].is_string() || !row[1].is_number_integer() ||
        row[1].get<int64_t>() < 0 || row[1].get<int64_t>() > UINT32_MAX)
      throw std::runtime_error("ClickHouse reply: a network with bins is not (cc, asn)");
    out.insert({row[0].get<std::string>(), static_cast<uint32_t>(row[1].get<int64_t>()), timeline::kNetworkTarget});
  }
  return out;
}

std::string stored_incidents_sql(const timeline::TimelineQuery& q, const std::string& source) {
  std::string where = " WHERE source = " + clickhouse::sql_string(source);
  if (!q.cc.empty()) where += " AND cc = " + clickhouse::sql_string(q.cc);
  if (q.asn) where += " AND asn = " + std::to_string(*q.asn);
  if (!q.target.empty()) where += " AND target = " + clickhouse::sql_string(q.target);
  return std::string("SELECT cc, asn, target, argMax(options, v), argMax(first_bin, v), argMax(data_end, v),"
                     " argMax(runs, v), any(stored), any(exported) FROM (SELECT cc, asn, target, options, first_bin,"
                     " data_end, runs, (made_at, watermark) AS v, (SELECT max(watermark) FROM ") +
         kIncidentsWatermark + ") AS stored, (SELECT max(next_log_index) FROM " + kExportProgress +
         ") AS exported FROM " + kSeriesIncidents + where + ") GROUP BY cc, asn, target";
}

StoredRead stored_from_rows(const clickhouse::Table& rows) {
  StoredRead out;
  if (rows.width() != kStoredColumns && rows.size() > 0) throw std::runtime_error("ClickHouse reply: stored incidents of another width");
  out.current = rows.size() > 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    StoredSeries s;
    s.key.cc = std::string(rows.text(r, 0));
    const int64_t asn = rows.integer(r, 1);
    if (asn < 0 || asn > UINT32_MAX) throw std::runtime_error("ClickHouse reply: ASN out of range");
    s.key.asn = static_cast<uint32_t>(asn);
    s.key.target = std::string(rows.text(r, 2));
    s.options = std::string(rows.text(r, 3));
    s.first_bin_ms = rows.integer(r, 4);
    s.data_end_ms = rows.integer(r, 5);
    if (s.first_bin_ms < 0 || s.data_end_ms < s.first_bin_ms || s.data_end_ms > kMaxTimeMs)
      throw std::runtime_error("ClickHouse reply: stored series of a span out of range");
    s.runs = runs_from_text(rows.text(r, 6));
    // Watermarks are UInt64 counts of log entries: past INT64_MAX integer() refuses them, as it should.
    if (rows.integer(r, 7) != rows.integer(r, 8)) out.current = false;
    const SeriesKey key = s.key;
    if (!out.series.emplace(key, std::move(s)).second) throw std::runtime_error("ClickHouse reply: a series stored twice");
  }
  return out;
}

std::vector<timeline::SeriesInfo> series_to_search(const std::vector<timeline::SeriesInfo>& listed,
                                                   const std::optional<std::set<SeriesKey>>& touched,
                                                   const StoredRead& stored, const std::set<SeriesKey>& with_bins,
                                                   int64_t data_end_ms) {
  std::vector<timeline::SeriesInfo> out;
  for (const auto& info : listed) {
    bool search = !touched || touched->count(info.key);
    if (!search && info.key.target == timeline::kNetworkTarget) {
      const auto it = stored.series.find(info.key);
      search = it == stored.series.end() || it->second.data_end_ms != data_end_ms || !with_bins.count(info.key);
    }
    if (search) out.push_back(info);
  }
  return out;
}

std::vector<std::string> count_day_sql(int64_t day_ms, uint64_t version, const std::vector<std::string>& day_sources) {
  const std::string at = std::to_string(day_ms) + " AS bin, toUInt64(" + std::to_string(version) + ") AS version";
  // The day column is the server's local date of a bin: the days around hold the day's bins in any time zone.
  const std::string where = " WHERE day >= " + clickhouse::sql_string(clickhouse::date_of(day_ms - kDayMs)) +
                            " AND day <= " + clickhouse::sql_string(clickhouse::date_of(day_ms + kDayMs)) +
                            " AND bin >= " + std::to_string(day_ms) + " AND bin < " + std::to_string(day_ms + kDayMs);
  const std::string into = std::string("INSERT INTO ") + kDayCounts +
                           " (source, cc, asn, target, bin, version, verdict, method, probes) ";
  // Each probe's latest state of the day (argMaxMerge over its bins), counted per state.
  auto counted = [&](const std::string& source, const std::string& by_source) {
    return into + "SELECT " + source + " AS source, cc, asn, target, " + at +
           ", s.1 AS verdict, s.2 AS method, toUInt32(count()) AS probes FROM (SELECT " + by_source +
           "cc, asn, target, key_id, argMaxMerge(latest) AS s FROM " + kProbeBins + where + " GROUP BY " + by_source +
           "cc, asn, target, key_id) GROUP BY " + by_source + "cc, asn, target, verdict, method";
  };
  std::vector<std::string> sql = {counted("source", "source, ")};
  if (day_sources.size() == 1)
    // No alias for the new source: ClickHouse would read it for the column in the WHERE.
    sql.push_back(into + "SELECT '', cc, asn, target, bin, version, verdict, method, probes FROM " +
                  kDayCounts + " WHERE source = " + clickhouse::sql_string(day_sources.front()) + " AND bin = " +
                  std::to_string(day_ms) + " AND version = " + std::to_string(version));
  else if (day_sources.size() > 1)
    sql.push_back(counted("''", ""));
  return sql;
}

std::string day_marks_insert_sql(const std::set<int64_t>& days, DayMark mark, uint64_t version, uint64_t watermark) {
  std::string values;
  for (const int64_t day : days)
    values += (values.empty() ? "" : ", ") + std::string("(") + std::to_string(day) + ", " +
              std::to_string(static_cast<int>(mark)) + ", " + std::to_string(version) + ", " + std::to_string(watermark) + ")";
  return std::string("INSERT INTO ") + kDayMarks + " (bin, kind, version, watermark) VALUES " + values;
}

std::set<int64_t> days_of(const std::vector<int64_t>& started_at_ms) {
  std::set<int64_t> days;
  for (const int64_t t : started_at_ms) days.insert(timeline::bin_floor(t, kDayMs));
  return days;
}

std::vector<int64_t> days_to_count(const std::set<int64_t>& with_data, const std::set<int64_t>& counted) {
  std::vector<int64_t> out;
  // From 1970-01-03: the views' toDate reads a smaller number of seconds as a day number.
  for (const int64_t day : with_data)
    if (day >= 2 * kDayMs && day < (clickhouse::kMaxDateDays - 2) * kDayMs && !counted.count(day)) out.push_back(day);
  return out;
}

IncidentMaterializer::IncidentMaterializer(const clickhouse::ClickHouseUrl& url, int64_t base_bin_ms,
                                           timeline::IncidentOptions options, const clickhouse::ClientLimits& limits)
    : base_bin_ms_(base_bin_ms), options_(options), url_(url), limits_(limits), client_(url.query, url.database, limits) {}

uint64_t IncidentMaterializer::stored_watermark() {
  const auto rows = client_.select(std::string("SELECT max(watermark) FROM ") + kIncidentsWatermark);
  if (rows.size() != 1 || !rows[0][0].is_number_unsigned()) throw std::runtime_error("ClickHouse reply: no incidents watermark");
  return rows[0][0].get<uint64_t>();
}

size_t IncidentMaterializer::count_days(const std::optional<std::set<int64_t>>& days, uint64_t watermark) {
  std::set<int64_t> with_data;
  if (days) {
    with_data = *days;
  } else {
    for (const auto& row : client_.select(std::string("SELECT DISTINCT day_number FROM ") + kVerdictDays)) {
      if (row.size() != 1 || !row[0].is_number_integer()) throw std::runtime_error("ClickHouse reply: a day is not a number");
      const int64_t day = row[0].get<int64_t>();
      if (day >= 0 && day < clickhouse::kMaxDateDays) with_data.insert(day * kDayMs);
    }
  }
  if (with_data.empty()) return 0;
  // Only the days whose counts do not answer now (with `days`: those the pass touched, whatever their marks say).
  const std::set<int64_t> counted =
      days ? std::set<int64_t>{}
           : counted_days_from_rows(client_.select_tsv(
                 day_marks_sql(*with_data.begin(), *with_data.rbegin() + kDayMs), kDayMarkColumns));
  const auto todo = days_to_count(with_data, counted);
  if (todo.empty()) return 0;
  // Later than any version stored before (a clock set back included).
  const auto versions = client_.select(std::string("SELECT max(version) FROM ") + kDayMarks + " WHERE kind != " +
                                       std::to_string(static_cast<int>(DayMark::exported)));
  if (versions.size() != 1 || !versions[0][0].is_number_unsigned()) throw std::runtime_error("ClickHouse reply: no day version");
  const uint64_t version = std::max<uint64_t>(
      versions[0][0].get<uint64_t>() + 1,
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count()));
  for (const int64_t day : todo) {
    std::vector<std::string> sources;
    for (const auto& row : client_.select(std::string("SELECT DISTINCT source FROM ") + kVerdictDays +
                                          " WHERE day_number = " + std::to_string(day / kDayMs) + " ORDER BY source")) {
      if (row.size() != 1 || !row[0].is_string()) throw std::runtime_error("ClickHouse reply: a source is not text");
      sources.push_back(row[0].get<std::string>());
    }
    client_.execute(day_marks_insert_sql({day}, DayMark::started, version, watermark));
    for (const auto& sql : count_day_sql(day, version, sources)) client_.execute(sql);
    client_.execute(day_marks_insert_sql({day}, DayMark::counted, version, watermark));
  }
  return todo.size();
}

IncidentMaterializer::Stats IncidentMaterializer::materialize(const std::optional<std::set<SeriesKey>>& touched,
                                                              uint64_t previous, uint64_t watermark) {
  Stats stats;
  // Touched series only when every other series' stored runs are of the data before this pass.
  const std::optional<std::set<SeriesKey>> search = touched && stored_watermark() == previous ? touched : std::nullopt;
  // The version of the rows stored now: later than any stored before (a clock set back included), so a series
  // stored again replaces its rows whatever watermark another exporter's pass reached meanwhile.
  const auto versions = client_.select(std::string("SELECT max(made_at) FROM ") + kIncidentsWatermark);
  if (versions.size() != 1 || !versions[0][0].is_number_unsigned())
    throw std::runtime_error("ClickHouse reply: no incidents version");
  const uint64_t made_at = std::max<uint64_t>(
      versions[0][0].get<uint64_t>() + 1,
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()));
  ClickHouseTimelines reads(url_, base_bin_ms_, limits_);
  std::vector<std::string> sources = {""};
  for (const auto& row : client_.select(std::string("SELECT DISTINCT source FROM ") + kSeries + " ORDER BY source")) {
    if (row.size() != 1 || !row[0].is_string()) throw std::runtime_error("ClickHouse reply: a source is not text");
    if (!row[0].get<std::string>().empty()) sources.push_back(row[0].get<std::string>());
  }
  for (const auto& source : sources) {
    const int64_t data_end = reads.data_end_ms(source);
    timeline::TimelineQuery all;
    all.source = source;
    timeline::TimelineQuery networks = all;
    networks.target = timeline::kNetworkTarget;
    const StoredRead stored_networks =
        stored_from_rows(client_.select_tsv(stored_incidents_sql(networks, source), kStoredColumns));
    const auto infos = series_to_search(reads.series_list(all), search, stored_networks,
                                        networks_from_rows(client_.select(networks_with_bins_sql(source))), data_end);
    stats.series += infos.size();
    stats.runs += timeline::store_incidents(reads, infos, source, data_end, options_, [&](std::vector<StoredSeries>& part) {
      // The bins before the runs: a series' stored row is never of bins not yet there.
      const std::string bins = network_bins_rows(part, source, base_bin_ms_, made_at);
      if (!bins.empty()) client_.insert_json_rows(kNetworkBins, bins);
      client_.insert_json_rows(kSeriesIncidents, stored_series_rows(part, source, watermark, made_at));
    });
  }
  client_.execute(std::string("INSERT INTO ") + kIncidentsWatermark + " VALUES (" + std::to_string(watermark) + ", " +
                  std::to_string(made_at) + ")");
  return stats;
}

}  // namespace kuzet::collector::analytics
