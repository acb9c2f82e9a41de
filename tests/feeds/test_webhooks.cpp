// Signed webhooks on incident events (collector/feeds/webhooks.hpp) against a real HTTP receiver on loopback:
// the config's strict reading, the baseline round, HMAC signatures, retries with doubling delays, giving up,
// the delivery log, a restart that carries on from the log without sending anything twice, and receivers
// whose answers never end (bounded in bytes and time).
#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "collector/feeds/webhooks.hpp"
#include "core/crypto/crypto.hpp"

using namespace kuzet::collector::feeds;

namespace {

const std::string kSecret = "a-secret-of-at-least-16";

struct Receiver {
  httplib::Server http;
  std::thread thread;
  int port = 0;
  std::mutex mutex;
  std::vector<httplib::Request> got;
  int fail_next = 0;  // answer 500 to this many requests first
  Receiver() {
    http.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex);
      got.push_back(req);
      res.status = fail_next > 0 ? (--fail_next, 500) : 204;
    });
    port = http.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ~Receiver() {
    http.stop();
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/hook"; }
  size_t count() {
    std::lock_guard lock(mutex);
    return got.size();
  }
};

nlohmann::json incident(const std::string& id, const std::string& cc, bool ended, bool confirmed) {
  return {{"id", id},      {"kind", "blocked"},       {"cc", cc},           {"asn", 9198},
          {"target", "x"}, {"start", "2022-01-04T14:30:00Z"},
          {"end", ended ? nlohmann::json("2022-01-05T00:00:00Z") : nlohmann::json(nullptr)},
          {"confirmed", confirmed}, {"permalink", "/api/v1/incidents/" + id}};
}

std::vector<nlohmann::json> log_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

size_t with_status(const std::vector<nlohmann::json>& lines, const std::string& status) {
  return static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) { return l["status"] == status; }));
}

// A fresh delivery log's path in the temporary directory.
std::string temp_log() {
  const std::string name = "kuzet-webhooks-" + kuzet::core::random_hex(6) + ".jsonl";
  return (std::filesystem::temp_directory_path() / name).string();
}

}  // namespace

