#pragma once
// Signed webhooks on incident events (docs/api.md, "Alerts"): the feed's events (opened, confirmed, ended)
// POSTed as JSON to subscribers named in a config file, signed with HMAC-SHA256 under each subscriber's secret,
// retried with doubling delays, every attempt written to a delivery log (JSON Lines) that also lets a restart
// carry on where it stopped (an event in retry goes on from the attempts already logged). A subscription's first round only records the events that already exist
// ("baseline"): subscribers hear of what happens after they subscribed, not of the whole history.
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "collector/feeds/atom.hpp"

namespace kuzet::collector::feeds {

struct Subscription {
  std::string url;     // http://host[:port]/path
  std::string secret;  // the HMAC key; the subscriber checks X-Kuzet-Signature with it
  std::string cc;      // filters: "" = any
  std::optional<uint32_t> asn;
  std::string target;
};

// The config: {"webhooks": [{"url": "http://...", "secret": "...", "cc": "KZ", "asn": "AS9198",
// "target": "web.whatsapp.com"}]} (cc, asn, target optional). Bounded (64 KiB, 100 subscriptions); throws
// std::runtime_error naming what is wrong.
std::vector<Subscription> parse_subscriptions(std::string_view json_text);

// The body of one event's POST: {"event", "time", "id", "incident"}; id is the feed entry's id.
std::string event_id(const IncidentEvent& e);
std::string event_body(const IncidentEvent& e);
// "sha256=<hex HMAC-SHA256 of the body under the secret>", the X-Kuzet-Signature header.
std::string signature_header(const std::string& secret, const std::string& body);

struct WebhookOptions {
  int max_attempts = 6;
  int64_t first_retry_ms = 5000;  // then doubling: 5 s, 10 s, 20 s, ...
  int64_t poll_ms = 30000;        // how often the incidents are looked at
  int timeout_seconds = 10;
};

class WebhookNotifier {
 public:
  // The incidents (as incident_to_json writes them) a subscription's filters select now.
  using Incidents = std::function<std::vector<nlohmann::json>(const Subscription&)>;
  // Reads the delivery log at `log_path` (created when missing) to know what was done before.
  WebhookNotifier(std::vector<Subscription> subscriptions, Incidents incidents, std::string log_path,
                  WebhookOptions options = {}, std::function<int64_t()> now_ms = {});
  ~WebhookNotifier();
  WebhookNotifier(const WebhookNotifier&) = delete;
  WebhookNotifier& operator=(const WebhookNotifier&) = delete;

  void start();  // a thread running round() every poll_ms
  void stop();
  // One round: new events queued (or recorded as baseline on a subscription's first round), due deliveries
  // tried. Public for tests.
  void round();

 private:
  struct Pending {
    std::string url, secret, body;
    int attempts = 0;
    int64_t next_at_ms = 0;
  };
  void log_line(const nlohmann::json& line);
  void deliver(const std::string& key, Pending& p, int64_t now);

  std::vector<Subscription> subscriptions_;
  Incidents incidents_;
  std::string log_path_;
  WebhookOptions options_;
  std::function<int64_t()> now_ms_;
  std::map<std::string, bool> known_;                 // "<url> <event id>": done (delivered, baseline, given up)
  std::map<std::string, bool> subscribed_;            // urls that had their baseline round
  std::map<std::string, Pending> pending_;            // "<url> <event id>"
  std::map<std::string, int> logged_attempts_;        // failed attempts a previous run logged, per key
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace kuzet::collector::feeds
