#include "collector/timeline/api/api.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <stdexcept>

#include "collector/feeds/atom.hpp"
#include "collector/pages/pages.hpp"
#include "collector/query/query.hpp"
#include "collector/timeline/api/query_params.hpp"
#include "collector/timeline/api/web_assets.hpp"
#include "core/encoding/utf8.hpp"
#include "core/time.hpp"

namespace kuzet::timeline::api {

namespace {

// Shares have four decimals: enough for any probe count we meet, and short.
double share_of(int part, int whole) { return std::round(10000.0 * part / whole) / 10000.0; }
void append_share(std::string& out, double v) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.4f", v);
  while (n > 1 && buf[n - 1] == '0') --n;
  if (n > 1 && buf[n - 1] == '.') --n;
  out.append(buf, static_cast<size_t>(n));
}

}  // namespace

namespace {

constexpr const char* kJson = "application/json";

// Names come from signed uploads: percent-encoded, so no target can add or change a parameter.
std::string api_query_string(const SeriesKey& key, int64_t from_ms, std::optional<int64_t> until_ms) {
  std::string q = "cc=" + httplib::detail::encode_query_param(key.cc) + "&asn=" + std::to_string(key.asn);
  if (key.target != kNetworkTarget) q += "&target=" + httplib::detail::encode_query_param(key.target);
  q += "&from=" + core::format_utc(from_ms);
  if (until_ms) q += "&until=" + core::format_utc(*until_ms);
  return q;
}

// The dominant state of a bin, for charts and CSV readers: "no_data" when silent.
std::string bin_state(const Bin& b) {
  if (b.probes == 0) return "no_data";
  std::string best;
  int most = -1;
  for (const auto& c : b.counts) {
    int n = b.probes_with(c.verdict);
    if (n > most) most = n, best = c.verdict;
  }
  return best;
}

using collector::query::csv_cell;

std::string fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

}  // namespace

nlohmann::json series_to_json(const Series& s) {
  nlohmann::json bins = nlohmann::json::array();
  for (const auto& b : s.bins) {
    nlohmann::json counts = nlohmann::json::array();
    for (const auto& c : b.counts)
      counts.push_back({{"verdict", c.verdict},
                        {"method", c.method},
                        {"probes", c.probes},
                        {"share", share_of(c.probes, b.probes)}});
    bins.push_back({{"start", core::format_utc(b.start_ms)}, {"probes", b.probes}, {"state", bin_state(b)},
                    {"counts", std::move(counts)}});
  }
  const bool network = s.key.target == kNetworkTarget;
  return {{"cc", s.key.cc},
          {"asn", s.key.asn},
          {"as_name", s.as_name},
          {"target", s.key.target},
          {"kind", network ? "network" : "target"},
          {"category", s.category},
          {"bin_seconds", s.bin_ms / 1000},
          {"bins", std::move(bins)}};
}

void append_series_json(std::string& out, const Series& s) {
  const bool network = s.key.target == kNetworkTarget;
  out += "{\"cc\":" + nlohmann::json(s.key.cc).dump() + ",\"asn\":" + std::to_string(s.key.asn) +
         ",\"as_name\":" + nlohmann::json(s.as_name).dump() +
         ",\"target\":" + nlohmann::json(s.key.target).dump() + ",\"kind\":\"" + (network ? "network" : "target") +
         "\",\"category\":" + nlohmann::json(s.category).dump() + ",\"bin_seconds\":" +
         std::to_string(s.bin_ms / 1000) + ",\"bins\":[";
  for (size_t i = 0; i < s.bins.size(); ++i) {
    const Bin& b = s.bins[i];
    if (i) out += ',';
    out += "{\"start\":\"";
    core::append_utc(out, b.start_ms);
    out += "\",\"probes\":" + std::to_string(b.probes) + ",\"state\":" + nlohmann::json(bin_state(b)).dump() + ",\"counts\":[";
    for (size_t k = 0; k < b.counts.size(); ++k) {
      const auto& c = b.counts[k];
      if (k) out += ',';
      // Verdicts and methods come from signed uploads: escaped like any other string.
      out += "{\"verdict\":" + nlohmann::json(c.verdict).dump() + ",\"method\":" + nlohmann::json(c.method).dump() +
             ",\"probes\":" + std::to_string(c.probes) + ",\"share\":";
      append_share(out, share_of(c.probes, b.probes));
      out += '}';
    }
    out += "]}";
  }
  out += "]}";
}

