#include "collector/query/list_measurements.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <charconv>

#include "collector/query/query.hpp"
#include "core/time.hpp"
#include "core/vocabulary/method.hpp"
#include "core/vocabulary/verdict.hpp"

namespace kuzet::collector::query {

namespace {

constexpr const char* kJson = "application/json";
constexpr size_t kDefaultPage = 100;
constexpr size_t kMaxPage = 1000;

// probe_cc and probe_asn are OONI's names for cc and asn.
const std::vector<std::string_view> kParams = {"cc",      "probe_cc", "asn",   "probe_asn", "target", "category",
                                               "verdict", "method",   "from",  "until",     "limit",  "cursor",
                                               "format",  "source",    "confirmed"};

void send_error(httplib::Response& res, const std::string& detail) {
  res.status = 400;
  res.set_content(nlohmann::json{{"error", "malformed"}, {"detail", detail}}.dump(), kJson);
}

std::optional<int64_t> parse_int(const std::string& text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

// The cursor is "<started_at ms>:<uid>" of the last row of the previous page; opaque to clients.
std::string make_cursor(const ListPosition& p) { return std::to_string(p.started_at_ms) + ":" + p.uid; }
std::optional<ListPosition> parse_cursor(const std::string& text) {
  size_t colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  auto ms = parse_int(text.substr(0, colon));
  if (!ms || colon + 1 == text.size()) return std::nullopt;
  return ListPosition{*ms, text.substr(colon + 1)};
}

bool known_method(const std::string& m) {
  if (m.empty() || m == core::method::tls_mitm || m == core::method::throughput) return true;
  for (auto b : core::method::blocking)
    if (b == m) return true;
  return false;
}

std::string format_time(int64_t ms) { return core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(ms))); }

}  // namespace

void list_measurements(Store& store, const httplib::Request& req, httplib::Response& res,
                       const std::vector<LineFormat>& formats, const NetworkNames& network_name) {
  if (auto bad = check_names(req.params, kParams); !bad.empty()) return send_error(res, bad);
  auto param = [&](const char* name) { return req.has_param(name) ? req.get_param_value(name) : std::string(); };
  ListQuery q;
  q.filter.limit = kDefaultPage;
  for (const char* name : {"cc", "probe_cc"}) {
    if (auto c = param(name); !c.empty()) {
      auto cc = parse_cc(c);
      if (!cc) return send_error(res, std::string(name) + " must be a two-letter country code like KZ");
      if (!q.filter.cc.empty() && q.filter.cc != *cc) return send_error(res, "cc and probe_cc disagree");
      q.filter.cc = *cc;
    }
  }
  for (const char* name : {"asn", "probe_asn"}) {
    if (auto a = param(name); !a.empty()) {
      auto asn = parse_asn(a);
      if (!asn) return send_error(res, std::string(name) + " must be a number like 9198 or AS9198");
      if (q.filter.asn && *q.filter.asn != *asn) return send_error(res, "asn and probe_asn disagree");
      q.filter.asn = *asn;
    }
  }
  if (req.has_param("source")) {
    auto source = parse_source(param("source"));
    if (!source) return send_error(res, "source must be kuzet, ooni or all");
    q.filter.source = *source;
  }
  if (auto c = param("confirmed"); !c.empty()) {
    if (c != "true" && c != "false") return send_error(res, "confirmed must be true or false");
    q.filter.confirmed = c == "true";
  }
  q.filter.target = param("target");
  q.filter.category = param("category");
  if (auto v = param("verdict"); !v.empty()) {
    if (!core::verdict::is_known(v)) return send_error(res, "verdict must be one of docs/verdicts.md's verdicts");
    q.filter.verdict = v;
  }
  if (req.has_param("method")) {
    auto m = param("method");
    if (!known_method(m)) return send_error(res, "method must be one of docs/verdicts.md's methods");
    q.filter.method = m;
  }
  for (auto [name, field] : {std::pair{"from", &q.filter.from_ms}, std::pair{"until", &q.filter.until_ms}}) {
    if (auto t = param(name); !t.empty()) {
      *field = parse_time(t);
      if (!*field) return send_error(res, std::string(name) + " must be an RFC 3339 time, a date or Unix seconds");
    }
  }
  if (q.filter.from_ms && q.filter.until_ms && *q.filter.until_ms <= *q.filter.from_ms)
    return send_error(res, "until must be after from");
  if (auto l = param("limit"); !l.empty()) {
    auto v = parse_int(l);
    if (!v || *v < 1 || *v > static_cast<int64_t>(kMaxPage))
      return send_error(res, "limit must be 1.." + std::to_string(kMaxPage));
    q.filter.limit = static_cast<size_t>(*v);
  }
  if (auto c = param("cursor"); !c.empty()) {
    q.after = parse_cursor(c);
    if (!q.after) return send_error(res, "bad cursor");
  }
  const std::string format = param("format");
  const LineFormat* line_format = nullptr;
  for (const auto& f : formats)
    if (f.name == format) line_format = &f;
  if (!format.empty() && format != "json" && format != "csv" && !line_format) {
    std::string names = "json, csv";
    for (const auto& f : formats) names += ", " + f.name;
    return send_error(res, "format must be one of " + names);
  }

  const size_t page = q.filter.limit;
  q.filter.limit = page + 1;  // one more tells whether a next page exists
  auto rows = store.list(q);
  std::string next;
  if (rows.size() > page) {
    rows.resize(page);
    next = make_cursor(rows.back().position);
  }
  if (format == "csv") {
    // as_name and confirmed were added later: last, so existing readers keep their column numbers.
    std::string body =
        "measurement_uid,started_at,received_at,cc,asn,target,category,verdict,method,key_id,as_name,confirmed\n";
    for (const auto& r : rows) {
      const auto& m = r.summary;
      body += csv_cell(m.uid) + "," + format_time(m.started_at_ms) + "," + format_time(m.received_at_ms) + "," +
              csv_cell(m.cc) + "," + std::to_string(m.asn) + "," + csv_cell(m.target) + "," + csv_cell(m.category) +
              "," + csv_cell(m.verdict) + "," + csv_cell(m.method) + "," + csv_cell(m.key_id) + "," +
              csv_cell(network_name ? network_name(m.asn) : std::string()) + "," + (r.confirmed ? "true" : "false") +
              "\n";
    }
    res.set_header("X-Next-Cursor", next);
    res.set_header("Content-Disposition", "attachment; filename=\"kuzet-measurements.csv\"");
    return res.set_content(body, "text/csv; charset=utf-8");
  }
  if (line_format) {
    std::string body;
    size_t skipped = 0;
    for (const auto& r : rows) {
      try {
        body += line_format->line(r);
        body += '\n';
      } catch (const std::exception&) {
        ++skipped;
      }
    }
    res.set_header("X-Next-Cursor", next);
    res.set_header("X-Kuzet-Skipped", std::to_string(skipped));
    res.set_header("Content-Disposition", "attachment; filename=\"" + line_format->filename + "\"");
    return res.set_content(body, line_format->content_type);
  }
  // Envelopes are pasted in as stored: byte-identical to what the probes uploaded. What the collector says
  // of each (not signed by the probe) goes beside them, in the same order, never inside.
  std::string body = "{\"measurements\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) body += ',';
    body += rows[i].envelope;
  }
  body += "],\"confirmed\":[";
  for (size_t i = 0; i < rows.size(); ++i) body += (i ? "," : "") + std::string(rows[i].confirmed ? "true" : "false");
  body += "],\"next_cursor\":" + nlohmann::json(next).dump() + "}";
  res.set_content(body, kJson);
}

}  // namespace kuzet::collector::query
