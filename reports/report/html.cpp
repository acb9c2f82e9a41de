#include "reports/report/html.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "collector/timeline/api/api.hpp"
#include "core/crypto/crypto.hpp"
#include "core/time.hpp"
#include "core/vocabulary/verdict.hpp"

namespace kuzet::report {

std::string human_utc(int64_t ms) {
  std::string iso = core::format_utc(ms);  // 2022-01-05T10:30:00Z
  return iso.substr(0, 10) + " " + iso.substr(11, 5);
}

namespace {

using Vars = std::vector<std::pair<std::string, std::string>>;

// Network names come from the measurements (the probe's claim): "AS9198 JSC Kazakhtelecom".
std::map<uint32_t, std::string> network_names(const std::vector<Evidence>& measurements) {
  std::map<uint32_t, std::string> names;
  for (const auto& e : measurements)
    if (!e.as_name.empty()) names[e.asn] = e.as_name;
  return names;
}

std::string network_label(uint32_t asn, const std::map<uint32_t, std::string>& names) {
  std::string label = "AS" + std::to_string(asn);
  if (auto it = names.find(asn); it != names.end()) label += " " + it->second;
  return label;
}

// A packet_evidence finding in words (docs/packet-evidence.md), already escaped: every value is formatted
// into a translated sentence and the whole escaped, like every other text of the report.
template <class Fmt, class Text>
std::string packet_words(const packets::PacketFinding& f, const Fmt& fmt, const Text& text) {
  std::string signs;
  for (const auto& s : f.signs) {
    if (s != "ttl" && s != "ip_id" && s != "data_after_rst" && s != "seq_window" && s != "answers_differ" &&
        s != "retransmitted" && s != "flat_rate" && s != "regular_losses" && s != "no_queueing")
      continue;  // an unknown sign from a newer probe: not shown, rather than shown untranslated
    signs += (signs.empty() ? "" : "; ") + text("packets.sign." + s);
  }
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
    return out;
  };
  if (f.kind == packets::kind::rst_injection) return fmt("packets.rst_injection", {{"peer", f.peer}, {"signs", signs}});
  if (f.kind == packets::kind::dns_injection)
    return fmt("packets.dns_injection", {{"name", f.query_name}, {"injected", join(f.injected_answers)},
                                          {"genuine", join(f.genuine_answers)}, {"signs", signs}});
  if (f.kind == packets::kind::silent_drop)
    return fmt("packets.silent_drop", {{"peer", f.peer}, {"times", std::to_string(f.retransmissions + 1)}});
  if (f.kind == packets::kind::policer)
    return fmt("packets.policer", {{"peer", f.peer}, {"rate", std::to_string(static_cast<long>(f.rate_bps / 1000))},
                                   {"interval", std::to_string(static_cast<long>(f.loss_interval_ms))}});
  return text("packets.unknown");
}

// The method most of the incident's evidence shows ("" for shutdowns).
std::string main_method(const ReportIncident& r, const std::vector<Evidence>& measurements) {
  if (r.incident.key.target == timeline::kNetworkTarget) return "";
  std::map<std::string, int> count;
  for (size_t i : r.evidence) ++count[measurements[i].method];
  std::string best;
  int most = 0;
  for (const auto& [m, n] : count)
    if (n > most) best = m, most = n;
  return best;
}

std::string method_words(const ReportIncident& r, const std::string& method, const i18n::Catalog& t) {
  if (r.incident.kind == "shutdown") return t.text("method.shutdown");
  const std::string key = "method." + method;
  return t.has(key) ? t.text(key) : t.text("method.unknown");
}

std::string percent(double v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", v * 100);
  return buf;
}

const char* state_colour(const std::string& state) {
  if (state == core::verdict::ok) return "#3a9a4a";
  if (state == core::verdict::blocked) return "#d0312d";
  if (state == core::verdict::intercepted) return "#7b3fb0";
  if (state == core::verdict::throttled) return "#ee8a1a";
  if (state == core::verdict::offline) return "#444";
  return "#e3c42b";  // down, inconclusive
}

// The state most probes of a bin saw.
std::string dominant(const timeline::Bin& b) {
  std::map<std::string, int> by_verdict;
  for (const auto& c : b.counts) by_verdict[c.verdict] += c.probes;
  std::string best;
  int most = -1;
  for (const auto& [v, n] : by_verdict)
    if (n > most) best = v, most = n;
  return best;
}

void chart_svg(std::string& out, const Report& report, uint32_t asn, const std::map<uint32_t, std::string>& names,
               const i18n::Catalog& t) {
  std::vector<const timeline::Series*> rows;
  for (const auto& s : report.computed.chart)
    if (s.key.asn == asn) rows.push_back(&s);
  if (rows.empty()) return;
  const auto& p = report.params;
  const double left = 170, width = 820, row_h = 16, net_h = 44, top = 6;
  const double height = top + net_h + 6 + row_h * static_cast<double>(rows.size() - 1) + 22;
  const double span = static_cast<double>(p.until_ms - p.from_ms);
  auto x_of = [&](int64_t ms) {
    return left + width * static_cast<double>(std::clamp(ms, p.from_ms, p.until_ms) - p.from_ms) / span;
  };
  char buf[256];
  out += "<h3>" + html_escape(network_label(asn, names)) + "</h3>\n";
  std::snprintf(buf, sizeof buf, "<svg class=\"chart\" viewBox=\"0 0 1000 %.0f\" role=\"img\">\n", height);
  out += buf;
  double y = top;
  for (const auto* s : rows) {
    const bool network = s->key.target == timeline::kNetworkTarget;
    const double h = network ? net_h : row_h - 2;
    const std::string label = network ? t.text("chart.network_row") : s->key.target;
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.1f\" class=\"label\">", left - 6, y + h / 2 + 4);
    out += buf + html_escape(label) + "</text>\n";
    int most = 1;
    for (const auto& b : s->bins) most = std::max(most, b.probes);
    for (const auto& b : s->bins) {
      const double x0 = x_of(b.start_ms), x1 = x_of(b.start_ms + s->bin_ms);
      if (x1 <= x0) continue;
      if (b.probes == 0) {
        std::snprintf(buf, sizeof buf, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#ddd\"/>\n",
                      x0, y, x1 - x0, h);
        out += buf;
        continue;
      }
      if (network) {  // stacked: online (green) under offline (dark); the height is probes reporting
        const int offline = b.probes_with(std::string(core::verdict::offline));
        const double h_on = h * (b.probes - offline) / most, h_off = h * offline / most;
        std::snprintf(buf, sizeof buf,
                      "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#3a9a4a\"/>"
                      "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#444\"/>\n",
                      x0, y + h - h_on, x1 - x0, h_on, x0, y + h - h_on - h_off, x1 - x0, h_off);
      } else {
        std::snprintf(buf, sizeof buf, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n", x0,
                      y, x1 - x0, h, state_colour(dominant(b)));
      }
      out += buf;
    }
    // Incident bands over the row they belong to.
    for (const auto& r : report.computed.incidents) {
      if (!(r.incident.key == s->key) || (!r.confirmed && !report.params.include_unconfirmed)) continue;
      const double x0 = x_of(r.incident.start_ms), x1 = x_of(r.incident.end_ms.value_or(p.until_ms));
      std::snprintf(buf, sizeof buf,
                    "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"none\" stroke=\"#000\" "
                    "stroke-width=\"1.2\" stroke-dasharray=\"3 2\"/>\n",
                    x0, y - 1, std::max(1.0, x1 - x0), h + 2);
      out += buf;
    }
    y += network ? net_h + 6 : row_h;
  }
  // Day ticks.
  const int64_t day = 24 * 60 * timeline::kMinuteMs;
  const int64_t step = std::max<int64_t>(day, (p.until_ms - p.from_ms) / 12 / day * day);
  for (int64_t d = timeline::bin_ceil(p.from_ms, day); d < p.until_ms; d += step) {
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" stroke-width=\"0.5\"/>"
                  "<text x=\"%.2f\" y=\"%.1f\" class=\"tick\">%s</text>\n",
                  x_of(d), x_of(d), top, y, x_of(d), y + 12, core::format_utc(d).substr(5, 5).c_str());
    out += buf;
  }
  out += "</svg>\n";
}

