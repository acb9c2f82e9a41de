#include "collector/server.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <thread>

#include "ascii/ascii.hpp"
#include "collector/network/address.hpp"
#include "collector/control/control.hpp"
#include "collector/http/guarded_server.hpp"
#include "collector/http/source.hpp"
#include "collector/http/token_buckets.hpp"
#include "collector/ingest/key_statement.hpp"
#include "collector/ingest/upload.hpp"
#include "collector/query/list_measurements.hpp"
#include "collector/query/query.hpp"
#include "core/crypto/crypto.hpp"
#include "core/encoding/jcs.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/crypto/signing.hpp"
#include "core/time.hpp"

namespace kuzet::collector {

namespace {

constexpr const char* kJson = "application/json";
constexpr size_t kMaxRegisterBody = 64 * 1024;
constexpr size_t kMaxControlBody = 1024 * 1024;

// Sent with every answer: the dashboard's page and scripts come only from here, nothing inline, no
// framing, no MIME sniffing of JSON/CSV into HTML, no Referer carrying query strings elsewhere.
httplib::Headers security_headers() {
  return {
      {"Content-Security-Policy",
       "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"X-Frame-Options", "DENY"},
      {"Cross-Origin-Opener-Policy", "same-origin"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
  };
}

// RFC 9110's Date (IMF-fixdate). Origin servers with a clock send it; probes compare it with their own
// clock and warn their volunteer when results would be refused as future or backdated.
std::string http_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[64];
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[utc.tm_wday], utc.tm_mday,
                kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer;
}

http::GuardLimits guard_limits(const ServeOptions& o) {
  http::GuardLimits l;
  l.workers = std::max<size_t>(2, o.http_threads);
  l.slow_workers = std::max<size_t>(1, o.control_threads);
  l.max_connections = o.max_connections;
  l.max_connections_per_source = o.max_connections_per_source;
  l.unlimited_sources = o.trusted_proxies;
  return l;
}

// The client's address: the peer's, or, when the peer is a trusted reverse proxy, the one it passes on
// (X-Real-IP, else the last X-Forwarded-For hop, which the proxy itself appended). From anyone else these
// headers are dropped, so no handler can be fooled by them.
void apply_client_address(httplib::Request& req, const std::vector<std::string>& trusted_proxies) {
  const bool trusted =
      std::find(trusted_proxies.begin(), trusted_proxies.end(), req.remote_addr) != trusted_proxies.end();
  std::string client;
  if (trusted) {
    client = req.get_header_value("X-Real-IP");
    if (!network::parse_ip(client)) {
      const std::string forwarded = req.get_header_value("X-Forwarded-For");
      const size_t comma = forwarded.rfind(',');
      const std::string_view last_hop = std::string_view(forwarded).substr(comma == std::string::npos ? 0 : comma + 1);
      client = std::string(ascii::trim(last_hop, " "));
    }
  }
  req.headers.erase("X-Real-IP");
  req.headers.erase("X-Forwarded-For");
  if (trusted && network::parse_ip(client)) {
    req.remote_addr = client;
    req.headers.erase("REMOTE_ADDR");
    req.set_header("REMOTE_ADDR", client);
  }
}

void send_error(httplib::Response& res, int status, std::string_view error, const std::string& detail) {
  res.status = status;
  res.set_content(nlohmann::json{{"error", error}, {"detail", detail}}.dump(), kJson);
}

}  // namespace

struct Server::Impl {
  Impl(Store& s, const network::AsnDatabase& a, const ServeOptions& o)
      : store(s), asn(a), options(o), ingestor(s, metrics, ingest::IngestOptions{}),
        control(s, a, metrics, control::ControlOptions{o.resolver, o.ca_bundle, o.allow_private_targets, o.control_concurrency,
                                              100, 60000, o.control_requests_per_minute,
                                              o.control_global_per_minute, o.control_global_burst}),
        registrations(o.registrations_per_minute, o.registration_burst), tagger(o.vantage_key_file),
        http(guard_limits(o)) {
    metrics.measurements_total = store.measurement_count();
  }

  Store& store;
  const network::AsnDatabase& asn;
  ServeOptions options;
  Metrics metrics;
  ingest::Ingestor ingestor;
  control::ControlService control;
  http::TokenBuckets registrations;  // per source /24 or /48
  vantage::VantageTagger tagger;     // the uploads' pseudonymous vantage tags
  std::vector<query::LineFormat> list_formats;  // added by other units before run()
  Server::MeasurementPage measurement_page;     // set by the binary (collector/pages) before run()
  http::GuardedServer http;

