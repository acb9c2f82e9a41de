#include "collector/pages/pages.hpp"

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

#include "ascii/ascii.hpp"
#include "collector/timeline/timeline.hpp"
#include "collector/vantage/vantage.hpp"
#include "core/crypto/crypto.hpp"
#include "core/html.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "core/synthetic.hpp"
#include "core/time.hpp"
#include "core/vocabulary/verdict.hpp"
#include "i18n/embedded_pages.hpp"
#include "i18n/i18n.hpp"
#include "i18n/language.hpp"
#include "negotiation/negotiation.hpp"

namespace kuzet::collector::pages {

namespace {

using core::html_escape;
using Vars = std::vector<std::pair<std::string, std::string>>;

// How an Accept header ranks one media type (RFC 9110 12.5.1): by the most specific ranges naming it
// (3: "text/html", 2: "text/*", 1: "*/*"; parameters other than q are not read), the highest q among those.
struct MediaRank {
  int specificity = 0;  // 0 while no range names the type
  int q = -1;           // thousandths
  void offer(int range_specificity, int range_q) {
    if (range_specificity == 0) return;
    if (range_specificity > specificity || (range_specificity == specificity && range_q > q))
      specificity = range_specificity, q = range_q;
  }
};

int specificity(std::string_view range, std::string_view type, std::string_view subtype) {
  const size_t slash = range.find('/');
  if (slash == std::string_view::npos) return 0;
  const std::string_view range_type = range.substr(0, slash), range_subtype = range.substr(slash + 1);
  if (range_type == "*") return range_subtype == "*" ? 1 : 0;
  if (!ascii::equals_ignoring_case(range_type, type)) return 0;
  if (range_subtype == "*") return 2;
  return ascii::equals_ignoring_case(range_subtype, subtype) ? 3 : 0;
}

const i18n::Catalog& catalog(const std::string& lang) {
  static const i18n::Catalog en = i18n::Catalog::embedded(i18n::embedded::pages, "en");
  static const i18n::Catalog ru = i18n::Catalog::embedded(i18n::embedded::pages, "ru");
  static const i18n::Catalog kk = i18n::Catalog::embedded(i18n::embedded::pages, "kk");
  return lang == "ru" ? ru : lang == "kk" ? kk : en;
}

// Every value is escaped before it goes into a text: the texts themselves are ours.
std::string say(const i18n::Catalog& t, const char* key, const Vars& vars = {}) {
  Vars escaped;
  for (const auto& [k, v] : vars) escaped.emplace_back(k, html_escape(v));
  return t.format(key, escaped);
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string network_label(const i18n::Catalog& t, int64_t asn, const std::string& name) {
  return name.empty() ? t.format("network.unnamed", {{"asn", std::to_string(asn)}})
                      : t.format("network.named", {{"asn", std::to_string(asn)}, {"name", name}});
}

// "2022-01-05T10:30:00Z" -> "2022-01-05 10:30"
std::string human_time(const std::string& iso) {
  if (iso.size() < 16 || iso[10] != 'T') return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
    else out += {'%', hex[c >> 4], hex[c & 15]};
  }
  return out;
}

// The page around a body: language links keep the page's own path; JSON is the alternate representation.
std::string document(const i18n::Catalog& t, const std::string& lang, const std::string& title,
                     const std::string& self_path, const std::string& json_path, const std::string& body) {
  std::string languages;
  for (const auto language : i18n::kLanguages) {
    const std::string l(language);
    const i18n::Catalog& other = catalog(l);
    languages += std::string(" <a href=\"") + html_escape(self_path) + (self_path.find('?') == std::string::npos ? "?" : "&amp;") +
                 "lang=" + l + "\" hreflang=\"" + l + "\" lang=\"" + l + "\"" +
                 (lang == l ? " aria-current=\"true\"" : "") + ">" + html_escape(other.text("lang.name")) + "</a>";
  }
  return "<!doctype html>\n<html lang=\"" + lang + "\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" + html_escape(title) +
         " · Kuzet</title>\n<link rel=\"stylesheet\" href=\"/style.css\">\n"
         "<link rel=\"alternate\" type=\"application/json\" href=\"" + html_escape(json_path) + "\">\n</head>\n"
         "<body class=\"page\">\n<header><p class=\"site\"><a href=\"/\">" + html_escape(t.text("site")) +
         "</a></p>\n<nav aria-label=\"" + html_escape(t.text("nav.languages")) + "\">" + languages +
         "</nav></header>\n<main>\n<h1>" + html_escape(title) + "</h1>\n" + body +
         "<p class=\"utc\">" + html_escape(t.text("utc")) + "</p>\n<p><a href=\"" + html_escape(json_path) +
         "\" type=\"application/json\">" + html_escape(t.text("nav.json")) + "</a></p>\n</main>\n</body>\n</html>\n";
}

std::string row(const std::string& name, const std::string& value_html) {
  return "<tr><th scope=\"row\">" + html_escape(name) + "</th><td>" + value_html + "</td></tr>\n";
}

}  // namespace

bool wants_html(std::string_view accept) {
  MediaRank html, json;
  negotiation::WeightedList ranges(accept);
  for (negotiation::Weighted range; ranges.next(range);) {
    html.offer(specificity(range.value, "text", "html"), range.q);
    json.offer(specificity(range.value, "application", "json"), range.q);
  }
  if (html.q <= 0) return false;  // not named, or refused (q=0)
  // Equal q: the type its own range names wins over one a wildcard covers ("text/html, */*" is a browser);
  // equal in both, JSON, the API's default ("*/*" alone is curl).
  return html.q > json.q || (html.q == json.q && html.specificity > json.specificity);
}

std::optional<std::string> pick_language(const std::string* lang, std::string_view accept_language) {
  if (lang) {
    if (i18n::is_supported_language(*lang)) return *lang;
    return std::nullopt;
  }
  return i18n::language_from_accept(accept_language, i18n::kDefaultLanguage);
}

std::string incident_page(const nlohmann::json& i, const std::string& lang) {
  const i18n::Catalog& t = catalog(lang);
  const std::string kind = str(i, "kind");
  const std::string network = network_label(t, num(i, "asn"), str(i, "as_name"));
  const Vars place = {{"network", network}, {"cc", str(i, "cc")}, {"target", str(i, "target")}};
  const std::string known_kind = core::verdict::is_interference(kind) ? kind : std::string(timeline::kShutdown);
  const std::string title = t.format("incident.title." + known_kind, place);
  std::string body = "<p class=\"what\">" + say(t, ("incident.what." + known_kind).c_str(), place) + "</p>\n";
  const std::string start = str(i, "start"), end = str(i, "end");
  if (!end.empty()) {
    const int64_t minutes = [&] {
      auto s = core::parse_rfc3339(start), e = core::parse_rfc3339(end);
      return s && e ? std::chrono::duration_cast<std::chrono::minutes>(*e - *s).count() : 0;
    }();
    char hours[32];
    std::snprintf(hours, sizeof hours, "%.1f", minutes / 60.0);
    body += "<p class=\"when\">" + say(t, "incident.when.ended", {{"start", human_time(start)}, {"end", human_time(end)},
                                                                  {"hours", hours}}) + "</p>\n";
  } else {
    body += "<p class=\"when\">" + say(t, "incident.when.ongoing", {{"start", human_time(start)}}) + "</p>\n";
  }
  std::string methods;
  if (i.contains("methods") && i["methods"].is_array())
    for (const auto& m : i["methods"])
      if (m.is_string()) methods += (methods.empty() ? "" : ", ") + m.get<std::string>();
  body += "<p class=\"how\">" +
          (methods.empty() ? say(t, "incident.how.none") : say(t, "incident.how", {{"methods", methods}})) + "</p>\n";
  char confidence[16];
  std::snprintf(confidence, sizeof confidence, "%.2f", i.value("confidence", 0.0));
  body += "<p class=\"evidence\">" + say(t, "incident.evidence", {{"probes", std::to_string(num(i, "probes"))},
                                                                   {"bins", std::to_string(num(i, "bins"))},
                                                                   {"confidence", confidence}}) + "</p>\n";
  const bool confirmed = i.value("confirmed", false);
  body += std::string("<p class=\"status ") + (confirmed ? "confirmed" : "unconfirmed") + "\">" +
          say(t, confirmed ? "incident.confirmed" : "incident.unconfirmed",
              {{"n", std::to_string(num(i, "vantage_points"))}}) + "</p>\n";
  if (i.contains("requested_id"))
    body += "<p class=\"moved\">" + say(t, "incident.requested", {{"id", str(i, "requested_id")}}) + "</p>\n";
  const std::string measurements = str(i, "measurements");
  body += "<p><a href=\"" + html_escape(measurements) + "\">" + html_escape(t.text("incident.measurements")) +
          "</a> (<a href=\"" + html_escape(measurements + "&format=csv") + "\">" +
          html_escape(t.text("incident.measurements_csv")) + "</a>)</p>\n";
  std::string dashboard = "/?cc=" + url_encode(str(i, "cc")) + "&asn=" + std::to_string(num(i, "asn")) +
                          (str(i, "target") == "*" ? "" : "&target=" + url_encode(str(i, "target")));
  body += "<p><a href=\"" + html_escape(dashboard) + "\">" + html_escape(t.text("nav.dashboard")) + "</a></p>\n";

  body += "<table class=\"facts\">\n";
  body += row(t.text("field.kind"), html_escape(t.text("kind." + known_kind)));
  body += row(t.text("field.country"), html_escape(str(i, "cc")));
  body += row(t.text("field.network"), html_escape(network));
  if (str(i, "target") != "*") body += row(t.text("field.target"), html_escape(str(i, "target")));
  if (!str(i, "category").empty()) body += row(t.text("field.category"), html_escape(str(i, "category")));
  body += row(t.text("field.start"), html_escape(human_time(start)));
  body += row(t.text("field.end"), html_escape(end.empty() ? t.text("field.end.ongoing") : human_time(end)));
  if (!methods.empty()) body += row(t.text("field.methods"), html_escape(methods));
  body += row(t.text("field.confidence"), confidence);
  body += row(t.text("field.vantage_points"), std::to_string(num(i, "vantage_points")));
  body += row(t.text("field.decisive"), std::to_string(num(i, "decisive_measurements")));
  body += row(t.text("field.source"), html_escape(str(i, "source")));
  body += row(t.text("field.id"), "<code>" + html_escape(str(i, "id")) + "</code>");
  body += "</table>\n";

  const std::string source = str(i, "source");
  const std::string of_source = source.empty() || source == "all" ? "" : "?source=" + url_encode(source);
  const std::string self = "/api/v1/incidents/" + url_encode(str(i, "id")) + of_source;
  const std::string json = "/api/v1/incidents/" + url_encode(str(i, "id")) + ".json" + of_source;
  return document(t, lang, title, self, json, body);
}

MeasurementFacts measurement_facts(Store& store, const std::string& uid, const std::string& envelope,
                                   uint64_t checkpoint_size) {
  MeasurementFacts f;
  f.uid = uid;
  f.envelope = envelope;
  f.checkpoint_size = checkpoint_size;
  f.log_index = store.log_index(uid);
  auto parsed = core::parse_json(envelope, core::JsonLimits{});
  if (!parsed.ok() || !parsed.value.is_object()) return f;
  const auto& e = parsed.value;
  if (e.contains("imported")) {
    f.signature = MeasurementFacts::Signature::imported;
    return f;
  }
  if (e.contains("public_key") && e["public_key"].is_string()) {
    if (auto pk = core::base64_decode(e["public_key"].get<std::string>())) f.key_id = core::key_id(*pk);
  }
  if (!envelope::verify(e).empty()) {
    f.signature = MeasurementFacts::Signature::invalid;
    return f;
  }
  f.signature = store.find_key(f.key_id) ? MeasurementFacts::Signature::valid : MeasurementFacts::Signature::unknown_key;
  return f;
}

std::string measurement_page(const MeasurementFacts& f, const std::string& lang) {
  const i18n::Catalog& t = catalog(lang);
  auto parsed = core::parse_json(f.envelope, core::JsonLimits{});
  const nlohmann::json m = parsed.ok() && parsed.value.is_object() && parsed.value.contains("measurement") &&
                                   parsed.value["measurement"].is_object()
                               ? parsed.value["measurement"]
                               : nlohmann::json::object();
  const nlohmann::json net = m.contains("network") && m["network"].is_object() ? m["network"] : nlohmann::json::object();
  const std::string network = network_label(t, num(net, "asn"), str(net, "as_name"));
  const std::string verdict = str(m, "verdict"), method = str(m, "method");
  std::string body;
  const std::string synthetic = core::synthetic_label(str(m, "spec"));
  if (!synthetic.empty()) {
    const std::string software = m.contains("software") && m["software"].is_object() ? str(m["software"], "name") : "";
    body += "<p class=\"synthetic\" role=\"note\">" +
            say(t, "synthetic", {{"label", t.text("synthetic." + synthetic)}, {"software", software}}) + "</p>\n";
  }
  const Vars what = {{"time", human_time(str(m, "started_at"))}, {"network", network}, {"cc", str(net, "cc")},
                     {"target", str(m, "target")}, {"verdict", verdict}, {"method", method}};
  body += "<p class=\"what\">" + say(t, method.empty() ? "measurement.what" : "measurement.what.method", what) + "</p>\n";
  if (!str(m, "explanation").empty())
    body += "<p class=\"explanation\"><strong>" + html_escape(t.text("measurement.explanation")) + ":</strong> " +
            html_escape(str(m, "explanation")) + "</p>\n";

  // Confirmed (OONI's sense) when the measurement itself carries decisive evidence; the same rule as the
  // API's `confirmed` (vantage::has_decisive_evidence at upload).
  if (core::verdict::is_interference(verdict)) {
    const auto decisive = vantage::decisive_evidence(verdict, m.contains("evidence") ? m["evidence"] : nlohmann::json());
    std::string items;
    for (const auto& [key, value] : decisive) items += (items.empty() ? "" : "; ") + key + ": " + value;
    body += decisive.empty() ? "<p class=\"confirmed no\">" + say(t, "measurement.unconfirmed") + "</p>\n"
                             : "<p class=\"confirmed yes\">" + say(t, "measurement.confirmed", {{"evidence", items}}) +
                                   "</p>\n";
  }

  using S = MeasurementFacts::Signature;
  const char* sig_key = f.signature == S::valid         ? "measurement.signature.valid"
                        : f.signature == S::unknown_key ? "measurement.signature.unknown_key"
                        : f.signature == S::imported    ? "measurement.signature.imported"
                                                        : "measurement.signature.invalid";
  const char* sig_class = f.signature == S::valid ? "valid" : f.signature == S::invalid ? "invalid" : "other";
  body += "<h2>" + html_escape(t.text("measurement.signature")) + "</h2>\n<p class=\"signature " + sig_class +
          "\">" + say(t, sig_key, {{"key", f.key_id}}) + "</p>\n";
  body += "<h2>" + html_escape(t.text("measurement.log")) + "</h2>\n<p class=\"log\">";
  const std::string proof = "/api/v1/measurements/" + url_encode(f.uid) + "/proof";
  if (!f.log_index) body += html_escape(t.text("measurement.log.absent"));
  else if (*f.log_index < f.checkpoint_size)
    body += say(t, "measurement.log.proved", {{"index", std::to_string(*f.log_index)},
                                              {"size", std::to_string(f.checkpoint_size)}}) +
            " <a href=\"" + html_escape(proof) + "\">" + html_escape(t.text("measurement.log.proof")) + "</a>";
  else body += say(t, "measurement.log.pending", {{"index", std::to_string(*f.log_index)}});
  body += "</p>\n";

  body += "<table class=\"facts\">\n";
  body += row(t.text("field.time"), html_escape(human_time(str(m, "started_at"))));
  body += row(t.text("field.country"), html_escape(str(net, "cc")));
  body += row(t.text("field.network"), html_escape(network));
  body += row(t.text("field.target"), html_escape(str(m, "target")));
  if (!str(m, "input").empty()) body += row(t.text("field.input"), html_escape(str(m, "input")));
  if (!str(m, "category").empty()) body += row(t.text("field.category"), html_escape(str(m, "category")));
  body += row(t.text("field.verdict"), html_escape(verdict));
  if (!method.empty()) body += row(t.text("field.method"), html_escape(method));
  if (!f.key_id.empty()) body += row(t.text("field.key"), "<code>" + html_escape(f.key_id) + "</code>");
  if (m.contains("software") && m["software"].is_object())
    body += row(t.text("field.software"),
                html_escape(str(m["software"], "name") + " " + str(m["software"], "version")));
  body += "</table>\n<details><summary>" + html_escape(t.text("measurement.envelope")) + "</summary>\n<pre>" +
          html_escape(parsed.ok() ? parsed.value.dump(1, ' ', false, nlohmann::json::error_handler_t::replace)
                                  : f.envelope) +
          "</pre></details>\n";
  const std::string self = "/api/v1/measurements/" + url_encode(f.uid);
  return document(t, lang, t.format("measurement.title", {{"uid", f.uid}}), self, self + ".json", body);
}

}  // namespace kuzet::collector::pages
