#include "collector/timeline/api/query_params.hpp"

#include <algorithm>
#include <charconv>

#include "collector/timeline/timeline.hpp"
#include "core/vocabulary/verdict.hpp"

namespace kuzet::timeline::api {

const std::vector<std::string_view> kTimelineParams = {"cc",    "asn", "target", "category", "source",
                                                        "from",  "until", "bin", "format"};
const std::vector<std::string_view> kIncidentParams = {"cc",    "asn",    "target", "category",  "source",
                                                        "from",  "until",  "format", "kind", "confirmed"};
const std::vector<std::string_view> kSeriesParams = {"cc", "asn", "target", "category", "source"};
const std::vector<std::string_view> kFeedParams = {"cc",   "asn",  "target", "category", "source",
                                                    "from", "until", "kind",  "confirmed"};

namespace {

std::string param(const collector::query::Params& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

bool allows(const std::vector<std::string_view>& allowed, std::string_view name) {
  return std::find(allowed.begin(), allowed.end(), name) != allowed.end();
}

}  // namespace

std::optional<int64_t> parse_bin(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t unit = 1000;
  std::string digits = text;
  switch (text.back()) {
    case 's': unit = 1000; digits.pop_back(); break;
    case 'm': unit = kMinuteMs; digits.pop_back(); break;
    case 'h': unit = 60 * kMinuteMs; digits.pop_back(); break;
    case 'd': unit = 24 * 60 * kMinuteMs; digits.pop_back(); break;
    default: break;
  }
  int64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size() || v <= 0) return std::nullopt;
  if (v > 366LL * 24 * 3600) return std::nullopt;  // keeps v * unit far from overflowing
  const int64_t ms = v * unit;
  if (ms > 366LL * 24 * 60 * kMinuteMs) return std::nullopt;
  return ms;
}

std::string parse_place(const collector::query::Params& params, TimelineQuery& q) {
  if (auto c = param(params, "cc"); !c.empty()) {
    auto cc = collector::query::parse_cc(c);
    if (!cc) return "cc must be a two-letter country code like KZ";
    q.cc = *cc;
  }
  if (auto a = param(params, "asn"); !a.empty()) {
    auto asn = collector::query::parse_asn(a);
    if (!asn) return "asn must be a number like 9198 or AS9198";
    q.asn = *asn;
  }
  q.target = param(params, "target");
  q.category = param(params, "category");
  if (params.count("source")) {
    auto source = collector::query::parse_source(param(params, "source"));
    if (!source) return "source must be kuzet, ooni or all";
    q.source = *source;
  }
  return "";
}

ParsedQuery parse_query(const collector::query::Params& params, const DataEnd& data_end, const QueryLimits& limits,
                        int64_t now, const std::vector<std::string_view>& allowed) {
  ParsedQuery pq;
  auto& q = pq.query;
  auto fail = [&pq](std::string error) { pq.error = std::move(error); return pq; };
  if (auto bad = collector::query::check_names(params, allowed); !bad.empty()) return fail(bad);
  if (auto bad = parse_place(params, q); !bad.empty()) return fail(bad);
  if (auto u = param(params, "until"); !u.empty()) {
    auto t = collector::query::parse_time(u);
    if (!t) return fail("until must be an RFC 3339 time (2022-01-05T11:00:00Z), a date or Unix seconds");
    q.until_ms = *t;
  } else {
    const int64_t end = data_end ? data_end(q) : 0;
    q.until_ms = end > 0 ? std::min(end, now) : now;
  }
  q.from_ms = q.until_ms - limits.default_period_ms;
  if (auto f = param(params, "from"); !f.empty()) {
    auto t = collector::query::parse_time(f);
    if (!t) return fail("from must be an RFC 3339 time (2022-01-04T00:00:00Z), a date or Unix seconds");
    q.from_ms = *t;
  }
  if (q.until_ms <= q.from_ms) return fail("until must be after from");
  q.bin_ms = limits.base_bin_ms;
  if (auto b = param(params, "bin"); !b.empty()) {
    auto v = parse_bin(b);
    if (!v || *v % limits.base_bin_ms != 0)
      return fail("bin must be a multiple of " + std::to_string(limits.base_bin_ms / 1000) + " seconds");
    q.bin_ms = *v;
  }
  if ((q.until_ms - q.from_ms) / q.bin_ms > static_cast<int64_t>(limits.max_bins))
    return fail("too many bins: use a shorter period or a larger bin");
  auto format = param(params, "format");
  if (format == "csv") pq.csv = true;
  else if (!format.empty() && format != "json") return fail("format must be json or csv");
  if (allows(allowed, "kind")) {
    pq.kind = param(params, "kind");
    if (!pq.kind.empty() && !core::verdict::is_interference(pq.kind) && pq.kind != kShutdown)
      return fail("kind must be blocked, intercepted, throttled or shutdown");
  }
  if (allows(allowed, "confirmed")) {
    const auto confirmed = param(params, "confirmed");
    if (confirmed == "true") pq.confirmed = true;
    else if (confirmed == "false") pq.confirmed = false;
    else if (!confirmed.empty()) return fail("confirmed must be true or false");
  }
  return pq;
}

}  // namespace kuzet::timeline::api
