#include "collector/control/control.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "collector/network/address.hpp"
#include "core/crypto/crypto.hpp"
#include "core/vocabulary/failure.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/crypto/signing.hpp"
#include "measure/observations_json.hpp"
#include "measure/tls.hpp"
#include "measure/http/url.hpp"

namespace kuzet::collector::control {

namespace {

ControlAnswer error_answer(int status, std::string_view error, const std::string& detail) {
  return {status, nlohmann::json{{"error", error}, {"detail", detail}}.dump()};
}

int remaining_ms(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

bool any_bogon(const std::vector<std::string>& addresses) {
  return std::any_of(addresses.begin(), addresses.end(), [](const std::string& a) { return network::is_bogon(a); });
}

}  // namespace

ParsedControlRequest parse_control_request(std::string_view body, const ControlOptions& options) {
  ParsedControlRequest out;
  auto fail = [&](std::string_view error, std::string detail) {
    out.error = error;
    out.detail = std::move(detail);
    return out;
  };
  // 100 targets with 64 addresses each fit well within these; a hostile body stops at the first limit.
  constexpr core::JsonLimits limits{.max_bytes = 1u << 20, .max_depth = 4, .max_values = 16384};
  if (body.size() > limits.max_bytes) return fail("too_large", "body over " + std::to_string(limits.max_bytes) + " bytes");
  auto parsed = core::parse_json(body, limits);
  if (!parsed.ok()) return fail("malformed", parsed.error);
  const auto& j = parsed.value;
  if (!j.is_object()) return fail("malformed", "body is not a JSON object");
  auto targets = j.find("targets");
  if (targets == j.end() || !targets->is_array()) return fail("malformed", "no targets array");
  if (targets->size() > options.max_targets)
    return fail("too_large", "more than " + std::to_string(options.max_targets) + " targets");
  if (auto d = j.find("deadline_ms"); d != j.end() && !d->is_null()) {
    if (!d->is_number_integer() || d->get<int64_t>() <= 0) return fail("malformed", "deadline_ms must be a positive integer");
    out.request.deadline_ms = static_cast<int>(std::min<int64_t>(d->get<int64_t>(), options.max_deadline_ms));
  }
  for (const auto& t : *targets) {
    ControlTarget target;
    if (!t.is_object() || !t.contains("url") || !t["url"].is_string()) return fail("malformed", "target without url");
    target.url = t["url"].get<std::string>();
    if (auto pa = t.find("probe_addresses"); pa != t.end() && !pa->is_null()) {
      if (!pa->is_array()) return fail("malformed", "probe_addresses must be an array");
      for (const auto& a : *pa) {
        if (!a.is_string() || !network::parse_ip(a.get<std::string>())) return fail("malformed", "probe_addresses must be IP addresses");
        target.probe_addresses.push_back(a.get<std::string>());
      }
      if (target.probe_addresses.size() > 64) return fail("malformed", "too many probe_addresses");
    }
    std::string why;
    auto url = measure::http::parse_url(target.url, &why);
    if (!url) return fail("bad_url", target.url + ": " + why);
    if (!options.allow_private_targets && measure::http::is_ip_literal(url->host))
      return fail("private_target", target.url + ": the host is an IP address");
    out.request.targets.push_back(std::move(target));
  }
  return out;
}

ControlService::ControlService(Store& store, const network::AsnDatabase& asn, Metrics& metrics, ControlOptions options)
    : store_(store), asn_(asn), metrics_(metrics), options_(std::move(options)),
      slots_(static_cast<std::ptrdiff_t>(std::clamp<size_t>(options_.concurrency, 1, 1024))),
      per_key_(options_.requests_per_minute, options_.requests_per_minute),
      global_(options_.global_requests_per_minute, options_.global_burst) {
  options_.concurrency = std::clamp<size_t>(options_.concurrency, 1, 1024);
  measure_defaults_.dns.resolver = options_.resolver;
  measure_defaults_.tls.trust = measure::TrustStore::load(options_.ca_bundle);
  measure_defaults_.http.ca_bundle = options_.ca_bundle;
  measure_defaults_.http.user_agent = "Mozilla/5.0 (X11; Linux x86_64) kuzet-collector/0.1";
}

measure::MeasureOptions ControlService::options_within(std::chrono::steady_clock::time_point deadline) const {
  auto o = measure_defaults_;
  const int left = std::max(1, remaining_ms(deadline));
  o.dns.timeout_ms = std::min(o.dns.timeout_ms, left);
  o.tcp_timeout_ms = std::min(o.tcp_timeout_ms, left);
  o.tls.timeout_ms = std::min(o.tls.timeout_ms, left);
  o.http.timeout_ms = std::min(o.http.timeout_ms, left);
  return o;
}

std::vector<measure::ControlObservations> ControlService::run_controls(const ControlRequest& request) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(request.deadline_ms);
  const size_t n = request.targets.size();
  std::vector<measure::ControlObservations> results(n);
  std::atomic<size_t> next{0};

  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      auto& r = results[i];
      r.vantage = "collector";
      r.target.url = request.targets[i].url;
      // Bounded across all requests: a flood of control requests cannot open unbounded connections.
      if (!slots_.try_acquire_until(deadline)) {
        r.failure = core::failure::control_deadline;
        continue;
      }
      if (remaining_ms(deadline) <= 0) {
        r.failure = core::failure::control_deadline;
      } else {
        // Hold-On off the critical path here too: connect with the first answers, late replies merged after.
        std::unique_ptr<measure::dns::DnsHoldOn> hold;
        r.target = measure::begin_target(request.targets[i].url, options_within(deadline), &hold);
        if (!options_.allow_private_targets && any_bogon(r.target.dns.addresses)) {
          // A public name pointing into a private network: say so, but do not connect.
          r.failure = core::failure::control_private_address;
        } else if (remaining_ms(deadline) <= 0) {
          r.failure = core::failure::control_deadline;
        } else {
          measure::finish_target(r.target, options_within(deadline));
          // Redirects are resolved inside the HTTP step; never hand back what a private address answered.
          if (!options_.allow_private_targets && r.target.http) {
            for (const auto& hop : r.target.http->requests) {
              if (network::is_bogon(hop.address)) {
                r.failure = core::failure::control_private_address;
                r.target.http.reset();
                break;
              }
            }
          }
        }
        if (hold) hold->finish(r.target.dns, measure::first_replies_proven(r.target));
      }
      slots_.release();
      metrics_.control_targets++;

