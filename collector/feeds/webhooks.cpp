#include "collector/feeds/webhooks.hpp"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "collector/query/query.hpp"
#include "core/crypto/crypto.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "core/thread_name.hpp"

namespace kuzet::collector::feeds {

namespace {

constexpr size_t kMaxConfigBytes = 64 * 1024;
constexpr size_t kMaxSubscriptions = 100;
constexpr size_t kMaxLogLineBytes = 64 * 1024;
// A receiver's answer is read only for its status: its body is dropped, and past this much of it the
// delivery stops reading (httplib would otherwise hold, and inflate, whatever the receiver sends).
constexpr size_t kMaxAnswerBodyBytes = 64 * 1024;

// A header value made from what probes sent (an incident's id holds its country code and target, as
// uploaded): bytes outside printable ASCII, space and '%' percent-encoded, so that no value can end its
// header line and start another (httplib 0.11 writes header values as they are).
std::string header_value(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (c > 0x20 && c < 0x7F && c != '%') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool matches(const Subscription& s, const nlohmann::json& incident) {
  if (!s.cc.empty() && str(incident, "cc") != s.cc) return false;
  if (s.asn && incident.value("asn", 0u) != *s.asn) return false;
  if (!s.target.empty() && str(incident, "target") != s.target) return false;
  return true;
}

// "http://host:port" and "/path" of a URL; nullopt unless http:// or https:// with a host.
std::optional<std::pair<std::string, std::string>> split_url(const std::string& url) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (url.rfind(scheme, 0) != 0) continue;
    const size_t slash = url.find('/', scheme.size());
    std::string origin = url.substr(0, slash);
    if (origin.size() == scheme.size()) return std::nullopt;
    return std::pair{origin, slash == std::string::npos ? std::string("/") : url.substr(slash)};
  }
  return std::nullopt;
}

}  // namespace

std::vector<Subscription> parse_subscriptions(std::string_view json_text) {
  core::JsonLimits limits;
  limits.max_bytes = kMaxConfigBytes;
  limits.max_depth = 4;
  auto parsed = core::parse_json(json_text, limits);
  if (!parsed.ok()) throw std::runtime_error("webhooks config: " + parsed.error);
  const auto& j = parsed.value;
  if (!j.is_object() || !j.contains("webhooks") || !j["webhooks"].is_array())
    throw std::runtime_error("webhooks config: expected {\"webhooks\": [...]}");
  if (j["webhooks"].size() > kMaxSubscriptions)
    throw std::runtime_error("webhooks config: more than " + std::to_string(kMaxSubscriptions) + " webhooks");
  std::vector<Subscription> out;
  for (const auto& w : j["webhooks"]) {
    const std::string at = "webhooks config: webhook " + std::to_string(out.size() + 1) + ": ";
    if (!w.is_object()) throw std::runtime_error(at + "not an object");
    for (const auto& [k, v] : w.items())
      if (k != "url" && k != "secret" && k != "cc" && k != "asn" && k != "target")
        throw std::runtime_error(at + "unknown field '" + k + "'");
    Subscription s;
    s.url = str(w, "url");
    s.secret = str(w, "secret");
    if (!split_url(s.url)) throw std::runtime_error(at + "url must be http:// or https:// with a host");
    if (s.secret.size() < 16) throw std::runtime_error(at + "secret must be at least 16 characters");
    if (w.contains("cc")) {
      auto cc = query::parse_cc(str(w, "cc"));
      if (!cc) throw std::runtime_error(at + "cc must be a two-letter country code");
      s.cc = *cc;
    }
    if (w.contains("asn")) {
      auto asn = query::parse_asn(w["asn"].is_number_unsigned() ? std::to_string(w["asn"].get<uint64_t>()) : str(w, "asn"));
      if (!asn) throw std::runtime_error(at + "asn must be like 9198 or AS9198");
      s.asn = *asn;
    }
    s.target = str(w, "target");
    out.push_back(std::move(s));
  }
  return out;
}

std::string event_id(const IncidentEvent& e) {
  return "urn:kuzet:incident:" + str(e.incident, "id") + ":" + e.event;
}

