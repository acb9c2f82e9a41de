#pragma once
// An Atom feed (RFC 4287) of incident events for feed readers and alerting (docs/api.md): each incident
// gives an "opened" entry, an "ended" entry once it ended, and a "confirmed" entry once enough independent
// vantage points support it. Pure: a function of incidents as the API's JSON (incident_to_json) writes them.
// Every text from the data is XML-escaped.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace kuzet::collector::feeds {

struct IncidentEvent {
  std::string event;  // "opened", "ended", "confirmed"
  std::string time;   // RFC 3339 UTC: the start (opened, confirmed) or the end (ended)
  nlohmann::json incident;
};

// The events of the incidents, newest first (ties: ended, confirmed, opened; then by id).
std::vector<IncidentEvent> incident_events(const std::vector<nlohmann::json>& incidents);

struct FeedInfo {
  std::string self_path;  // the feed's own path and query, e.g. "/api/v1/feeds/incidents.atom?cc=KZ"
  std::string title;      // "Kuzet incidents: KZ AS9198"
  std::string updated;    // RFC 3339; the newest event's time, or the window's end when there is none
};

std::string incidents_atom(const std::vector<IncidentEvent>& events, const FeedInfo& info);

std::string xml_escape(const std::string& text);

}  // namespace kuzet::collector::feeds