      std::set<std::string> seen;
      auto describe = [&](const std::string& address) {
        if (!seen.insert(address).second) return;
        auto info = asn_.lookup(address);
        r.addresses.push_back({address, info.asn, info.as_name, info.cc, network::is_bogon(address)});
      };
      for (const auto& a : r.target.dns.addresses) describe(a);
      for (const auto& a : request.targets[i].probe_addresses) describe(a);
    }
  };
  const size_t threads = std::min(n, options_.concurrency);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  if (threads > 0) work();
  for (auto& t : pool) t.join();
  return results;
}

ControlAnswer ControlService::handle(std::string_view body, const std::string& key_header,
                                     const std::string& signature_header) {
  auto refuse = [&](int status, std::string_view error, const std::string& detail) {
    metrics_.control_refused++;
    return error_answer(status, error, detail);
  };
  auto public_key = core::base64_decode(key_header);
  if (key_header.empty() || !public_key || public_key->size() != 32)
    return refuse(401, "unknown_key", "X-Kuzet-Key must be the base64 of a registered Ed25519 public key");
  const std::string key_id = core::key_id(*public_key);
  auto known = store_.find_key(key_id);
  if (!known) return refuse(401, "unknown_key", "key " + key_id + " is not registered");
  auto signature = core::base64_decode(signature_header);
  if (!signature || !core::ed25519_verify(*public_key, body, *signature))
    return refuse(401, "bad_signature", "X-Kuzet-Signature does not verify over the body");
  if (!per_key_.take(key_id)) return refuse(429, "rate_limited", "too many control requests for this key");

  auto parsed = parse_control_request(body, options_);
  if (!parsed.error.empty())
    return refuse(parsed.error == "too_large" ? 413 : 400, parsed.error, parsed.detail);
  // Only requests that will measure draw on the budget all keys share.
  if (!global_.take("")) {
    per_key_.give_back(key_id);
    return refuse(429, "rate_limited", "the collector's control budget is spent for now; retry later");
  }

  nlohmann::json results = run_controls(parsed.request);
  return {200, nlohmann::json{{"results", std::move(results)}}.dump(-1, ' ', false,
                                                                    nlohmann::json::error_handler_t::replace)};
}

}  // namespace kuzet::collector::control