std::string event_body(const IncidentEvent& e) {
  return nlohmann::json{{"id", event_id(e)}, {"event", e.event}, {"time", e.time}, {"incident", e.incident}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string signature_header(const std::string& secret, const std::string& body) {
  return "sha256=" + core::hmac_sha256_hex(secret, body);
}

WebhookNotifier::WebhookNotifier(std::vector<Subscription> subscriptions, Incidents incidents, std::string log_path,
                                 WebhookOptions options, std::function<int64_t()> now_ms)
    : subscriptions_(std::move(subscriptions)), incidents_(std::move(incidents)), log_path_(std::move(log_path)),
      options_(options), now_ms_(std::move(now_ms)) {
  if (!now_ms_) now_ms_ = [] { return core::to_unix_ms(std::chrono::system_clock::now()); };
  // The log is ours, but read like any file: bounded lines, a broken line skipped.
  std::ifstream in(log_path_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > kMaxLogLineBytes) continue;
    auto parsed = core::parse_json(line, core::JsonLimits{});
    if (!parsed.ok() || !parsed.value.is_object()) continue;
    const auto& j = parsed.value;
    const std::string url = str(j, "url"), status = str(j, "status");
    subscribed_[url] = true;
    const std::string key = url + " " + str(j, "event");
    if (status == "delivered" || status == "baseline" || status == "gave_up") known_[key] = true;
    if (status == "retry" && j.contains("attempt") && j["attempt"].is_number_integer())
      logged_attempts_[key] = std::max(logged_attempts_[key], j["attempt"].get<int>());
  }
  std::ofstream touch(log_path_, std::ios::app);
  if (!touch) throw std::runtime_error("cannot write the webhook delivery log " + log_path_);
}

WebhookNotifier::~WebhookNotifier() { stop(); }

void WebhookNotifier::log_line(const nlohmann::json& line) {
  std::ofstream out(log_path_, std::ios::app);
  out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
}

void WebhookNotifier::deliver(const std::string& key, Pending& p, int64_t now) {
  const std::string event = key.substr(key.find(' ') + 1);
  auto parts = split_url(p.url);
  httplib::Client client(parts->first);
  client.set_connection_timeout(options_.timeout_seconds, 0);
  client.set_read_timeout(options_.timeout_seconds, 0);
  client.set_write_timeout(options_.timeout_seconds, 0);
  httplib::Headers headers = {{"X-Kuzet-Event", header_value(event.substr(event.rfind(':') + 1))},
                              {"X-Kuzet-Delivery", header_value(event)},
                              {"X-Kuzet-Signature", signature_header(p.secret, p.body)},
                              {"User-Agent", "kuzet-collector-webhooks"}};
  client.set_decompress(false);
  httplib::Request req;
  req.method = "POST";
  req.path = parts->second;
  req.headers = std::move(headers);
  req.set_header("Content-Type", "application/json");
  req.body = p.body;
  int answered = 0;  // the receiver's status, once its head arrived
  req.response_handler = [&answered](const httplib::Response& head) {
    answered = head.status;
    return true;
  };
  size_t answer_bytes = 0;
  req.content_receiver = [&answer_bytes](const char*, size_t n, uint64_t, uint64_t) {
    answer_bytes += n;
    return answer_bytes <= kMaxAnswerBodyBytes;
  };
  ++p.attempts;
  // The timeouts above are per read and write: a receiver trickling its head or body would hold this
  // thread for ever, so the whole exchange has a deadline too, after which the socket is shut.
  std::mutex watch_mutex;
  std::condition_variable watch_done;
  bool finished = false;
  std::thread watchdog([&] {
    std::unique_lock lock(watch_mutex);
    if (!watch_done.wait_for(lock, std::chrono::seconds(3 * options_.timeout_seconds), [&] { return finished; }))
      client.stop();
  });
  auto res = client.send(req);
  {
    std::lock_guard lock(watch_mutex);
    finished = true;
  }
  watch_done.notify_one();
  watchdog.join();
  // A status the receiver sent counts even when its answer's body was too long or too slow to read.
  const int status_code = res ? res->status : answered;
  const bool ok = status_code >= 200 && status_code < 300;
  std::string status = ok ? "delivered" : p.attempts >= options_.max_attempts ? "gave_up" : "retry";
  nlohmann::json line{{"at", core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(now)))},
                      {"url", p.url},
                      {"event", event},
                      {"attempt", p.attempts},
                      {"status", status},
                      {"http_status", status_code}};
  if (!res) line["error"] = httplib::to_string(res.error());
  log_line(line);
  if (status == "retry") {
    p.next_at_ms = now + options_.first_retry_ms * (int64_t{1} << std::min(p.attempts - 1, 16));
  } else {
    known_[key] = true;
    if (!ok)
      core::log_at(core::LogLevel::warning, "webhook %s gave up on %s after %d attempts", p.url.c_str(), event.c_str(),
                   p.attempts);
  }
}

void WebhookNotifier::round() {
  const int64_t now = now_ms_();
  for (const auto& s : subscriptions_) {
    const bool first = !subscribed_[s.url];
    std::vector<nlohmann::json> selected;
    for (auto& i : incidents_(s))
      if (matches(s, i)) selected.push_back(std::move(i));
    for (const auto& e : incident_events(selected)) {
      const std::string key = s.url + " " + event_id(e);
      if (known_.count(key) || pending_.count(key)) continue;
      if (first) {
        known_[key] = true;
        log_line({{"at", core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(now)))},
                  {"url", s.url},
                  {"event", event_id(e)},
                  {"status", "baseline"}});
        continue;
      }
      // After a restart, an event that was being retried goes on from the attempts already made.
      pending_[key] = Pending{s.url, s.secret, event_body(e), logged_attempts_[key], now};
    }
    if (first) {
      subscribed_[s.url] = true;
      log_line({{"at", core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(now)))},
                {"url", s.url},
                {"status", "subscribed"}});
    }
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.next_at_ms <= now) deliver(it->first, it->second, now);
    if (known_.count(it->first)) it = pending_.erase(it);
    else ++it;
  }
}

void WebhookNotifier::start() {
  thread_ = std::thread([this] {
    core::name_this_thread("webhooks");
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      try {
        round();
      } catch (const std::exception& e) {
        core::log_at(core::LogLevel::warning, "webhooks: %s", e.what());
      }
      lock.lock();
      wake_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms), [this] { return stopping_; });
    }
  });
}

void WebhookNotifier::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kuzet::collector::feeds
