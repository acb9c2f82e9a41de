#pragma once
// The timeline API's query parameters (untrusted: they come from the URL), parsed into a TimelineQuery.
// Pure functions: the end of the matching data (the default `until`) comes from a callback, so the parser is
// unit- and fuzz-tested without a database (tests/timeline/fuzz_timeline_query.cpp).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collector/query/query.hpp"
#include "collector/timeline/source.hpp"

namespace kuzet::timeline::api {

// The parameters each endpoint applies; anything else is a 400 naming it (docs/api.md).
extern const std::vector<std::string_view> kTimelineParams;
extern const std::vector<std::string_view> kIncidentParams;
extern const std::vector<std::string_view> kSeriesParams;
extern const std::vector<std::string_view> kFeedParams;  // the Atom feed: the incidents' filters, no format

struct QueryLimits {
  int64_t base_bin_ms = 0;
  size_t max_bins = 20000;  // per series
  int64_t default_period_ms = 0;
};

struct ParsedQuery {
  TimelineQuery query;
  bool csv = false;
  std::string kind;                // incidents only; "" = every kind
  std::optional<bool> confirmed;   // incidents only; nullopt = both
  std::string error;               // "" = good; otherwise the 400's detail
};

// End (ms, exclusive) of the stored data matching the place filters of a query; 0 when there is none.
using DataEnd = std::function<int64_t(const TimelineQuery&)>;

// "600" (seconds), "10m", "1h", "1d"; nullopt for anything else or more than 366 days.
std::optional<int64_t> parse_bin(const std::string& text);
// cc (any case), asn (9198 or AS9198), target, category, and source (kuzet, ooni or all): the filters every
// endpoint shares. "" or the error's text.
std::string parse_place(const collector::query::Params& params, TimelineQuery& q);
// `until` defaults to the end of the matching data capped at `now` (not the clock alone: a question about 2022
// gets 2022), `from` to default_period_ms before `until`; both take RFC 3339, a date or Unix seconds.
// `allowed` is one of the lists above; kind and confirmed are read when kIncidentParams allows them.
ParsedQuery parse_query(const collector::query::Params& params, const DataEnd& data_end, const QueryLimits& limits,
                        int64_t now, const std::vector<std::string_view>& allowed);

}  // namespace kuzet::timeline::api
