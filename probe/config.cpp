#include "probe/config.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/time.hpp"
#include "core/vocabulary/country.hpp"
#include "measure/dns/dns.hpp"
#include "measure/http/url.hpp"
#include "spec/yaml_fields.hpp"

namespace kuzet::probe {

namespace {

using spec::YamlProblem;
using spec::line_of;
using spec::line_of_value;

// "123" + unit -> (123, "unit"); throws when there are no leading digits or too many.
std::pair<uint64_t, std::string> split_number(const std::string& text, const std::string& forms) {
  size_t i = 0;
  uint64_t value = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (i >= 12) throw std::invalid_argument("number too large in '" + text + "'");
    value = value * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0) throw std::invalid_argument("'" + text + "' is not " + forms);
  std::string unit = text.substr(i);
  if (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);  // "64 MiB"
  return {value, unit};
}

const char* kDurationForms = "a duration (90, 45s, 30m, 1h, 1d or 500ms; a bare number is seconds)";
const char* kSizeForms = "a size (bytes, or 512KiB, 64MiB, 1GiB, 100KB, 10MB, 1GB)";

// Value of a duration field in milliseconds, checked against [min_ms, max_ms].
int64_t duration_field(const YAML::Node& map, const char* key, int64_t min_ms, int64_t max_ms, int64_t fallback) {
  auto text = spec::optional_string(map, key);
  if (!text) return fallback;
  int64_t ms = 0;
  try {
    ms = parse_duration_ms(*text);
  } catch (const std::invalid_argument& e) {
    throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "': " + e.what());
  }
  if (ms < min_ms || ms > max_ms)
    throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "' must be between " +
                                                   std::to_string(min_ms) + " ms and " + std::to_string(max_ms) +
                                                   " ms, got '" + *text + "'");
  return ms;
}

int64_t seconds_field(const YAML::Node& map, const char* key, int64_t min_s, int64_t max_s, int64_t fallback) {
  int64_t ms = duration_field(map, key, min_s * 1000, max_s * 1000, fallback * 1000);
  if (ms % 1000 != 0)
    throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "' must be whole seconds");
  return ms / 1000;
}

int int_field(const YAML::Node& map, const char* key, int min, int max, int fallback) {
  auto value = spec::optional_unsigned(map, key);
  if (!value) return fallback;
  if (*value < static_cast<uint64_t>(min) || *value > static_cast<uint64_t>(max))
    throw YamlProblem(line_of_value(map, key), "'" + std::string(key) + "' must be between " + std::to_string(min) +
                                                   " and " + std::to_string(max) + ", got " +
                                                   std::to_string(*value));
  return static_cast<int>(*value);
}

std::vector<std::pair<std::string, int>> string_list(const YAML::Node& map, const char* key) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& item : spec::optional_sequence(map, key)) {
    if (!item.IsScalar() || item.Scalar().empty())
      throw YamlProblem(line_of(item), "each entry of '" + std::string(key) + "' must be a non-empty string");
    out.emplace_back(item.Scalar(), line_of(item));
  }
  return out;
}

std::string resolve_path(const std::filesystem::path& base_dir, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (base_dir / p).lexically_normal().string();
}

// scheme://host:port with a proxy scheme libcurl understands.
bool valid_proxy(const std::string& text) {
  static const char* schemes[] = {"socks5h://", "socks5://", "socks4a://", "socks4://", "http://", "https://"};
  for (const char* scheme : schemes) {
    if (text.rfind(scheme, 0) != 0) continue;
    std::string rest = text.substr(std::strlen(scheme));
    if (!rest.empty() && rest.back() == '/') rest.pop_back();
    auto colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 >= rest.size()) return false;
    for (size_t i = colon + 1; i < rest.size(); ++i)
      if (rest[i] < '0' || rest[i] > '9') return false;
    return rest.size() - colon - 1 <= 5 && std::stoi(rest.substr(colon + 1)) >= 1 &&
           std::stoi(rest.substr(colon + 1)) <= 65535;
  }
  return false;
}