// Inside a CSS string in a <style> element: quotes and backslashes escaped, nothing that could end the element.
std::string css_string(std::string_view text) {
  std::string out;
  char buf[12];
  for (unsigned char c : text) {
    if (c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c < 0x20) {
      std::snprintf(buf, sizeof buf, "\\%x ", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

const char* kStyle = R"css(
@page { size: A4; margin: 16mm 12mm 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #111; margin: 0 auto; max-width: 60em; padding: 0 1em; }
h1 { font-size: 18pt; margin: 0.6em 0 0.2em; }
h2 { font-size: 13pt; border-bottom: 1px solid #888; margin-top: 1.4em; break-after: avoid; }
h3 { font-size: 11pt; margin: 1em 0 0.3em; break-after: avoid; }
.subtitle { font-size: 12pt; margin: 0 0 0.8em; }
dl.meta { display: grid; grid-template-columns: 11em 1fr; gap: 0.15em 1em; margin: 0.5em 0; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0; }
th, td { border: 1px solid #bbb; padding: 2px 4px; text-align: left; vertical-align: top; }
th { background: #eee; }
tr { break-inside: avoid; }
.mono, code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; overflow-wrap: anywhere; word-break: break-all; }
pre { white-space: pre-wrap; background: #f4f4f4; padding: 4px; }
.evidence td { font-size: 7.5pt; }
svg.chart { width: 100%; height: auto; }
svg .label { font-size: 9px; text-anchor: end; }
svg .tick { font-size: 9px; text-anchor: middle; fill: #333; }
.synthetic { background: #ffe3a3; border: 2px solid #c60; color: #600; font-weight: bold; text-align: center;
  padding: 2px 6px; font-size: 9pt; margin-top: 0.5em; }
table.incidents code { word-break: normal; overflow-wrap: normal; white-space: nowrap; }
tr.words td { border-top: none; font-size: 8.5pt; color: #333; }
.unconfirmed { color: #555; font-style: italic; }
section.incident { break-inside: auto; }
footer { margin-top: 2em; font-size: 8pt; color: #555; border-top: 1px solid #aaa; }
@media print { a { color: #000; } }
)css";

}  // namespace

std::string render_html(const Report& report, const i18n::Catalog& t, const std::string& permalink_base) {
  const auto& p = report.params;
  const auto names = network_names(report.measurements);
  const std::string from = human_utc(p.from_ms), until = human_utc(p.until_ms);
  std::vector<const ReportIncident*> shown;
  int omitted = 0;
  for (const auto& r : report.computed.incidents) {
    if (r.confirmed || p.include_unconfirmed) shown.push_back(&r);
    else ++omitted;
  }
  auto text = [&](const std::string& key) { return html_escape(t.text(key)); };
  auto fmt = [&](const std::string& key, const Vars& v) { return html_escape(t.format(key, v)); };

  std::string out;
  out.reserve(1 << 20);
  out += "<!DOCTYPE html>\n<html lang=\"" + html_escape(t.text("lang.code")) + "\">\n<head>\n<meta charset=\"utf-8\">\n";
  out += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  const std::string title = t.format("title", {{"cc", p.cc}});
  out += "<title>" + html_escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  if (!report.synthetic.empty()) {
    const std::string label = t.text("synthetic." + report.synthetic);
    const std::string banner = t.format("synthetic.banner", {{"label", label}});
    out += "<style>@page { @top-center { content: \"" + css_string(banner) +
           "\"; color: #600; font: bold 8pt 'DejaVu Sans', sans-serif; background: #ffe3a3; } }</style>\n";
    out += "<div class=\"synthetic\" data-synthetic=\"" + html_escape(report.synthetic) + "\">" +
           html_escape(banner) + "</div>\n";
  }
  out += "<header>\n<h1>" + html_escape(title) + "</h1>\n<p class=\"subtitle\">" +
         fmt("subtitle", {{"from", from}, {"until", until}}) + "</p>\n<dl class=\"meta\">\n";
  auto meta = [&](const std::string& key, const std::string& value_html) {
    out += "<dt>" + text(key) + "</dt><dd>" + value_html + "</dd>\n";
  };
  meta("meta.period", html_escape(core::format_utc(p.from_ms) + " – " + core::format_utc(p.until_ms)));
  meta("meta.data_end", html_escape(core::format_utc(p.data_end_ms)));
  std::string nets;
  for (uint32_t a : p.asns) nets += (nets.empty() ? "" : ", ") + network_label(a, names);
  meta("meta.networks", html_escape(nets.empty() ? t.text("meta.all") : nets));
  std::string targets;
  for (const auto& s : p.targets) targets += (targets.empty() ? "" : ", ") + s;
  meta("meta.targets", html_escape(targets.empty() ? t.text("meta.all") : targets));
  meta("meta.generated", html_escape(core::format_utc(report.generated_at_ms)));
  meta("meta.source", "<span class=\"mono\">" + html_escape(report.source) + "</span>");
  meta("meta.checkpoint", report.checkpoint.empty() ? text("meta.checkpoint_none")
                                                    : "<pre>" + html_escape(report.checkpoint) + "</pre>");
  out += "</dl>\n</header>\n";

  // Summary in plain words.
  std::set<std::string> probes;
  std::set<uint32_t> networks;
  for (const auto& e : report.measurements)
    if (e.started_at_ms >= p.from_ms && e.started_at_ms < p.until_ms) probes.insert(e.key_id), networks.insert(e.asn);
  int shutdowns = 0, blockings = 0;
  for (const auto* r : shown) (r->incident.kind == "shutdown" ? shutdowns : blockings) += r->confirmed ? 1 : 0;
  const std::string min_probes = std::to_string(kMinIndependent);
  out += "<section id=\"summary\">\n<h2>" + text("h.summary") + "</h2>\n<p>" +
         fmt("summary.scope", {{"from", from}, {"until", until}, {"probes", std::to_string(probes.size())},
                               {"networks", std::to_string(networks.size())}, {"cc", p.cc},
                               {"measurements", std::to_string(report.measurements.size())}}) +
         "</p>\n<p>" +
         fmt("summary.counts", {{"shutdowns", std::to_string(shutdowns)}, {"blockings", std::to_string(blockings)},
                                {"min_probes", min_probes}}) +
         "</p>\n";
  if (shown.empty()) out += "<p>" + text("summary.none") + "</p>\n";
  out += "<ul>\n";
  for (const auto* r : shown) {
    const auto& inc = r->incident;
    Vars v{{"start", human_utc(inc.start_ms)},
           {"end", inc.end_ms ? human_utc(*inc.end_ms) : ""},
           {"network", network_label(inc.key.asn, names)},
           {"target", inc.key.target},
           {"kind_words", t.text("kind_words." + inc.kind)},
           {"method", main_method(*r, report.measurements)}};
    const std::string key = inc.kind == "shutdown" ? "summary.shutdown" : "summary.target";
    out += std::string("<li") + (r->confirmed ? "" : " class=\"unconfirmed\"") + ">" +
           fmt(inc.end_ms ? key : key + "_ongoing", v) + "</li>\n";
  }
  out += "</ul>\n";
  if (omitted > 0) out += "<p>" + fmt("summary.unconfirmed_omitted", {{"n", std::to_string(omitted)}, {"min_probes", min_probes}}) + "</p>\n";
  if (p.include_unconfirmed) out += "<p>" + fmt("summary.unconfirmed_included", {{"min_probes", min_probes}}) + "</p>\n";
  out += "</section>\n";

  // Timeline chart, one per network.
  out += "<section id=\"chart\">\n<h2>" + text("h.chart") + "</h2>\n<p>" + text("chart.legend") + " " +
         fmt("chart.bin", {{"minutes", std::to_string(report.computed.chart_bin_ms / timeline::kMinuteMs)}}) + "</p>\n";
  std::set<uint32_t> chart_asns;
  for (const auto& s : report.computed.chart) chart_asns.insert(s.key.asn);
  for (uint32_t asn : chart_asns) chart_svg(out, report, asn, names, t);
  out += "</section>\n";

  // Incidents.
  out += "<section id=\"incidents\">\n<h2>" + text("h.incidents") + "</h2>\n";
  if (shown.empty()) out += "<p>" + text("incidents.none") + "</p>\n";
  else {
    out += "<table class=\"incidents\">\n<tr>";
    for (const char* c : {"col.number", "col.kind", "col.network", "col.target", "col.start", "col.end", "col.method",
                          "col.probes", "col.vantage_points", "col.confidence", "col.confirmed"})
      out += "<th>" + text(c) + "</th>";
    out += "</tr>\n";
    for (size_t n = 0; n < shown.size(); ++n) {
      const auto& r = *shown[n];
      const auto& inc = r.incident;
      const std::string method = main_method(r, report.measurements);
      out += "<tr data-id=\"" + html_escape(inc.id) + "\"" + (r.confirmed ? "" : " class=\"unconfirmed\"") + ">";
      out += "<td><a href=\"#e" + std::to_string(n + 1) + "\">" + std::to_string(n + 1) + "</a></td>";
      out += "<td>" + text("kind." + inc.kind) + "</td>";
      out += "<td>" + html_escape(network_label(inc.key.asn, names)) + "</td>";
      out += "<td>" + html_escape(inc.key.target == timeline::kNetworkTarget ? t.text("network.whole") : inc.key.target) + "</td>";
      out += "<td>" + html_escape(human_utc(inc.start_ms)) + "</td>";
      out += "<td>" + html_escape(inc.end_ms ? human_utc(*inc.end_ms) : t.text("ongoing")) + "</td>";
      out += "<td><code>" + html_escape(method.empty() ? inc.kind : method) + "</code></td>";
      out += "<td>" + std::to_string(r.distinct_probes) + "</td>";
      out += "<td>" + std::to_string(inc.vantage_points) + "</td>";
      out += "<td>" + percent(inc.confidence) + "</td>";
      out += "<td>" + text(r.confirmed ? "yes" : "no") + "</td></tr>\n";
      // The method in words, under its incident (a narrow column would not hold it).
      out += "<tr class=\"words\"><td></td><td colspan=\"10\">" + html_escape(method_words(r, method, t)) + "</td></tr>\n";
    }
    out += "</table>\n";
  }
  out += "</section>\n";

  // What the methods mean (those that appear).
  std::set<std::string> methods;
  for (const auto* r : shown) methods.insert(r->incident.kind == "shutdown" ? "shutdown" : main_method(*r, report.measurements));
  if (!methods.empty()) {
    out += "<section id=\"methods\">\n<h2>" + text("h.methods") + "</h2>\n<dl>\n";
    for (const auto& m : methods) {
      const std::string key = "method." + m;
      out += "<dt><code>" + html_escape(m) + "</code></dt><dd>" + html_escape(t.has(key) ? t.text(key) : t.text("method.unknown")) + "</dd>\n";
    }
    out += "</dl>\n</section>\n";
  }

  // Evidence appendix.
  constexpr size_t kRowsPerIncident = 12;
  out += "<section id=\"appendix\">\n<h2>" + text("h.appendix") + "</h2>\n<p>" + text("appendix.intro") + "</p>\n";
  for (size_t n = 0; n < shown.size(); ++n) {
    const auto& r = *shown[n];
    const auto& inc = r.incident;
    out += "<section class=\"incident\" id=\"e" + std::to_string(n + 1) + "\">\n<h3>" + std::to_string(n + 1) + ". " +
           html_escape(inc.id) + "</h3>\n";
    out += "<p>" + text("incident.permalink") + ": <span class=\"mono\">" +
           html_escape(permalink_base + "/api/v1/incidents/" + inc.id) + "</span></p>\n";
    if (r.evidence.empty()) {
      out += "<p>" + text("appendix.no_evidence") + "</p>\n</section>\n";
      continue;
    }
    out += "<table class=\"evidence\">\n<tr>";
    for (const char* c : {"col.measurement", "col.started", "col.key", "col.sha256", "col.log_index", "col.proof"})
      out += "<th>" + text(c) + "</th>";
    out += "</tr>\n";
    for (size_t k = 0; k < r.evidence.size() && k < kRowsPerIncident; ++k) {
      const auto& e = report.measurements[r.evidence[k]];
      const std::string link = permalink_base + "/api/v1/measurements/" + e.uid;
      out += "<tr><td class=\"mono\"><a href=\"" + html_escape(link) + "\">" + html_escape(e.uid) + "</a></td>";
      out += "<td>" + html_escape(core::format_utc(e.started_at_ms)) + "</td>";
      out += "<td class=\"mono\">" + html_escape(e.key_id) + "</td>";
      out += "<td class=\"mono\">" + html_escape(e.sha256) + "</td>";
      if (e.proof) {
        out += "<td>" + std::to_string(e.proof->index) + "</td><td class=\"mono\">";
        for (const auto& h : e.proof->inclusion) out += html_escape(core::base64_encode(h)) + " ";
        out += "</td></tr>\n";
      } else {
        out += "<td colspan=\"2\">" + text("appendix.no_proof") + "</td></tr>\n";
      }
      for (const auto& f : e.packet_findings) out += "<tr><td colspan=\"6\">" + packet_words(f, fmt, text) + "</td></tr>\n";
    }
    out += "</table>\n";
    if (r.evidence.size() > kRowsPerIncident)
      out += "<p>" + fmt("appendix.more", {{"n", std::to_string(r.evidence.size() - kRowsPerIncident)}}) + "</p>\n";
    out += "</section>\n";
  }
  out += "</section>\n";

  // How to verify.
  out += "<section id=\"verify\">\n<h2>" + text("h.verify") + "</h2>\n<p>" + text("verify.intro") + "</p>\n";
  out += "<pre>kuzet-report verify bundle.json --log-key '" + html_escape(report.log_key.empty() ? "KEY" : report.log_key) +
         "'</pre>\n<p>" + text("verify.steps") + "</p>\n<p>" +
         fmt("verify.permalinks", {{"base", permalink_base.empty() ? "https://COLLECTOR" : permalink_base}}) + "</p>\n";
  out += "</section>\n<footer>" + text("footer") + "</footer>\n</body>\n</html>\n";
  return out;
}

}  // namespace kuzet::report
