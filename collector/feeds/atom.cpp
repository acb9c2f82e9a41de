#include "collector/feeds/atom.hpp"

#include <algorithm>
#include <tuple>

#include "collector/timeline/timeline.hpp"

namespace kuzet::collector::feeds {

namespace {

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int rank(const std::string& event) { return event == "ended" ? 2 : event == "confirmed" ? 1 : 0; }

// "AS9198 (JSC Kazakhtelecom)" or "AS9198".
std::string network(const nlohmann::json& i) {
  std::string name = str(i, "as_name");
  std::string asn = "AS" + std::to_string(i.value("asn", 0));
  return name.empty() ? asn : asn + " (" + name + ")";
}

std::string what(const nlohmann::json& i) {
  const std::string kind = str(i, "kind");
  if (kind == timeline::kShutdown) return "shutdown of " + network(i) + ", " + str(i, "cc");
  return str(i, "target") + " " + kind + " on " + network(i) + ", " + str(i, "cc");
}

std::string summary(const IncidentEvent& e) {
  const auto& i = e.incident;
  std::string methods;
  if (i.contains("methods") && i["methods"].is_array())
    for (const auto& m : i["methods"])
      if (m.is_string()) methods += (methods.empty() ? "" : ", ") + m.get<std::string>();
  std::string text = "Since " + str(i, "start") + (str(i, "end").empty() ? " (still going on)" : " until " + str(i, "end")) + ".";
  if (!methods.empty()) text += " Methods: " + methods + ".";
  text += " " + std::to_string(i.value("vantage_points", 0)) + " independent vantage points; " +
          (i.value("confirmed", false) ? "confirmed." : "not confirmed.");
  return text;
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0, even escaped: dropped.
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') continue;
        out += static_cast<char>(c);
    }
  }
  return out;
}

std::vector<IncidentEvent> incident_events(const std::vector<nlohmann::json>& incidents) {
  std::vector<IncidentEvent> out;
  for (const auto& i : incidents) {
    out.push_back({"opened", str(i, "start"), i});
    if (i.value("confirmed", false)) out.push_back({"confirmed", str(i, "start"), i});
    if (!str(i, "end").empty()) out.push_back({"ended", str(i, "end"), i});
  }
  std::sort(out.begin(), out.end(), [](const IncidentEvent& a, const IncidentEvent& b) {
    return std::tuple(b.time, rank(b.event), str(b.incident, "id")) <
           std::tuple(a.time, rank(a.event), str(a.incident, "id"));
  });
  return out;
}

std::string incidents_atom(const std::vector<IncidentEvent>& events, const FeedInfo& info) {
  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  out += "<id>urn:kuzet:feed:" + xml_escape(info.self_path) + "</id>\n";
  out += "<title>" + xml_escape(info.title) + "</title>\n";
  out += "<updated>" + xml_escape(events.empty() ? info.updated : events.front().time) + "</updated>\n";
  out += "<link rel=\"self\" type=\"application/atom+xml\" href=\"" + xml_escape(info.self_path) + "\"/>\n";
  out += "<link rel=\"alternate\" type=\"text/html\" href=\"/\"/>\n<author><name>Kuzet collector</name></author>\n";
  for (const auto& e : events) {
    const auto& i = e.incident;
    std::string title = e.event == "opened" ? "Opened: " : e.event == "ended" ? "Ended: " : "Confirmed: ";
    title += what(i);
    out += "<entry>\n<id>urn:kuzet:incident:" + xml_escape(str(i, "id")) + ":" + e.event + "</id>\n";
    out += "<title>" + xml_escape(title) + "</title>\n<updated>" + xml_escape(e.time) + "</updated>\n";
    out += "<category term=\"" + e.event + "\" label=\"" + e.event + "\"/>\n";
    out += "<category term=\"" + xml_escape(str(i, "kind")) + "\"/>\n";
    out += "<link rel=\"alternate\" type=\"text/html\" href=\"" + xml_escape(str(i, "permalink")) + "\"/>\n";
    out += "<summary>" + xml_escape(summary(e)) + "</summary>\n</entry>\n";
  }
  out += "</feed>\n";
  return out;
}

}  // namespace kuzet::collector::feeds