ProbeConfig parse_document(const std::string& text, const std::string& source) {
  ProbeConfig config;
  config.source = source;
  const YAML::Node root = spec::load_yaml_document(text);
  if (!root.IsDefined() || root.IsNull()) return config;  // an empty file means all defaults
  spec::check_mapping(root,
                      {"collectors", "specs", "resolver", "ca_bundle", "public_ca_bundle", "data_dir", "network", "schedule", "upload",
                       "limits", "timeouts", "consent", "status_page", "capture"},
                      "probe config");
  const std::filesystem::path base_dir = std::filesystem::path(source).parent_path();

  for (const auto& [url, line] : string_list(root, "collectors")) {
    std::string why;
    if (!measure::http::parse_url(url, &why))
      throw YamlProblem(line, "collector is not an absolute http(s) URL: '" + url + "' (" + why + ")");
    config.collectors.push_back(url);
  }
  for (const auto& [path, line] : string_list(root, "specs")) config.specs.push_back(resolve_path(base_dir, path));

  if (auto resolver = spec::optional_string(root, "resolver"); resolver && !resolver->empty()) {
    if (!measure::dns::is_valid_resolver(*resolver))  // exactly what the DNS step accepts
      throw YamlProblem(line_of_value(root, "resolver"),
                        "'resolver' must be an IP address, IP:port or [IPv6]:port, got '" + *resolver + "'");
    config.resolver = *resolver;
  }
  if (auto ca = spec::optional_string(root, "ca_bundle"); ca && !ca->empty())
    config.ca_bundle = resolve_path(base_dir, *ca);
  if (auto pub = spec::optional_string(root, "public_ca_bundle"); pub && !pub->empty())
    config.public_ca_bundle = *pub == kNoPublicCaBundle ? *pub : resolve_path(base_dir, *pub);
  if (root["data_dir"].IsDefined())
    config.data_dir = resolve_path(base_dir, spec::required_string(root, "data_dir", "probe config"));

  if (const YAML::Node network = root["network"]; network.IsDefined()) {
    spec::check_mapping(network, {"cc", "asn"}, "network");
    if (auto cc = spec::optional_string(network, "cc")) {
      if (!core::country::is_code(*cc))
        throw YamlProblem(line_of_value(network, "cc"),
                          "'cc' must be two upper-case letters (ISO 3166, e.g. KZ), got '" + *cc + "'");
      config.network.cc = *cc;
    }
    if (auto asn = spec::optional_unsigned(network, "asn")) {
      if (*asn == 0 || *asn > 4294967295ull)
        throw YamlProblem(line_of_value(network, "asn"), "'asn' must be between 1 and 4294967295");
      config.network.asn = static_cast<uint32_t>(*asn);
    }
  }

  if (const YAML::Node schedule = root["schedule"]; schedule.IsDefined()) {
    spec::check_mapping(schedule, {"interval", "jitter", "shutdown_interval"}, "schedule");
    constexpr int64_t kWeek = 7 * 24 * 3600;
    auto& s = config.schedule;
    s.interval_s = seconds_field(schedule, "interval", 1, kWeek, s.interval_s);
    s.jitter_s = seconds_field(schedule, "jitter", 0, kWeek, s.jitter_s);
    s.shutdown_interval_s = seconds_field(schedule, "shutdown_interval", 1, kWeek, s.shutdown_interval_s);
    if (s.jitter_s > s.interval_s)
      throw YamlProblem(line_of_value(schedule, "jitter"), "'jitter' must not exceed 'interval'");
  }

  if (const YAML::Node upload = root["upload"]; upload.IsDefined()) {
    spec::check_mapping(upload, {"proxy", "batch_size"}, "upload");
    if (auto proxy = spec::optional_string(upload, "proxy"); proxy && !proxy->empty()) {
      if (!valid_proxy(*proxy))
        throw YamlProblem(line_of_value(upload, "proxy"),
                          "'proxy' must look like socks5h://HOST:PORT (schemes: socks5h, socks5, socks4a, socks4, "
                          "http, https), got '" + *proxy + "'");
      config.upload.proxy = *proxy;
    }
    config.upload.batch_size = int_field(upload, "batch_size", 1, 10000, config.upload.batch_size);
  }

  if (const YAML::Node limits = root["limits"]; limits.IsDefined()) {
    spec::check_mapping(limits, {"concurrency", "queue_max_bytes", "max_addresses"}, "limits");
    config.limits.concurrency = int_field(limits, "concurrency", 1, 256, config.limits.concurrency);
    config.limits.max_addresses = int_field(limits, "max_addresses", 1, 64, config.limits.max_addresses);
    if (auto text = spec::optional_string(limits, "queue_max_bytes")) {
      uint64_t bytes = 0;
      try {
        bytes = parse_size_bytes(*text);
      } catch (const std::invalid_argument& e) {
        throw YamlProblem(line_of_value(limits, "queue_max_bytes"), std::string("'queue_max_bytes': ") + e.what());
      }
      if (bytes < 64 * 1024)
        throw YamlProblem(line_of_value(limits, "queue_max_bytes"),
                          "'queue_max_bytes' must be at least 64KiB, got '" + *text + "'");
      config.limits.queue_max_bytes = bytes;
    }
  }

  if (const YAML::Node capture = root["capture"]; capture.IsDefined()) {
    if (!capture.IsScalar() || (capture.Scalar() != "true" && capture.Scalar() != "false"))
      throw YamlProblem(line_of_value(root, "capture"), "'capture' must be true or false");
    config.capture = capture.Scalar() == "true";
  }

  if (const YAML::Node timeouts = root["timeouts"]; timeouts.IsDefined()) {
    spec::check_mapping(timeouts, {"dns", "tcp", "tls", "http"}, "timeouts");
    constexpr int64_t kMaxMs = 10 * 60 * 1000;
    auto& t = config.timeouts;
    t.dns_ms = static_cast<int>(duration_field(timeouts, "dns", 1, kMaxMs, t.dns_ms));
    t.tcp_ms = static_cast<int>(duration_field(timeouts, "tcp", 1, kMaxMs, t.tcp_ms));
    t.tls_ms = static_cast<int>(duration_field(timeouts, "tls", 1, kMaxMs, t.tls_ms));
    t.http_ms = static_cast<int>(duration_field(timeouts, "http", 1, kMaxMs, t.http_ms));
  }
  if (auto page = spec::optional_string(root, "status_page")) {
    const auto colon = page->rfind(':');
    std::string host = colon == std::string::npos ? "" : page->substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    const std::string port = colon == std::string::npos ? "" : page->substr(colon + 1);
    const bool port_ok = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos &&
                         std::stoi(port) <= 65535;
    if (*page != "off" && (!port_ok || !measure::dns::is_valid_resolver(host + ":53")))
      throw YamlProblem(line_of_value(root, "status_page"),
                        "'status_page' must be IP:PORT (e.g. 127.0.0.1:8086) or off, got '" + *page + "'");
    config.status_page = *page;
  }
  if (const YAML::Node consent = root["consent"]; consent.IsDefined()) {
    spec::check_mapping(consent, {"version", "accepted_at", "language"}, "consent");
    auto version = spec::optional_unsigned(consent, "version");
    if (!version || *version < 1 || *version > 1000)
      throw YamlProblem(line_of(consent), "'consent' needs 'version' (the consent text accepted, 1..1000)");
    config.consent.version = static_cast<int>(*version);
    if (auto at = spec::optional_string(consent, "accepted_at")) {
      if (!core::parse_rfc3339(*at))
        throw YamlProblem(line_of_value(consent, "accepted_at"), "'accepted_at' must be an RFC 3339 time, got '" + *at + "'");
      config.consent.accepted_at = *at;
    }
    if (auto lang = spec::optional_string(consent, "language")) config.consent.language = *lang;
  }
  return config;
}

}  // namespace

