#pragma once
// A minimal collector on 127.0.0.1 (port 0) speaking docs/protocol.md, with real signature checks
// (envelope::verify), so the client is tested against the contract rather than against itself.
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"
#include "core/encoding/jcs.hpp"
#include "envelope/envelope.hpp"

namespace kuzet::tests {

class FakeCollector {
 public:
  using json = nlohmann::json;

  nlohmann::json whoami_reply = {{"cc", "KZ"}, {"asn", 9198}, {"as_name", "JSC Kazakhtelecom"}};
  // When set, answers POST /api/v1/measurements instead of the protocol logic.
  std::function<void(const httplib::Request&, httplib::Response&)> upload_override;
  std::function<void(const httplib::Request&, httplib::Response&)> control_override;

  FakeCollector() {
    server_.Get("/api/v1/whoami", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, whoami_reply);
    });
    server_.Post("/api/v1/probes/register",
                 [this](const httplib::Request& req, httplib::Response& res) { handle_register(req, res); });
    server_.Post("/api/v1/measurements", [this](const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++upload_posts;
        note_upload_request(req);
      }
      if (upload_override) return upload_override(req, res);
      handle_upload(req, res);
    });
    server_.Post("/api/v1/control", [this](const httplib::Request& req, httplib::Response& res) {
      if (control_override) return control_override(req, res);
      handle_control(req, res);
    });
    port = server_.bind_to_any_port("127.0.0.1");
    if (port <= 0) throw std::runtime_error("fake collector: cannot bind");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~FakeCollector() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port) + "/"; }

  void register_directly(const std::string& public_key) {
    std::lock_guard<std::mutex> lock(mutex_);
    registered.insert(core::key_id(public_key));
  }

  int port = 0;
  std::mutex mutex_;
  std::set<std::string> registered;              // key ids
  std::map<std::string, std::string> stored;     // uid -> canonical measurement
  int upload_posts = 0;
  // Per POST /api/v1/measurements: the client's port (one per connection) and the public keys it carried.
  struct UploadRequest {
    int remote_port = 0;
    std::set<std::string> public_keys;
  };
  std::vector<UploadRequest> upload_requests;
  size_t largest_batch = 0;
  std::string last_control_body;
  bool last_control_verified = false;

 private:
  static void reply(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(), "application/json");
  }
  static void error(httplib::Response& res, int status, const std::string& reason) {
    reply(res, status, {{"error", reason}, {"detail", "fake collector"}});
  }

  void note_upload_request(const httplib::Request& req) {
    UploadRequest seen{req.remote_port, {}};
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_object() && body.contains("measurements") && body["measurements"].is_array())
      for (const auto& envelope : body["measurements"])
        if (envelope.is_object() && envelope.contains("public_key") && envelope["public_key"].is_string())
          seen.public_keys.insert(envelope["public_key"].get<std::string>());
    upload_requests.push_back(std::move(seen));
  }

  void handle_register(const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("public_key") || !body["public_key"].is_string() ||
        !body.contains("registered_at") || !body.contains("signature") || !body["signature"].is_string())
      return error(res, 400, "malformed");
    const auto public_key = core::base64_decode(body["public_key"].get<std::string>());
    const auto signature = core::base64_decode(body["signature"].get<std::string>());
    if (!public_key || !signature) return error(res, 400, "malformed");
    const json statement{{"public_key", body["public_key"]}, {"registered_at", body["registered_at"]}};
    if (!core::ed25519_verify(*public_key, core::canonicalize(statement), *signature))
      return error(res, 400, "bad_signature");
    std::lock_guard<std::mutex> lock(mutex_);
    const auto id = core::key_id(*public_key);
    const bool known = !registered.insert(id).second;
    reply(res, 200, {{"key_id", id}, {"status", known ? "known" : "registered"}});
  }

  void handle_upload(const httplib::Request& req, httplib::Response& res) {
    const json body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("measurements") || !body["measurements"].is_array())
      return error(res, 400, "malformed");
    std::lock_guard<std::mutex> lock(mutex_);
    largest_batch = std::max(largest_batch, body["measurements"].size());
    json results = json::array();
    size_t rejected = 0;
    std::string first_reason;
    for (const auto& envelope : body["measurements"]) {
      std::string uid;
      if (envelope.is_object() && envelope.contains("measurement") && envelope["measurement"].is_object() &&
          envelope["measurement"].contains("measurement_uid") && envelope["measurement"]["measurement_uid"].is_string())
        uid = envelope["measurement"]["measurement_uid"].get<std::string>();
      std::string reason = envelope::verify(envelope);
      if (reason.empty() && uid.empty()) reason = "malformed";
      if (reason.empty()) {
        const auto public_key = core::base64_decode(envelope["public_key"].get<std::string>());
        if (!registered.count(core::key_id(*public_key))) reason = "unknown_key";
      }
      std::string status = "rejected";
      if (reason.empty()) {
        const auto canonical = core::canonicalize(envelope["measurement"]);
        const auto it = stored.find(uid);
        if (it == stored.end()) {
          stored[uid] = canonical;
          status = "stored";
        } else if (it->second == canonical) {
          status = "duplicate";
        } else {
          reason = "conflict";
        }
      }
      if (status == "rejected") {
        ++rejected;
        if (first_reason.empty()) first_reason = reason;
      }
      results.push_back({{"measurement_uid", uid}, {"status", status}, {"reason", reason}});
    }
    const size_t count = body["measurements"].size();
    if (rejected == 0) return reply(res, 200, {{"results", results}});
    if (rejected < count) return reply(res, 207, {{"results", results}});
    static const std::map<std::string, int> status_for{
        {"malformed", 400}, {"bad_signature", 400}, {"unknown_key", 401}, {"conflict", 409}, {"future_timestamp", 422},
        {"backdated", 422}};
    reply(res, status_for.at(first_reason), {{"error", first_reason}, {"detail", "all rejected"}, {"results", results}});
  }

  void handle_control(const httplib::Request& req, httplib::Response& res) {
    const auto public_key = core::base64_decode(req.get_header_value("X-Kuzet-Key"));
    const auto signature = core::base64_decode(req.get_header_value("X-Kuzet-Signature"));
    const bool verified = public_key && signature && core::ed25519_verify(*public_key, req.body, *signature);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_control_body = req.body;
      last_control_verified = verified;
    }
    if (!verified) return error(res, 401, "bad_signature");
    const json request = json::parse(req.body, nullptr, false);
    if (!request.is_object() || !request.contains("targets") || !request["targets"].is_array())
      return error(res, 400, "malformed");
    json results = json::array();
    for (const auto& target : request["targets"])
      results.push_back({{"url", target.value("url", "")}, {"failure", ""}, {"vantage", "fake"}});
    reply(res, 200, {{"results", results}});
  }

  httplib::Server server_;
  std::thread thread_;
};

}  // namespace kuzet::tests