namespace {
std::string source_name(const std::string& source) { return source.empty() ? "all" : source; }
}  // namespace

nlohmann::json incident_to_json(const Incident& i, const std::string& source) {
  const int64_t until = i.end_ms.value_or(i.start_ms) + 1;  // measurement listing: until is exclusive
  // source is kuzet or ooni (parse_source), so it needs no encoding in a link.
  const std::string of_source = source.empty() ? "" : "source=" + source;
  return {{"id", i.id},
          {"source", source_name(source)},
          {"kind", i.kind},
          {"cc", i.key.cc},
          {"asn", i.key.asn},
          {"as_name", i.as_name},
          {"target", i.key.target},
          {"category", i.category},
          {"methods", i.methods},
          {"start", core::format_utc(i.start_ms)},
          {"end", i.end_ms ? nlohmann::json(core::format_utc(*i.end_ms)) : nlohmann::json(nullptr)},
          {"ongoing", !i.end_ms.has_value()},
          {"confidence", std::round(i.confidence * 1000) / 1000},
          {"probes", i.probes},
          {"bins", i.bins},
          {"severity", std::round(i.severity * 10) / 10},
          {"confirmed", i.confirmed},
          {"vantage_points", i.vantage_points},
          {"decisive_measurements", i.decisive},
          // Targets are names probes report (any characters): the id is percent-encoded in the link.
          {"permalink", "/api/v1/incidents/" + httplib::detail::encode_query_param(i.id) +
                            (of_source.empty() ? "" : "?" + of_source)},
          {"measurements", "/api/v1/measurements?" +
                               api_query_string(i.key, i.start_ms, i.end_ms ? std::optional(until) : std::nullopt) +
                               (of_source.empty() ? "" : "&" + of_source)}};
}

std::string timeline_csv(const std::vector<Series>& series) {
  // Columns added later (as_name) go at the end, so existing readers keep their column numbers.
  std::string out =
      "cc,asn,target,category,bin_start,bin_seconds,probes,state,verdict,method,verdict_probes,share,as_name\n";
  for (const auto& s : series) {
    const std::string head = csv_cell(s.key.cc) + "," + std::to_string(s.key.asn) + "," + csv_cell(s.key.target) +
                             "," + csv_cell(s.category) + ",";
    const std::string tail = "," + csv_cell(s.as_name) + "\n";
    for (const auto& b : s.bins) {
      const std::string bin = core::format_utc(b.start_ms) + "," + std::to_string(s.bin_ms / 1000) + "," +
                              std::to_string(b.probes) + "," + csv_cell(bin_state(b)) + ",";
      if (b.counts.empty()) out += head + bin + ",,0,0" + tail;
      for (const auto& c : b.counts)
        out += head + bin + csv_cell(c.verdict) + "," + csv_cell(c.method) + "," + std::to_string(c.probes) + "," +
               fixed(share_of(c.probes, b.probes)) + tail;
    }
  }
  return out;
}

namespace {
// Methods are method names (docs/verdicts.md: no spaces), so one cell lists them space-separated.
std::string join_methods(const std::vector<std::string>& methods) {
  std::string out;
  for (const auto& m : methods) out += (out.empty() ? "" : " ") + m;
  return out;
}
}  // namespace

std::string incidents_csv(const std::vector<Incident>& incidents, const std::string& source) {
  std::string out =
      "id,kind,cc,asn,target,category,start,end,confidence,probes,bins,severity,measurements,ongoing,confirmed,"
      "vantage_points,decisive_measurements,source,as_name,methods\n";
  for (const auto& i : incidents) {
    auto j = incident_to_json(i, source);
    out += csv_cell(i.id) + "," + csv_cell(i.kind) + "," + csv_cell(i.key.cc) + "," + std::to_string(i.key.asn) + "," +
           csv_cell(i.key.target) + "," + csv_cell(i.category) + "," + core::format_utc(i.start_ms) + "," +
           (i.end_ms ? core::format_utc(*i.end_ms) : std::string()) + "," + fixed(i.confidence) + "," +
           std::to_string(i.probes) + "," + std::to_string(i.bins) + "," + fixed(i.severity) + "," +
           csv_cell(j["measurements"].get<std::string>()) + "," + (i.end_ms ? "false" : "true") + "," +
           (i.confirmed ? "true" : "false") + "," + std::to_string(i.vantage_points) + "," +
           std::to_string(i.decisive) + "," + source_name(source) + "," + csv_cell(i.as_name) + "," +
           csv_cell(join_methods(i.methods)) + "\n";
  }
  return out;
}

