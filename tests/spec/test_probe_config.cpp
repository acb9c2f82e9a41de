// Probe config loader: defaults, the documented example, durations and sizes, errors with file:line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <string>

#include "probe/config.hpp"

using namespace kuzet::probe;

namespace {

std::string error_of(const std::string& yaml, const std::string& source = "/etc/kuzet/probe.yaml") {
  try {
    parse_probe_config(yaml, source);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

ProbeConfig parse(const std::string& yaml) { return parse_probe_config(yaml, "/etc/kuzet/probe.yaml"); }

}  // namespace

TEST_CASE("an empty config gives the documented defaults") {
  for (const char* text : {"", "# only a comment\n", "{}"}) {
    INFO(text);
    const ProbeConfig c = parse(text);
    CHECK(c.source == "/etc/kuzet/probe.yaml");
    CHECK(c.collectors.empty());
    CHECK(c.specs.empty());
    CHECK(c.resolver.empty());
    CHECK(c.ca_bundle.empty());
    CHECK(c.data_dir == "/var/lib/kuzet");
    CHECK(c.network.cc.empty());
    CHECK(c.network.asn == 0);
    CHECK(c.schedule.interval_s == 3600);
    CHECK(c.schedule.jitter_s == 300);
    CHECK(c.schedule.shutdown_interval_s == 900);
    CHECK(c.upload.proxy.empty());
    CHECK(c.upload.batch_size == 200);
    CHECK(c.limits.concurrency == kDefaultConcurrency);
    CHECK(c.limits.queue_max_bytes == 64ull * 1024 * 1024);
    CHECK(c.limits.max_addresses == 4);
    CHECK(c.timeouts.dns_ms == 4000);
    CHECK(c.timeouts.tcp_ms == 10000);
    CHECK(c.timeouts.tls_ms == 10000);
    CHECK(c.timeouts.http_ms == 10000);
  }
}

TEST_CASE("the documented example loads, with paths resolved against its directory") {
  const std::string path = std::string(KUZET_SOURCE_DIR) + "/docs/probe-config.example.yaml";
  const ProbeConfig c = load_probe_config(path);
  const std::string docs = std::string(KUZET_SOURCE_DIR) + "/docs/";
  REQUIRE(c.collectors.size() == 1);
  CHECK(c.collectors[0] == "https://collector.example.org/");
  REQUIRE(c.specs.size() == 2);
  CHECK(c.specs[0] == std::filesystem::path(docs + "specs/kz.yaml").lexically_normal().string());
  CHECK(c.specs[1] == std::filesystem::path(docs + "specs/global.yaml").lexically_normal().string());
  CHECK(c.resolver.empty());
  CHECK(c.ca_bundle.empty());
  CHECK(c.data_dir == "/var/lib/kuzet");
  CHECK(c.network.cc == "KZ");
  CHECK(c.network.asn == 9198);
  CHECK(c.schedule.interval_s == 3600);
  CHECK(c.schedule.jitter_s == 300);
  CHECK(c.schedule.shutdown_interval_s == 900);
  CHECK(c.upload.batch_size == 200);
  CHECK(c.limits.queue_max_bytes == 64ull * 1024 * 1024);
  CHECK(c.timeouts.dns_ms == 4000);
  CHECK(c.timeouts.http_ms == 10000);
  CHECK(c.public_ca_bundle == "/usr/share/ca-certificates/mozilla");  // Debian's Mozilla set as shipped
  CHECK(c.consent.given());
  CHECK(c.consent.language == "ru");
}

// A config that sets every key (relative paths resolve against /etc/kuzet, the parse() default source).
constexpr const char* kEveryField = R"(collectors: ["https://c1.example/", "http://127.0.0.1:8080/"]
specs: [kz.yaml, /opt/specs/global.yaml, ../shared/x.yaml]
resolver: "[2001:db8::1]:5353"
ca_bundle: certs/ca.pem
public_ca_bundle: mozilla
data_dir: /srv/kuzet
network: {cc: KZ, asn: 9198}
schedule: {interval: 30m, jitter: 45s, shutdown_interval: 120}
upload: {proxy: "socks5h://127.0.0.1:9050", batch_size: 50}
limits: {concurrency: 4, queue_max_bytes: 10MB, max_addresses: 2}
timeouts: {dns: 500ms, tcp: 3s, tls: 1m, http: 15}
status_page: "127.0.0.1:0"
)";

TEST_CASE("status_page: loopback by default, an IP:PORT, or off") {
  CHECK(parse("collectors: []\n").status_page == "127.0.0.1:8086");
  CHECK(parse("status_page: off\n").status_page == "off");
  CHECK(parse("status_page: \"[::1]:9000\"\n").status_page == "[::1]:9000");
  CHECK_THROWS_AS(parse("status_page: localhost:8086\n"), ConfigError);  // an address, not a name
  CHECK_THROWS_AS(parse("status_page: \"127.0.0.1:70000\"\n"), ConfigError);
  CHECK_THROWS_AS(parse("status_page: \"127.0.0.1\"\n"), ConfigError);
}

TEST_CASE("consent: recorded with the version of the text; an older version or none is no consent") {
  CHECK_FALSE(parse("collectors: []\n").consent.given());
  const ProbeConfig c = parse("consent: {version: 1, accepted_at: \"2026-12-02T14:00:00Z\", language: kk}\n");
  CHECK(c.consent.given());
  CHECK(c.consent.accepted_at == "2026-12-02T14:00:00Z");
  CHECK(c.consent.language == "kk");
  CHECK_THROWS_AS(parse("consent: {accepted_at: \"2026-12-02T14:00:00Z\"}\n"), ConfigError);  // no version
  CHECK_THROWS_AS(parse("consent: {version: 1, accepted_at: yesterday}\n"), ConfigError);
  CHECK_THROWS_AS(parse("consent: {version: 1, agreed: true}\n"), ConfigError);  // unknown key
  CHECK_THROWS_AS(parse("consent: yes\n"), ConfigError);
}

TEST_CASE("capture: off by default, true or false only, written back when on") {
  CHECK_FALSE(parse("collectors: []\n").capture);
  CHECK(parse("capture: true\n").capture);
  CHECK_FALSE(parse("capture: false\n").capture);
  CHECK(error_of("capture: yes\n") == "/etc/kuzet/probe.yaml:1: 'capture' must be true or false");
  CHECK_THROWS_AS(parse("capture: [true]\n"), ConfigError);
  ProbeConfig on;
  on.capture = true;
  CHECK(parse_probe_config(probe_config_to_yaml(on, "h"), "/x/probe.yaml").capture);
  CHECK(probe_config_to_yaml(ProbeConfig{}, "h").find("capture") == std::string::npos);
}

TEST_CASE("probe_config_to_yaml reads back to the same values") {
  const ProbeConfig c = parse(kEveryField);
  const std::string yaml = probe_config_to_yaml(c, "a header\nof two lines");
  CHECK(yaml.rfind("# a header\n# of two lines\n", 0) == 0);
  const ProbeConfig back = parse_probe_config(yaml, "/x/probe.yaml");
  CHECK(back.collectors == c.collectors);
  CHECK(back.specs == c.specs);
  CHECK(back.resolver == c.resolver);
  CHECK(back.ca_bundle == c.ca_bundle);
  CHECK(back.public_ca_bundle == c.public_ca_bundle);
  CHECK(back.data_dir == c.data_dir);
  CHECK(back.network.cc == c.network.cc);
  CHECK(back.network.asn == c.network.asn);
  CHECK(back.schedule.interval_s == c.schedule.interval_s);
  CHECK(back.schedule.jitter_s == c.schedule.jitter_s);
  CHECK(back.schedule.shutdown_interval_s == c.schedule.shutdown_interval_s);
  CHECK(back.upload.proxy == c.upload.proxy);
  CHECK(back.upload.batch_size == c.upload.batch_size);
  CHECK(back.limits.concurrency == c.limits.concurrency);
  CHECK(back.limits.queue_max_bytes == c.limits.queue_max_bytes);
  CHECK(back.limits.max_addresses == c.limits.max_addresses);
  CHECK(back.timeouts.dns_ms == c.timeouts.dns_ms);
  CHECK(back.timeouts.tcp_ms == c.timeouts.tcp_ms);
  CHECK(back.timeouts.tls_ms == c.timeouts.tls_ms);
  CHECK(back.timeouts.http_ms == c.timeouts.http_ms);
  CHECK(back.status_page == "127.0.0.1:0");
}

TEST_CASE("every field can be set") {
  const ProbeConfig c = parse(kEveryField);
  CHECK(c.collectors == std::vector<std::string>{"https://c1.example/", "http://127.0.0.1:8080/"});
  CHECK(c.specs == std::vector<std::string>{"/etc/kuzet/kz.yaml", "/opt/specs/global.yaml", "/etc/shared/x.yaml"});
  CHECK(c.resolver == "[2001:db8::1]:5353");
  CHECK(c.ca_bundle == "/etc/kuzet/certs/ca.pem");
  CHECK(c.public_ca_bundle == "/etc/kuzet/mozilla");
  CHECK(parse("public_ca_bundle: none\n").public_ca_bundle == "none");
  CHECK(c.data_dir == "/srv/kuzet");
  CHECK(c.network.cc == "KZ");
  CHECK(c.network.asn == 9198);
  CHECK(c.schedule.interval_s == 1800);
  CHECK(c.schedule.jitter_s == 45);
  CHECK(c.schedule.shutdown_interval_s == 120);
  CHECK(c.upload.proxy == "socks5h://127.0.0.1:9050");
  CHECK(c.upload.batch_size == 50);
  CHECK(c.limits.concurrency == 4);
  CHECK(c.limits.queue_max_bytes == 10000000);
  CHECK(c.limits.max_addresses == 2);
  CHECK(c.timeouts.dns_ms == 500);
  CHECK(c.timeouts.tcp_ms == 3000);
  CHECK(c.timeouts.tls_ms == 60000);
  CHECK(c.timeouts.http_ms == 15000);
}

TEST_CASE("resolver forms") {
  CHECK(parse("resolver: 9.9.9.9").resolver == "9.9.9.9");
  CHECK(parse("resolver: 127.0.0.1:5353").resolver == "127.0.0.1:5353");
  CHECK(parse("resolver: '2001:db8::53'").resolver == "2001:db8::53");
  CHECK(error_of("resolver: dns.google") ==
        "/etc/kuzet/probe.yaml:1: 'resolver' must be an IP address, IP:port or [IPv6]:port, got 'dns.google'");
  CHECK(error_of("resolver: 1.1.1.1:99999").rfind("/etc/kuzet/probe.yaml:1: 'resolver' must be", 0) == 0);
}

TEST_CASE("durations and sizes") {
  CHECK(parse_duration_ms("90") == 90000);
  CHECK(parse_duration_ms("45s") == 45000);
  CHECK(parse_duration_ms("30m") == 1800000);
  CHECK(parse_duration_ms("1h") == 3600000);
  CHECK(parse_duration_ms("1d") == 86400000);
  CHECK(parse_duration_ms("250ms") == 250);
  CHECK_THROWS_AS(parse_duration_ms("1.5s"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration_ms("h"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration_ms("-5s"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration_ms("5 hours"), std::invalid_argument);
  CHECK_THROWS_AS(parse_duration_ms("999999999999d"), std::invalid_argument);
  CHECK(parse_size_bytes("1048576") == 1048576);
  CHECK(parse_size_bytes("200B") == 200);
  CHECK(parse_size_bytes("512KiB") == 512 * 1024);
  CHECK(parse_size_bytes("64MiB") == 64ull << 20);
  CHECK(parse_size_bytes("64 MiB") == 64ull << 20);
  CHECK(parse_size_bytes("2GiB") == 2ull << 30);
  CHECK(parse_size_bytes("100KB") == 100000);
  CHECK(parse_size_bytes("10MB") == 10000000);
  CHECK(parse_size_bytes("1GB") == 1000000000);
  CHECK_THROWS_AS(parse_size_bytes("10 mb"), std::invalid_argument);
  CHECK_THROWS_AS(parse_size_bytes("MiB"), std::invalid_argument);
  CHECK_THROWS_AS(parse_size_bytes("999999999999GiB"), std::invalid_argument);
  CHECK(parse("limits: {queue_max_bytes: 1048576}").limits.queue_max_bytes == 1048576);
}

TEST_CASE("config errors name the file, the line and the problem") {
  const std::string f = "/etc/kuzet/probe.yaml";
  CHECK(error_of("data_dir: /x\ncolectors: []\n") ==
        f + ":2: unknown key 'colectors' in probe config (expected one of: collectors, specs, resolver, ca_bundle, "
            "public_ca_bundle, data_dir, network, schedule, upload, limits, timeouts, consent, status_page, capture)");
  CHECK(error_of("schedule:\n  interval: 1h\n  jiter: 5m\n") ==
        f + ":3: unknown key 'jiter' in schedule (expected one of: interval, jitter, shutdown_interval)");
  CHECK(error_of("- a\n") == f + ":1: probe config must be a mapping of key: value");
  CHECK(error_of("schedule: [1h]\n") == f + ":1: schedule must be a mapping of key: value");
  CHECK(error_of("collectors:\n  - https://ok.example/\n  - collector.example\n") ==
        f + ":3: collector is not an absolute http(s) URL: 'collector.example' (not a valid URL)");
  CHECK(error_of("collectors: https://ok.example/\n") == f + ":1: 'collectors' must be a list");
  CHECK(error_of("specs:\n  - [a]\n") == f + ":2: each entry of 'specs' must be a non-empty string");
  CHECK(error_of("network:\n  cc: kz\n") ==
        f + ":2: 'cc' must be two upper-case letters (ISO 3166, e.g. KZ), got 'kz'");
  CHECK(error_of("network:\n  cc: KAZ\n") ==
        f + ":2: 'cc' must be two upper-case letters (ISO 3166, e.g. KZ), got 'KAZ'");
  CHECK(error_of("network:\n  cc: KZ\n  asn: 0\n") == f + ":3: 'asn' must be between 1 and 4294967295");
  CHECK(error_of("network:\n  asn: 4294967296\n") == f + ":2: 'asn' must be between 1 and 4294967295");
  CHECK(error_of("network:\n  asn: AS9198\n") == f + ":2: 'asn' must be a non-negative integer, got 'AS9198'");
  CHECK(error_of("schedule:\n  interval: 1h\n  jitter: 2h\n") == f + ":3: 'jitter' must not exceed 'interval'");
  CHECK(error_of("schedule:\n  interval: 0\n") ==
        f + ":2: 'interval' must be between 1000 ms and 604800000 ms, got '0'");
  CHECK(error_of("schedule:\n  interval: 1500ms\n") == f + ":2: 'interval' must be whole seconds");
  CHECK(error_of("schedule:\n\n  shutdown_interval: soon\n") ==
        f + ":3: 'shutdown_interval': 'soon' is not a duration (90, 45s, 30m, 1h, 1d or 500ms; a bare number is "
            "seconds)");
  CHECK(error_of("upload:\n  proxy: 127.0.0.1:9050\n")
            .rfind(f + ":2: 'proxy' must look like socks5h://HOST:PORT", 0) == 0);
  CHECK(error_of("upload:\n  batch_size: 0\n") == f + ":2: 'batch_size' must be between 1 and 10000, got 0");
  CHECK(error_of("limits:\n  concurrency: -1\n") ==
        f + ":2: 'concurrency' must be a non-negative integer, got '-1'");
  CHECK(error_of("limits:\n  concurrency: 2000\n") == f + ":2: 'concurrency' must be between 1 and 256, got 2000");
  CHECK(error_of("limits:\n  queue_max_bytes: 10 XB\n") ==
        f + ":2: 'queue_max_bytes': '10 XB' is not a size (bytes, or 512KiB, 64MiB, 1GiB, 100KB, 10MB, 1GB)");
  CHECK(error_of("limits:\n  queue_max_bytes: 1KiB\n") ==
        f + ":2: 'queue_max_bytes' must be at least 64KiB, got '1KiB'");
  CHECK(error_of("timeouts:\n  dns: 4s\n  tls: 0\n") == f + ":3: 'tls' must be between 1 ms and 600000 ms, got '0'");
  CHECK(error_of("timeouts:\n  http: 11m\n") == f + ":2: 'http' must be between 1 ms and 600000 ms, got '11m'");
  CHECK(error_of("data_dir:\n") == f + ":1: 'data_dir' has no value");
  CHECK(error_of("timeouts: {dns: 4s\n").rfind(f + ":", 0) == 0);
  CHECK(error_of("timeouts: {dns: 4s\n").find("YAML syntax error") != std::string::npos);
}

TEST_CASE("load_probe_config reads a file and resolves relative paths against its directory") {
  const auto dir = std::filesystem::temp_directory_path() / ("kuzet-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "probe.yaml").string();
  {
    std::ofstream out(path);
    out << "specs: [kz.yaml]\ndata_dir: state\n";
  }
  const ProbeConfig c = load_probe_config(path);
  CHECK(c.source == path);
  REQUIRE(c.specs.size() == 1);
  CHECK(c.specs[0] == (dir / "kz.yaml").string());
  CHECK(c.data_dir == (dir / "state").string());
  {
    std::ofstream out(path);
    out << "\n\nlimits: {concurency: 3}\n";
  }
  CHECK_THROWS_WITH_AS(load_probe_config(path),
                       (path + ":3: unknown key 'concurency' in limits (expected one of: concurrency, "
                               "queue_max_bytes, max_addresses)")
                           .c_str(),
                       ConfigError);
  std::filesystem::remove_all(dir);
  CHECK_THROWS_WITH_AS(load_probe_config(path), (path + ": cannot read: No such file or directory").c_str(),
                       ConfigError);
}