int64_t parse_duration_ms(const std::string& text) {
  auto [value, unit] = split_number(text, kDurationForms);
  uint64_t factor = 0;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m") factor = 60 * 1000;
  else if (unit == "h") factor = 3600 * 1000;
  else if (unit == "d") factor = 24 * 3600 * 1000;
  else throw std::invalid_argument("'" + text + "' is not " + kDurationForms);
  if (value > static_cast<uint64_t>(INT64_MAX) / factor)
    throw std::invalid_argument("duration too large: '" + text + "'");
  return static_cast<int64_t>(value * factor);
}

uint64_t parse_size_bytes(const std::string& text) {
  auto [value, unit] = split_number(text, kSizeForms);
  uint64_t factor = 0;
  if (unit.empty() || unit == "B") factor = 1;
  else if (unit == "KiB") factor = 1ull << 10;
  else if (unit == "MiB") factor = 1ull << 20;
  else if (unit == "GiB") factor = 1ull << 30;
  else if (unit == "KB" || unit == "kB") factor = 1000;
  else if (unit == "MB") factor = 1000 * 1000;
  else if (unit == "GB") factor = 1000 * 1000 * 1000;
  else throw std::invalid_argument("'" + text + "' is not " + kSizeForms);
  if (value > UINT64_MAX / factor) throw std::invalid_argument("size too large: '" + text + "'");
  return value * factor;
}