TEST_CASE("config: subscriptions read strictly, every mistake named") {
  auto subs = parse_subscriptions(R"({"webhooks": [{"url": "http://127.0.0.1:9/h", "secret": "0123456789abcdef",
                                      "cc": "kz", "asn": "AS9198", "target": "web.whatsapp.com"},
                                     {"url": "https://alerts.example/k", "secret": "0123456789abcdef", "asn": 48503}]})");
  REQUIRE(subs.size() == 2);
  CHECK(subs[0].cc == "KZ");
  CHECK(subs[0].asn == 9198u);
  CHECK(subs[0].target == "web.whatsapp.com");
  CHECK(subs[1].asn == 48503u);
  CHECK(subs[1].cc.empty());
  auto error = [](const std::string& text) {
    try {
      parse_subscriptions(text);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error(R"({"webhooks": [{"url": "ftp://x/", "secret": "0123456789abcdef"}]})").find("url") != std::string::npos);
  CHECK(error(R"({"webhooks": [{"url": "http://x/", "secret": "short"}]})").find("secret") != std::string::npos);
  CHECK(error(R"({"webhooks": [{"url": "http://x/", "secret": "0123456789abcdef", "ccc": "KZ"}]})")
            .find("unknown field 'ccc'") != std::string::npos);
  CHECK(error(R"({"webhooks": [{"url": "http://x/", "secret": "0123456789abcdef", "asn": "ASX"}]})").find("asn") !=
        std::string::npos);
  CHECK(error(R"({"hooks": []})").find("expected") != std::string::npos);
  CHECK(error(R"({"webhooks": [{"url": "http://x/", "url": "http://y/", "secret": "0123456789abcdef"}]})")
            .find("duplicate") != std::string::npos);
  CHECK(!error(std::string(70000, ' ') + "{}").empty());
}

TEST_CASE("delivery: baseline first, then new events signed, retried, logged; a restart sends nothing twice") {
  Receiver receiver;
  const auto log = temp_log();
  std::vector<nlohmann::json> incidents = {incident("KZ.9198.blocked.20220104T1430Z.x", "KZ", true, true)};
  int64_t now = 1000000;
  WebhookOptions options;
  options.first_retry_ms = 1000;
  options.max_attempts = 3;
  std::vector<Subscription> subs = {{receiver.url(), kSecret, "KZ", 9198u, ""},
                                    {receiver.url() + "?ru", kSecret, "RU", std::nullopt, ""}};
  {
    WebhookNotifier notifier(subs, [&](const Subscription&) { return incidents; }, log, options, [&] { return now; });
    notifier.round();  // the first round: what exists is the baseline, nothing is sent
    CHECK(receiver.count() == 0);
    CHECK(with_status(log_lines(log), "baseline") == 3);  // opened, confirmed, ended of the KZ incident
    CHECK(with_status(log_lines(log), "subscribed") == 2);

    incidents.push_back(incident("KZ.9198.blocked.20220106T0000Z.y", "KZ", false, false));
    incidents.push_back(incident("RU.12389.blocked.20220106T0000Z.y", "RU", false, false));
    receiver.fail_next = 1;
    notifier.round();  // both new "opened" events are sent; the KZ receiver answers 500 to the first
    REQUIRE(receiver.count() == 2);
    for (const auto& req : receiver.got) {
      CHECK(req.get_header_value("X-Kuzet-Event") == "opened");
      CHECK(req.get_header_value("X-Kuzet-Signature") == "sha256=" + kuzet::core::hmac_sha256_hex(kSecret, req.body));
      CHECK(req.get_header_value("Content-Type") == "application/json");
      const auto body = nlohmann::json::parse(req.body);
      CHECK(body["event"] == "opened");
      CHECK(body["id"] == req.get_header_value("X-Kuzet-Delivery"));
    }
    const bool ru_first = nlohmann::json::parse(receiver.got[0].body)["incident"]["cc"] == "RU";
    CHECK(with_status(log_lines(log), "retry") == 1);
    CHECK(with_status(log_lines(log), "delivered") == 1);
    (void)ru_first;

    notifier.round();  // the retry is not due yet
    CHECK(receiver.count() == 2);
    now += options.first_retry_ms;
    notifier.round();
    CHECK(receiver.count() == 3);
    CHECK(with_status(log_lines(log), "delivered") == 2);

    incidents[1] = incident("KZ.9198.blocked.20220106T0000Z.y", "KZ", true, true);  // confirmed, then ended
    notifier.round();
    CHECK(receiver.count() == 5);
    std::set<std::string> events;
    for (size_t i = 3; i < 5; ++i) events.insert(receiver.got[i].get_header_value("X-Kuzet-Event"));
    CHECK(events == std::set<std::string>{"confirmed", "ended"});
  }
  {
    // A restart reads the log: no baseline again, nothing sent twice.
    WebhookNotifier again(subs, [&](const Subscription&) { return incidents; }, log, options, [&] { return now; });
    again.round();
    CHECK(receiver.count() == 5);
    CHECK(with_status(log_lines(log), "subscribed") == 2);
  }
  {
    // A receiver that never answers: retried with doubling delays, then given up and logged.
    Subscription dead{"http://127.0.0.1:9/hook", kSecret, "", std::nullopt, ""};
    const auto dead_log = log + ".dead";
    std::vector<nlohmann::json> none;
    WebhookNotifier notifier({dead}, [&](const Subscription&) { return none; }, dead_log, options, [&] { return now; });
    notifier.round();
    none.push_back(incident("KZ.9198.blocked.20220107T0000Z.z", "KZ", false, false));
    notifier.round();
    now += options.first_retry_ms;
    notifier.round();
    now += options.first_retry_ms;  // the second delay is twice the first: not due yet
    notifier.round();
    CHECK(with_status(log_lines(dead_log), "retry") == 2);
    now += options.first_retry_ms;
    notifier.round();
    CHECK(with_status(log_lines(dead_log), "gave_up") == 1);
    now += 100 * options.first_retry_ms;
    notifier.round();
    CHECK(log_lines(dead_log).size() == 1 + 3);  // subscribed, then three attempts: nothing after giving up
    std::filesystem::remove(dead_log);
  }
  {
    // A restart in the middle of retries goes on from the attempts already made: one more, then give up.
    Subscription dead{"http://127.0.0.1:9/hook", kSecret, "", std::nullopt, ""};
    const auto dead_log = log + ".restart";
    std::vector<nlohmann::json> none;
    {
      WebhookNotifier notifier({dead}, [&](const Subscription&) { return none; }, dead_log, options, [&] { return now; });
      notifier.round();
      none.push_back(incident("KZ.9198.blocked.20220108T0000Z.w", "KZ", false, false));
      notifier.round();
      now += options.first_retry_ms;
      notifier.round();
      CHECK(with_status(log_lines(dead_log), "retry") == 2);
    }
    WebhookNotifier restarted({dead}, [&](const Subscription&) { return none; }, dead_log, options, [&] { return now; });
    restarted.round();
    const auto lines = log_lines(dead_log);
    CHECK(with_status(lines, "gave_up") == 1);
    CHECK(lines.back()["attempt"] == 3);
    std::filesystem::remove(dead_log);
  }
  std::filesystem::remove(log);
}

namespace {

// A receiver on a raw socket that reads each request's first bytes, then answers with `answer`, called
// with a send function until it returns false (the client went away) or the receiver stops.
struct RawReceiver {
  int fd = -1;
  int port = 0;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::string received;  // the first bytes of every request, as they came on the wire
  std::thread thread;
  explicit RawReceiver(std::function<void(const std::function<bool(const std::string&)>&)> answer) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    REQUIRE(listen(fd, 8) == 0);
    thread = std::thread([this, answer] {
      for (;;) {
        const int c = accept(fd, nullptr, nullptr);
        if (c < 0) return;
        std::string request;  // the head, then as much body as its Content-Length says (at most 1 MiB)
        char buf[16384];
        for (ssize_t n; (n = recv(c, buf, sizeof buf, 0)) > 0;) {
          request.append(buf, static_cast<size_t>(n));
          const size_t head = request.find("\r\n\r\n");
          if (head == std::string::npos) continue;
          const size_t length = request.find("Content-Length: ");
          const size_t body = length < head ? std::strtoul(request.c_str() + length + 16, nullptr, 10) : 0;
          if (request.size() >= head + 4 + std::min<size_t>(body, 1 << 20)) break;
        }
        {
          std::lock_guard lock(mutex);
          received += request;
        }
        answer([&](const std::string& bytes) {
          return !stopping && send(c, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
        });
        close(c);
      }
    });
  }
  ~RawReceiver() {
    stopping = true;
    shutdown(fd, SHUT_RDWR);
    close(fd);
    thread.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/hook"; }
};

// One delivery of a fresh event to `url`; the delivery log's lines after it, and how long the round took.
std::pair<std::vector<nlohmann::json>, double> deliver_once(const std::string& url, const WebhookOptions& options) {
  const auto log = temp_log();
  std::vector<nlohmann::json> incidents;
  WebhookNotifier notifier({{url, kSecret, "", std::nullopt, ""}}, [&](const Subscription&) { return incidents; }, log,
                           options, [] { return int64_t{1000000}; });
  notifier.round();  // the baseline
  incidents.push_back(incident("KZ.9198.blocked.20220109T0000Z.v", "KZ", false, false));
  const auto start = std::chrono::steady_clock::now();
  notifier.round();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto lines = log_lines(log);
  std::filesystem::remove(log);
  return {lines, seconds};
}

}  // namespace

TEST_CASE("delivery: a receiver's answer is bounded in bytes and time; its status still counts") {
  WebhookOptions options;
  options.timeout_seconds = 1;  // per read and write; the whole exchange gets 3 s
  SUBCASE("an endless gzip body after a 200: delivered, read no further than a bound") {
    RawReceiver endless([](const auto& send) {
      if (!send("HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\nContent-Encoding: gzip\r\n\r\n")) return;
      const std::string mib(1 << 20, '\0');
      for (int i = 0; i < 10000 && send(mib); ++i) {
      }
    });
    const auto [lines, seconds] = deliver_once(endless.url(), options);
    REQUIRE(!lines.empty());
    CHECK(lines.back()["status"] == "delivered");
    CHECK(lines.back()["http_status"] == 200);
    CHECK(seconds < 2);  // stopped by the byte bound, well before the 3 s deadline
  }
  SUBCASE("a head trickled forever: the exchange ends at its deadline, and is retried") {
    RawReceiver trickle([](const auto& send) {
      if (!send("HTTP/1.1 200 OK\r\n")) return;
      while (send("X-Slow: a\r\n")) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    });
    const auto [lines, seconds] = deliver_once(trickle.url(), options);
    REQUIRE(!lines.empty());
    CHECK(lines.back()["status"] == "retry");
    CHECK(lines.back()["http_status"] == 0);
    CHECK(seconds >= 2.5);
    CHECK(seconds < 6);
  }
}

TEST_CASE("delivery: an incident id with line breaks (a target as a probe sent it) cannot add headers") {
  RawReceiver receiver([](const auto& send) { send("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"); });
  const std::string id = "KZ.9198.blocked.20220110T0000Z.x\r\nX-Injected: 1 100%";
  const auto log = temp_log();
  std::vector<nlohmann::json> incidents;
  WebhookNotifier notifier({{receiver.url(), kSecret, "", std::nullopt, ""}},
                           [&](const Subscription&) { return incidents; }, log, {}, [] { return int64_t{1000000}; });
  notifier.round();
  incidents.push_back(incident(id, "KZ", false, false));
  notifier.round();
  const auto lines = log_lines(log);
  std::filesystem::remove(log);
  REQUIRE(!lines.empty());
  CHECK(lines.back()["status"] == "delivered");
  std::lock_guard lock(receiver.mutex);
  const std::string& wire = receiver.received;
  // On the wire: one header line, the id percent-encoded; no line of its own for what followed the break.
  CHECK(wire.find("\r\nX-Kuzet-Delivery: urn:kuzet:incident:KZ.9198.blocked.20220110T0000Z."
                  "x%0D%0AX-Injected:%201%20100%25:opened\r\n") != std::string::npos);
  CHECK(wire.find("\r\nX-Injected") == std::string::npos);
  CHECK(wire.find("\r\nX-Kuzet-Event: opened\r\n") != std::string::npos);
  // The body, signed, carries the id as it is (JSON escapes the break).
  const size_t body = wire.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  CHECK(nlohmann::json::parse(wire.substr(body + 4))["incident"]["id"] == id);
}