namespace {

void send_error(httplib::Response& res, int status, const std::string& error, const std::string& detail) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", error}, {"detail", detail}}.dump(), kJson);
}

// The default `until` of a query: where the stored data matching its place filters ends.
DataEnd data_end(TimelineSource& timelines) {
  return [&timelines](const TimelineQuery& q) {
    int64_t end = 0;
    for (const auto& s : timelines.series_list(q)) end = std::max(end, s.last_bin_ms + timelines.base_bin_ms());
    return end;
  };
}

QueryLimits limits(const TimelineSource& timelines, const ApiOptions& o) {
  return {timelines.base_bin_ms(), o.max_bins, o.default_period_ms};
}

int64_t now_of(const ApiOptions& o) {
  return o.now_ms ? o.now_ms() : core::to_unix_ms(std::chrono::system_clock::now());
}

// The network's name, or "" without an ASN database. A name that is not strict UTF-8 (a broken database
// line) is left out rather than failing the answer.
std::string network_name_of(const ApiOptions& o, uint32_t asn) {
  std::string name = o.network_name ? o.network_name(asn) : std::string();
  try {
    core::decode_utf8(name);
  } catch (const std::invalid_argument&) {
    name.clear();
  }
  return name;
}

// The incidents a parsed query asks for, named (the listing, the feed, the webhooks).
std::vector<Incident> find_incidents(TimelineSource& timelines, const ApiOptions& options, ParsedQuery& pq) {
  pq.query.until_ms = std::min(pq.query.until_ms, now_of(options));  // the future has no data yet
  std::vector<Incident> found;
  if (pq.query.until_ms > pq.query.from_ms) found = timelines.incidents(pq.query, options.incidents);
  if (!pq.kind.empty()) std::erase_if(found, [&](const Incident& i) { return i.kind != pq.kind; });
  if (pq.confirmed) std::erase_if(found, [&](const Incident& i) { return i.confirmed != *pq.confirmed; });
  for (auto& i : found) i.as_name = network_name_of(options, i.key.asn);
  return found;
}

}  // namespace

std::vector<nlohmann::json> recent_incidents(TimelineSource& timelines, const ApiOptions& options, const std::string& cc,
                                             std::optional<uint32_t> asn, const std::string& target) {
  collector::query::Params params;
  if (!cc.empty()) params.emplace("cc", cc);
  if (asn) params.emplace("asn", std::to_string(*asn));
  if (!target.empty()) params.emplace("target", target);
  auto pq = parse_query(params, data_end(timelines), limits(timelines, options), now_of(options), kFeedParams);
  if (!pq.error.empty()) throw std::invalid_argument(pq.error);
  std::vector<nlohmann::json> out;
  for (const auto& i : find_incidents(timelines, options, pq)) out.push_back(incident_to_json(i));
  return out;
}