  // Times the handler, turns escaped exceptions (storage failures, bugs) into a JSON 500.
  httplib::Server::Handler timed(Route route, std::function<void(const httplib::Request&, httplib::Response&)> fn) {
    return [this, route, fn = std::move(fn)](const httplib::Request& req, httplib::Response& res) {
      run_timed(route, res, [&] { fn(req, res); });
    };
  }
  template <typename Fn>
  void run_timed(Route route, httplib::Response& res, Fn&& fn) {
    core::Stopwatch sw;
    try {
      fn();
    } catch (const std::exception& e) {
      send_error(res, 500, "internal", e.what());
    }
    metrics.latency[static_cast<size_t>(route)].observe(sw.elapsed_ms() / 1000.0);
  }

  void whoami(const httplib::Request& req, httplib::Response& res) {
    auto info = asn.lookup(req.remote_addr);
    // The address goes back only to its owner: the probe strips it from what it measures (docs/protocol.md).
    res.set_content(nlohmann::json{{"cc", info.cc}, {"asn", info.asn}, {"as_name", info.as_name},
                                   {"address", req.remote_addr}}.dump(),
                    kJson);
  }

  void register_key(const httplib::Request& req, httplib::Response& res) {
    // Keys are free to make: what a registration costs is bounded per source network.
    if (!registrations.take(http::network_key(req.remote_addr, 24, 48).value_or(req.remote_addr))) {
      res.set_header("Retry-After", "60");
      return send_error(res, 429, "rate_limited", "too many registrations from this network");
    }
    // A statement is ~200 bytes: a hostile body is refused before it can cost memory (docs/protocol.md).
    auto parsed = core::parse_json(req.body, ingest::kKeyStatementLimits);
    if (!parsed.ok()) return send_error(res, 400, "malformed", parsed.error);
    const auto& j = parsed.value;
    if (!j.is_object() || !j.contains("public_key") || !j["public_key"].is_string() ||
        !j.contains("registered_at") || !j["registered_at"].is_string() || !j.contains("signature") ||
        !j["signature"].is_string())
      return send_error(res, 400, "malformed", "expected {public_key, registered_at, signature}");
    const auto& pk_b64 = j["public_key"].get_ref<const std::string&>();
    auto pk = core::base64_decode(pk_b64);
    if (!pk || pk->size() != 32) return send_error(res, 400, "malformed", "public_key is not a base64 Ed25519 key");
    if (!core::parse_rfc3339(j["registered_at"].get<std::string>()))
      return send_error(res, 400, "malformed", "registered_at is not an RFC 3339 time");
    auto sig = core::base64_decode(j["signature"].get<std::string>());
    nlohmann::json signed_part{{"public_key", pk_b64}, {"registered_at", j["registered_at"]}};
    if (!sig || !core::ed25519_verify(*pk, core::canonicalize(signed_part), *sig))
      return send_error(res, 400, "bad_signature", "signature does not verify over {public_key, registered_at}");
    ProbeKey key{core::key_id(*pk), pk_b64, core::to_unix_ms(std::chrono::system_clock::now())};
    bool added = store.register_key(key);
    res.set_content(nlohmann::json{{"key_id", key.key_id}, {"status", added ? "registered" : "known"}}.dump(), kJson);
  }

  // `body` is read where the guard received it (GuardedServer::post_with_body), not copied.
  void upload(const httplib::Request& req, std::string_view body, httplib::Response& res) {
    // The source address only feeds the tag and the network check: it is not stored or logged.
    auto source = tagger.source(req.remote_addr, asn, core::to_unix_ms(std::chrono::system_clock::now()));
    auto outcome = ingestor.ingest_body(body, source);
    res.status = outcome.http_status;
    res.set_content(ingest::upload_answer_json(outcome), kJson);
  }

  // The permalink of a measurement: its envelope byte for byte, or for a browser (Accept: text/html) the
  // page in words; ".json" appended always gives the envelope.
  void get_measurement(const httplib::Request& req, httplib::Response& res) {
    std::string uid = req.matches[1];
    bool json_only = uid.size() > 5 && uid.compare(uid.size() - 5, 5, ".json") == 0;
    if (json_only) uid.resize(uid.size() - 5);
    if (auto bad = query::check_names(req.params, {"lang"}); !bad.empty()) return send_error(res, 400, "malformed", bad);
    res.set_header("Vary", "Accept, Accept-Language");
    auto envelope = store.envelope(uid);
    if (!envelope) return send_error(res, 404, "not_found", "no measurement " + uid);
    if (!json_only && measurement_page && measurement_page(req, uid, *envelope, res)) return;
    res.set_content(*envelope, kJson);
  }

