#pragma once
// The probe's configuration file (/etc/kuzet/probe.yaml; documented example: docs/probe-config.example.yaml).
// Every key is optional; unknown keys are errors so typos do not silently fall back to defaults.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::probe {

inline constexpr const char* kDefaultConfigPath = "/etc/kuzet/probe.yaml";
// Measurements in flight unless configured. A run lasts as long as its slowest wave of targets, so a country
// list should be mostly in flight at once; each target in flight costs ~0.1 MB of heap (TLS and HTTP buffers),
// measured in docs/benchmarks.md. Boards with 512 MB or less set 4 (docs/packaging.md).
inline constexpr int kDefaultConcurrency = 48;

// Manual override of the network identity (normally looked up): empty cc / asn 0 mean "not overridden".
struct NetworkOverride {
  std::string cc;    // ISO 3166 alpha-2, upper-case ("KZ")
  uint32_t asn = 0;  // e.g. 9198 (Kazakhtelecom)
};

struct ScheduleConfig {
  int64_t interval_s = 3600;          // between full runs
  int64_t jitter_s = 300;             // random extra delay, so probes do not run in lockstep
  int64_t shutdown_interval_s = 900;  // between runs while a shutdown is suspected
};

struct UploadConfig {
  std::string proxy;  // e.g. "socks5h://127.0.0.1:9050" (Tor); empty = direct
  int batch_size = 200;  // results per upload request
};

struct LimitsConfig {
  int concurrency = kDefaultConcurrency;               // measurements in flight
  uint64_t queue_max_bytes = 64ull * 1024 * 1024;      // unsent results kept on disk
  int max_addresses = 4;                               // addresses tried per host name
};

// Defaults follow OONI Web Connectivity (field notes): DNS 4 s, TCP/TLS/HTTP 10 s.
struct TimeoutsConfig {
  int dns_ms = 4000;
  int tcp_ms = 10000;
  int tls_ms = 10000;
  int http_ms = 10000;
};

// Debian's ca-certificates Mozilla set (one PEM per root), before any local addition.
inline constexpr std::string_view kDefaultPublicCaBundle = "/usr/share/ca-certificates/mozilla";
inline constexpr std::string_view kNoPublicCaBundle = "none";

// The volunteer's informed consent (probe/ui/consent.hpp), as `kuzet-probe setup` records it. A version
// below kConsentVersion is not consent to what the probe does now: it is asked again.
inline constexpr int kConsentVersion = 1;
struct ConsentRecord {
  int version = 0;           // of the consent text accepted; 0 = none
  std::string accepted_at;   // RFC 3339
  std::string language;      // the text was read in: en, ru, kk
  bool given() const { return version >= kConsentVersion; }
};

struct ProbeConfig {
  std::string source;                   // path of the file it came from
  std::vector<std::string> collectors;  // absolute http(s) URLs, in order of preference
  std::vector<std::string> specs;       // spec files; relative paths resolved against the config's directory
  std::string resolver;                 // DNS server "IP" or "IP:port" / "[IPv6]:port"; empty = system resolver
  std::string ca_bundle;                // PEM trust store; empty = system default
  // A pristine public bundle the chains are also verified against (docs/verdicts.md: a root installed in the
  // local store verifies a forged chain, the public bundle does not). "none" = no such check. The default is
  // Debian's Mozilla set as shipped, which update-ca-certificates never changes; a missing default is skipped.
  std::string public_ca_bundle = std::string(kDefaultPublicCaBundle);
  std::string data_dir = "/var/lib/kuzet";
  NetworkOverride network;
  ScheduleConfig schedule;
  UploadConfig upload;
  LimitsConfig limits;
  TimeoutsConfig timeouts;
  ConsentRecord consent;
  // The daemon's local status page (probe/page): "ADDR:PORT" (port 0: any free one, logged), or "off".
  std::string status_page = "127.0.0.1:8086";
  // Record each measurement's packets with libpcap and attach what they show (docs/packet-evidence.md).
  // Needs CAP_NET_RAW (packaging/capture.conf.example); without it the probe says so once and measures.
  bool capture = false;
};

// A broken config: "FILE:LINE: problem"; an unreadable file: "FILE: cannot read: reason".
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

ProbeConfig load_probe_config(const std::string& path);
// The config as a YAML document that parse_probe_config reads back to the same values (kuzet-probe setup
// writes it); durations in seconds, sizes in bytes. `header` is put first, as comment lines.
std::string probe_config_to_yaml(const ProbeConfig& config, const std::string& header);                                    // throws ConfigError
ProbeConfig parse_probe_config(const std::string& yaml, const std::string& source_name);  // throws ConfigError

// Value parsers, also used for command-line overrides. nullopt-free: they throw std::invalid_argument
// with a message naming the accepted forms.
// "90" (seconds), "45s", "30m", "1h", "1d", "500ms" -> milliseconds.
int64_t parse_duration_ms(const std::string& text);
// "1048576" (bytes), "512KiB", "64MiB", "1GiB", "10MB", "100KB", "1GB", "200B" -> bytes.
uint64_t parse_size_bytes(const std::string& text);

}  // namespace kuzet::probe
