#pragma once
// Shared by the collector tests and the benchmark: realistic signed measurements and request bodies.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include "core/crypto/crypto.hpp"
#include "core/encoding/jcs.hpp"
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "core/time.hpp"

namespace kuzet::collector::testing {

// An hour ago: within the window a key registered now may date its measurements (not backdated).
inline std::string an_hour_ago() {
  return core::format_rfc3339(std::chrono::system_clock::now() - std::chrono::hours(1));
}

struct MeasurementSpec {
  std::string uid;
  std::string started_at = an_hour_ago();
  std::string cc = "KZ";
  uint32_t asn = 9198;
  std::string target = "www.example.org";
  std::string category = "news";
  std::string verdict = "blocked";
  std::string method = "tls.timeout";
  size_t padding = 0;  // extra bytes of body_prefix, to reach a realistic size
  nlohmann::json evidence = nlohmann::json::array();  // the analysis's {key, value} list
};

// A measurement shaped like the probe's records (docs/measurement-schema.md).
inline nlohmann::json make_measurement(const MeasurementSpec& s) {
  nlohmann::json dns = {{"hostname", s.target},
                        {"resolver", "system"},
                        {"queries", {{{"query_type", "A"}, {"rcode", "NOERROR"}, {"answers", {{{"type", "A"}, {"value", "93.184.216.34"}, {"ttl", 300}}}}, {"failure", ""}, {"duration_ms", 12.5}}}},
                        {"addresses", {"93.184.216.34"}},
                        {"failure", ""},
                        {"duration_ms", 12.5}};
  nlohmann::json http = {{"url", "https://" + s.target + "/"},
                         {"requests", {{{"url", "https://" + s.target + "/"}, {"address", "93.184.216.34"}, {"failure", ""}, {"status", 200},
                                        {"headers", {{{"name", "Content-Type"}, {"value", "text/html; charset=utf-8"}}, {{"name", "Server"}, {"value", "nginx"}}}},
                                        {"title", "Example Domain"}, {"body_length", 1256},
                                        {"body_sha256", core::sha256_hex(s.uid)},
                                        {"body_prefix", std::string(s.padding, 'x')},
                                        {"connect_ms", 20.1}, {"tls_ms", 45.2}, {"first_byte_ms", 80.3}, {"total_ms", 95.0}}}},
                         {"failure", ""},
                         {"final_url", "https://" + s.target + "/"},
                         {"duration_ms", 95.0},
                         {"throughput_bps", 1234567.0}};
  return {{"schema", "kuzet.measurement/1"},
          {"measurement_uid", s.uid},
          {"run_id", "run-1"},
          {"input", "https://" + s.target + "/"},
          {"target", s.target},
          {"category", s.category},
          {"spec", "kz-news.yaml"},
          {"started_at", s.started_at},
          {"runtime_ms", 150.0},
          {"verdict", s.verdict},
          {"method", s.method},
          {"explanation", "The TLS handshake timed out after the ClientHello."},
          {"evidence", s.evidence},
          {"network", {{"cc", s.cc}, {"asn", s.asn}, {"as_name", "JSC Kazakhtelecom"}, {"source", "collector"}}},
          {"software", {{"name", "kuzet-probe"}, {"version", "0.1.0"}}},
          {"observations", {{"url", "https://" + s.target + "/"}, {"scheme", "https"}, {"host", s.target}, {"port", 443},
                            {"dns", dns}, {"tcp", {{{"address", "93.184.216.34"}, {"port", 443}, {"failure", ""}, {"duration_ms", 20.1}}}},
                            {"tls", nlohmann::json::array()}, {"http", http}, {"neutral_sni_http", nullptr}, {"duration_ms", 150.0}}},
          {"control", nullptr}};
}

inline std::string signed_envelope(const MeasurementSpec& s, const core::KeyPair& key) {
  return envelope::sign(make_measurement(s), key).dump();
}

inline std::string upload_body(const std::vector<std::string>& envelopes) {
  std::string body = "{\"measurements\":[";
  for (size_t i = 0; i < envelopes.size(); ++i) {
    if (i) body += ",";
    body += envelopes[i];
  }
  return body + "]}";
}

inline std::string register_body(const core::KeyPair& key) {
  nlohmann::json part{{"public_key", core::base64_encode(key.public_key)}, {"registered_at", core::now_rfc3339()}};
  auto sig = core::ed25519_sign(key, core::canonicalize(part));
  part["signature"] = core::base64_encode(sig);
  return part.dump();
}

inline std::string now_plus(std::chrono::milliseconds delta) {
  return core::format_rfc3339(std::chrono::system_clock::now() + delta);
}

// A fresh directory under the system temp dir, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("kuzet-collector-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

}  // namespace kuzet::collector::testing
