#pragma once
// The timeline HTTP API and the dashboard, on the collector's cpp-httplib server:
//   GET /api/v1/series      which (cc, asn, target) series exist, with their first and last bin
//   GET /api/v1/timeline    ?cc=&asn=&target=&category=&source=&from=&until=&bin=&format=json|csv
//   GET /api/v1/incidents   same filters (bin ignored: incidents are found on base bins)
//   GET /api/v1/incidents/{id}  one incident by its permanent id
//   GET /                   the dashboard (static files embedded in the binary)
// Times are UTC ISO 8601 ("2022-01-05T11:00:00Z").
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "collector/timeline/incidents.hpp"
#include "collector/timeline/source.hpp"

namespace httplib {
class Server;
}

namespace kuzet::timeline::api {

nlohmann::json series_to_json(const Series& s);
// The same JSON written straight into `out` (the API's path: ~10x faster than building a json tree).
void append_series_json(std::string& out, const Series& s);
// `source` is the query's source= ("" = all): named in the answer and carried into its links.
nlohmann::json incident_to_json(const Incident& i, const std::string& source = "");
std::string timeline_csv(const std::vector<Series>& series);
std::string incidents_csv(const std::vector<Incident>& incidents, const std::string& source = "");

struct ApiOptions {
  IncidentOptions incidents;
  size_t max_series = 200;
  size_t max_bins = 20000;  // per series
  int64_t default_period_ms = 7 * 24 * 60 * kMinuteMs;
  // The clock, for the default `until` and to keep the future (no data yet) out of shutdown detection.
  std::function<int64_t()> now_ms;  // empty = system clock
  // A network's name by AS number, for answers and CSV (the collector's IP->ASN database: collector/asn_db);
  // empty = no names ("" in every answer).
  std::function<std::string(uint32_t asn)> network_name;
};

// The incidents of a place (filters "" / nullopt = any) in the default window (the matching data's last
// default_period_ms, up to now), as the listing writes them: what the webhooks watch (collector/feeds).
std::vector<nlohmann::json> recent_incidents(TimelineSource& timelines, const ApiOptions& options, const std::string& cc,
                                             std::optional<uint32_t> asn, const std::string& target);

// Adds the routes above. `timelines` (the SQLite index or ClickHouse) must outlive the server.
void register_timeline_routes(httplib::Server& server, TimelineSource& timelines, ApiOptions options = {});

}  // namespace kuzet::timeline::api