ProbeConfig parse_probe_config(const std::string& yaml, const std::string& source_name) {
  try {
    return parse_document(yaml, source_name);
  } catch (const YamlProblem& p) {
    throw ConfigError(source_name + ":" + std::to_string(p.line()) + ": " + p.what());
  } catch (const YAML::Exception& e) {
    throw ConfigError(source_name + ":" + std::to_string(line_of(e.mark)) + ": " + e.msg);
  }
}

namespace {
// A YAML double-quoted scalar: paths and URLs may hold ':' or '#', which plain scalars would misread.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
}  // namespace

std::string probe_config_to_yaml(const ProbeConfig& c, const std::string& header) {
  std::string y;
  std::istringstream lines(header);
  for (std::string line; std::getline(lines, line);) y += "# " + line + "\n";
  y += c.collectors.empty() ? "collectors: []\n" : "collectors:\n";
  for (const auto& url : c.collectors) y += "  - " + quoted(url) + "\n";
  y += c.specs.empty() ? "specs: []\n" : "specs:\n";
  for (const auto& spec : c.specs) y += "  - " + quoted(spec) + "\n";
  if (!c.resolver.empty()) y += "resolver: " + quoted(c.resolver) + "\n";
  if (!c.ca_bundle.empty()) y += "ca_bundle: " + quoted(c.ca_bundle) + "\n";
  if (c.public_ca_bundle != kDefaultPublicCaBundle) y += "public_ca_bundle: " + quoted(c.public_ca_bundle) + "\n";
  y += "data_dir: " + quoted(c.data_dir) + "\n";
  if (!c.network.cc.empty() || c.network.asn != 0) {
    y += "network:\n";
    if (!c.network.cc.empty()) y += "  cc: " + c.network.cc + "\n";
    if (c.network.asn != 0) y += "  asn: " + std::to_string(c.network.asn) + "\n";
  }
  y += "schedule:\n  interval: " + std::to_string(c.schedule.interval_s) + "s\n  jitter: " +
       std::to_string(c.schedule.jitter_s) + "s\n  shutdown_interval: " + std::to_string(c.schedule.shutdown_interval_s) +
       "s\n";
  y += "upload:\n  proxy: " + quoted(c.upload.proxy) + "\n  batch_size: " + std::to_string(c.upload.batch_size) + "\n";
  y += "limits:\n  concurrency: " + std::to_string(c.limits.concurrency) + "\n  queue_max_bytes: " +
       std::to_string(c.limits.queue_max_bytes) + "\n  max_addresses: " + std::to_string(c.limits.max_addresses) + "\n";
  y += "status_page: " + quoted(c.status_page) + "\n";
  if (c.capture) y += "capture: true\n";
  y += "timeouts:\n  dns: " + std::to_string(c.timeouts.dns_ms) + "ms\n  tcp: " + std::to_string(c.timeouts.tcp_ms) +
       "ms\n  tls: " + std::to_string(c.timeouts.tls_ms) + "ms\n  http: " + std::to_string(c.timeouts.http_ms) + "ms\n";
  return y;
}

ProbeConfig load_probe_config(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw ConfigError(path + ": cannot read: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  return parse_probe_config(text.str(), path);
}

}  // namespace kuzet::probe