void register_timeline_routes(httplib::Server& server, TimelineSource& timelines, ApiOptions options) {
  if (!options.now_ms)
    options.now_ms = [] { return core::to_unix_ms(std::chrono::system_clock::now()); };
  // Handlers turn escaped exceptions (storage failures, bugs) into a JSON 500, like the collector's own.
  auto guarded = [](auto fn) {
    return [fn](const httplib::Request& req, httplib::Response& res) {
      try {
        fn(req, res);
      } catch (const std::exception& e) {
        send_error(res, 500, "internal", e.what());
      }
    };
  };

  auto network_name = [options](uint32_t asn) { return network_name_of(options, asn); };

  server.Get("/api/v1/series", guarded([&timelines, network_name](const httplib::Request& req, httplib::Response& res) {
               TimelineQuery q;
               if (auto bad = collector::query::check_names(req.params, kSeriesParams); !bad.empty())
                 return send_error(res, 400, "malformed", bad);
               if (auto bad = parse_place(req.params, q); !bad.empty())
                 return send_error(res, 400, "malformed", bad);
               nlohmann::json list = nlohmann::json::array();
               for (const auto& s : timelines.series_list(q))
                 list.push_back({{"cc", s.key.cc},
                                 {"asn", s.key.asn},
                                 {"as_name", network_name(s.key.asn)},
                                 {"target", s.key.target},
                                 {"category", s.category},
                                 {"first", core::format_utc(s.first_bin_ms)},
                                 {"last", core::format_utc(s.last_bin_ms + timelines.base_bin_ms())}});
               res.set_content(nlohmann::json{{"bin_seconds", timelines.base_bin_ms() / 1000},
                                              {"source", source_name(q.source)},
                                              {"series", list}}.dump(),
                               kJson);
             }));

  server.Get("/api/v1/timeline", guarded([&timelines, options, network_name](const httplib::Request& req, httplib::Response& res) {
               auto pq = parse_query(req.params, data_end(timelines), limits(timelines, options), options.now_ms(),
                                     kTimelineParams);
               if (!pq.error.empty()) return send_error(res, 400, "malformed", pq.error);
               auto list = timelines.series_list(pq.query);
               if (list.size() > options.max_series)
                 return send_error(res, 400, "too_many_series", "narrow the query with cc, asn, target or category");
               std::vector<Series> series;
               for (const auto& info : list) {
                 series.push_back(
                     timelines.series(info.key, pq.query.from_ms, pq.query.until_ms, pq.query.bin_ms, pq.query.source));
                 series.back().category = info.category;
                 series.back().as_name = network_name(info.key.asn);
               }
               if (pq.csv) {
                 res.set_header("Content-Disposition", "attachment; filename=\"kuzet-timeline.csv\"");
                 return res.set_content(timeline_csv(series), "text/csv; charset=utf-8");
               }
               std::string out = "{\"from\":\"" + core::format_utc(bin_floor(pq.query.from_ms, pq.query.bin_ms)) +
                                 "\",\"until\":\"" + core::format_utc(bin_ceil(pq.query.until_ms, pq.query.bin_ms)) +
                                 "\",\"bin_seconds\":" + std::to_string(pq.query.bin_ms / 1000) +
                                 ",\"source\":\"" + source_name(pq.query.source) + "\",\"series\":[";
               for (size_t i = 0; i < series.size(); ++i) {
                 if (i) out += ',';
                 append_series_json(out, series[i]);
               }
               out += "]}";
               res.set_content(out, kJson);
             }));

  auto find_incidents = [&timelines, options](ParsedQuery& pq) { return api::find_incidents(timelines, options, pq); };

  server.Get("/api/v1/incidents", guarded([&timelines, options, find_incidents](const httplib::Request& req, httplib::Response& res) {
               auto pq = parse_query(req.params, data_end(timelines), limits(timelines, options), options.now_ms(),
                                     kIncidentParams);
               if (!pq.error.empty()) return send_error(res, 400, "malformed", pq.error);
               auto found = find_incidents(pq);
               if (pq.csv) {
                 res.set_header("Content-Disposition", "attachment; filename=\"kuzet-incidents.csv\"");
                 return res.set_content(incidents_csv(found, pq.query.source), "text/csv; charset=utf-8");
               }
               nlohmann::json out{{"from", core::format_utc(pq.query.from_ms)},
                                  {"until", core::format_utc(pq.query.until_ms)},
                                  {"source", source_name(pq.query.source)},
                                  {"incidents", nlohmann::json::array()}};
               for (const auto& i : found) out["incidents"].push_back(incident_to_json(i, pq.query.source));
               res.set_content(out.dump(), kJson);
             }));

  // Atom: opened, ended and confirmed events of the incidents the same filters select (collector/feeds).
  server.Get("/api/v1/feeds/incidents.atom",
             guarded([&timelines, options, find_incidents](const httplib::Request& req, httplib::Response& res) {
               auto pq = parse_query(req.params, data_end(timelines), limits(timelines, options), options.now_ms(),
                                     kFeedParams);
               if (!pq.error.empty()) return send_error(res, 400, "malformed", pq.error);
               std::vector<nlohmann::json> incidents;
               for (const auto& i : find_incidents(pq)) incidents.push_back(incident_to_json(i, pq.query.source));
               std::string title = "Kuzet incidents";
               for (const auto& [name, prefix] : {std::pair{"cc", " "}, std::pair{"asn", " AS"}, std::pair{"target", " "}})
                 if (req.has_param(name)) title += prefix + req.get_param_value(name);
               collector::feeds::FeedInfo info;
               // The query as given, re-encoded: names from the URL never reach the XML unescaped.
               info.self_path = "/api/v1/feeds/incidents.atom";
               std::string query;
               for (const auto& [k, v] : req.params)
                 query += (query.empty() ? "?" : "&") + k + "=" + httplib::detail::encode_query_param(v);
               info.self_path += query;
               info.title = title;
               info.updated = core::format_utc(pq.query.until_ms);
               res.set_content(collector::feeds::incidents_atom(collector::feeds::incident_events(incidents), info),
                               "application/atom+xml; charset=utf-8");
             }));

  // Any id: its target part is whatever name the probes reported (parse_incident_id checks the rest).
  server.Get(R"(/api/v1/incidents/(.+))",
             guarded([&timelines, options, network_name](const httplib::Request& req, httplib::Response& res) {
               // One permalink for people and programs: a page in words for a browser (Accept: text/html),
               // JSON otherwise or with ".json" appended.
               std::string id = req.matches[1];
               bool html = collector::pages::wants_html(req.get_header_value("Accept"));
               if (id.size() > 5 && id.compare(id.size() - 5, 5, ".json") == 0) {
                 id.resize(id.size() - 5);
                 html = false;
               }
               res.set_header("Vary", "Accept, Accept-Language");
               auto ref = parse_incident_id(id);
               if (!ref) return send_error(res, 404, "not_found", "no incident " + id);
               TimelineQuery q;
               // source= as in the incident's permalink, and lang= for its page; no other parameter.
               if (auto bad = collector::query::check_names(req.params, {"source", "lang"}); !bad.empty())
                 return send_error(res, 400, "malformed", bad);
               const std::string lang_param = req.get_param_value("lang");
               auto lang = collector::pages::pick_language(req.has_param("lang") ? &lang_param : nullptr,
                                                          req.get_header_value("Accept-Language"));
               if (!lang) return send_error(res, 400, "malformed", "lang must be en, ru or kk");
               if (req.has_param("source")) {
                 auto source = collector::query::parse_source(req.get_param_value("source"));
                 if (!source) return send_error(res, 400, "malformed", "source must be kuzet, ooni or all");
                 q.source = *source;
               }
               q.cc = ref->key.cc;
               q.asn = ref->key.asn;
               q.target = ref->key.target;
               q.from_ms = ref->start_ms;
               // Up to 60 days on: enough to see how it ended; a longer incident shows as still going on.
               q.until_ms = std::min(ref->start_ms + 60 * 24 * 60 * kMinuteMs, options.now_ms());
               if (q.until_ms <= q.from_ms) return send_error(res, 404, "not_found", "no incident " + id);
               // Late uploads can move a start by a bin or two: then the incident covering that moment answers.
               const Incident* best = nullptr;
               auto found = timelines.incidents(q, options.incidents);
               for (const auto& i : found) {
                 if (i.kind != ref->kind || !(i.key == ref->key)) continue;
                 if (i.id == id) best = &i;
                 else if (!best && i.start_ms <= ref->start_ms && i.end_ms.value_or(INT64_MAX) > ref->start_ms)
                   best = &i;
               }
               if (!best) return send_error(res, 404, "not_found", "no incident " + id);
               Incident found_one = *best;
               found_one.as_name = network_name(found_one.key.asn);
               auto j = incident_to_json(found_one, q.source);
               if (best->id != id) j["requested_id"] = id;
               if (html) return res.set_content(collector::pages::incident_page(j, *lang), "text/html; charset=utf-8");
               res.set_content(j.dump(), kJson);
             }));

  for (size_t i = 0; i < kWebAssetCount; ++i) {
    const WebAsset& a = kWebAssets[i];
    server.Get(a.path, [a](const httplib::Request&, httplib::Response& res) {
      res.set_content(reinterpret_cast<const char*>(a.data), a.size, a.content_type);
    });
  }
}

}  // namespace kuzet::timeline::api