  void list_measurements(const httplib::Request& req, httplib::Response& res) {
    query::list_measurements(store, req, res, list_formats, [this](uint32_t n) { return asn.as_name(n); });
  }

  void control_request(const httplib::Request& req, httplib::Response& res) {
    auto answer = control.handle(req.body, req.get_header_value("X-Kuzet-Key"),
                                 req.get_header_value("X-Kuzet-Signature"));
    res.status = answer.http_status;
    res.set_content(answer.body, kJson);
  }

  void routes() {
    using namespace std::placeholders;
    http.Get("/api/v1/whoami", timed(Route::whoami, std::bind(&Impl::whoami, this, _1, _2)));
    http.Post("/api/v1/probes/register", timed(Route::register_key, std::bind(&Impl::register_key, this, _1, _2)));
    http.post_with_body("/api/v1/measurements",
                        [this](const httplib::Request& req, std::string_view body, httplib::Response& res) {
                          run_timed(Route::upload, res, [&] { upload(req, body, res); });
                        });
    http.Get(R"(/api/v1/measurements/([A-Za-z0-9_.:\-]+))",
             timed(Route::get_measurement, std::bind(&Impl::get_measurement, this, _1, _2)));
    http.Get("/api/v1/measurements",
             timed(Route::list_measurements, std::bind(&Impl::list_measurements, this, _1, _2)));
    http.Post("/api/v1/control", timed(Route::control, std::bind(&Impl::control_request, this, _1, _2)));
    http.Get("/healthz", timed(Route::healthz, [](const httplib::Request&, httplib::Response& res) {
               res.set_content(R"({"status":"ok"})", kJson);
             }));
    http.Get("/metrics", timed(Route::metrics, [this](const httplib::Request&, httplib::Response& res) {
               res.set_content(metrics.render(), "text/plain; version=0.0.4");
             }));
    // Errors httplib produces itself (unknown path, body over the limit) get the protocol's JSON shape.
    http.set_error_responder([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      if (res.status == 413) send_error(res, 413, ingest::reason::too_large, "request body over the limit");
      else if (res.status == 415)
        send_error(res, 415, ingest::reason::unsupported_encoding,
                   "a body with a Content-Encoding is not accepted: send it uncompressed");
      else if (res.status == 404) send_error(res, 404, "not_found", "no such endpoint");
      else send_error(res, res.status, "error", "HTTP " + std::to_string(res.status));
    });
  }
};

Server::Server(Store& store, const network::AsnDatabase& asn, const ServeOptions& options)
    : impl_(std::make_unique<Impl>(store, asn, options)) {
  auto& http = impl_->http;
  http.set_body_limit("/api/v1/measurements", options.max_body_bytes);
  http.set_body_limit("/api/v1/probes/register", kMaxRegisterBody);
  http.set_body_limit("/api/v1/control", kMaxControlBody);
  http.set_slow_route("POST", "/api/v1/control");
  http.set_default_headers(security_headers());
  http.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Date", http_date_now());
  });
  http.set_request_setup([proxies = options.trusted_proxies](httplib::Request& req) { apply_client_address(req, proxies); });
  impl_->routes();
}

Server::~Server() { stop(); }

uint16_t Server::bind() {
  auto& o = impl_->options;
  int port = impl_->http.bind(o.listen_host, o.port);
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + o.listen_host + ":" + std::to_string(o.port) +
                             (o.port ? " (in use?)" : ""));
  return static_cast<uint16_t>(port);
}

void Server::run() { impl_->http.run(); }

void Server::stop() {
  if (impl_) impl_->http.stop();
}

void Server::wait_until_running() {
  while (!impl_->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

Metrics& Server::metrics() { return impl_->metrics; }

httplib::Server& Server::http_server() { return impl_->http; }

void Server::add_list_format(query::LineFormat format) { impl_->list_formats.push_back(std::move(format)); }

void Server::set_measurement_page(MeasurementPage page) { impl_->measurement_page = std::move(page); }

}  // namespace kuzet::collector
