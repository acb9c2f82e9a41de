#include "probe/run_setup.hpp"

#include <cstdio>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "knowledge/knowledge.hpp"
#include "probe/privacy/own_addresses.hpp"
#include "probe/ui/texts.hpp"
#include "spec/categories.hpp"
#include "spec/spec.hpp"

namespace kuzet::probe {

measure::MeasureOptions measure_options_from(const ProbeConfig& config) {
  measure::MeasureOptions m;
  m.dns.resolver = config.resolver;
  m.dns.timeout_ms = config.timeouts.dns_ms;
  m.tcp_timeout_ms = config.timeouts.tcp_ms;
  m.tls.timeout_ms = config.timeouts.tls_ms;
  m.http.timeout_ms = config.timeouts.http_ms;
  m.http.ca_bundle = config.ca_bundle;
  m.max_addresses = static_cast<size_t>(config.limits.max_addresses);
  try {
    m.tls.trust = measure::TrustStore::load(config.ca_bundle);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("CA bundle: ") + e.what());
  }
  // The pristine public bundle: absent by default on a system without Debian's Mozilla set (no check then);
  // named explicitly, it must load.
  std::error_code ec;
  const bool skip = config.public_ca_bundle.empty() || config.public_ca_bundle == kNoPublicCaBundle ||
                    (config.public_ca_bundle == kDefaultPublicCaBundle &&
                     !std::filesystem::exists(config.public_ca_bundle, ec));
  if (!skip) {
    try {
      m.tls.public_trust = measure::TrustStore::load_public(config.public_ca_bundle);
    } catch (const std::exception& e) {
      throw std::invalid_argument(std::string("public CA bundle: ") + e.what());
    }
  }
  return m;
}

uplink::CollectorClientOptions collector_client_options(const ProbeConfig& config) {
  uplink::CollectorClientOptions o;
  o.proxy = config.upload.proxy;
  o.batch_size = static_cast<size_t>(config.upload.batch_size);
  o.connect_timeout_ms = config.timeouts.tcp_ms;
  return o;
}

RunOptions run_options_from(const ProbeConfig& config, const std::vector<std::string>& extra_targets) {
  RunOptions options;
  std::vector<spec::Spec> specs;
  for (const auto& path : config.specs) specs.push_back(spec::load_spec_file(path));  // throws SpecError
  std::set<std::string> seen;
  for (const auto& s : specs)
    for (const auto& t : s.targets)
      if (seen.insert(spec::url_key(t.url)).second) options.targets.push_back({t, s.source});
  for (const auto& url : extra_targets)
    if (seen.insert(spec::url_key(url)).second)
      options.targets.push_back({spec::Target{url, std::string(spec::category::other), "", ""}, ""});
  const auto merged = spec::merge_specs(specs);
  // The specs' knowledge, then what ships with the probe: a custom spec or a bare --target knows it too.
  options.knowledge = knowledge::merged_with_builtin({merged.interception_roots, merged.blockpages});
  options.concurrency = static_cast<size_t>(config.limits.concurrency);
  options.measure = measure_options_from(config);
  if (!config.network.cc.empty() || config.network.asn != 0) {
    NetworkIdentity manual;
    manual.cc = config.network.cc;
    manual.asn = config.network.asn;
    manual.source = "config";
    options.network_override = manual;
  }
  options.local_addresses = privacy::interface_addresses();
  return options;
}

std::shared_ptr<capture::Recorder> open_capture(const ProbeConfig& config) {
  std::string why;
  std::shared_ptr<capture::Recorder> recorder = capture::Recorder::open(config.resolver, capture::CaptureLimits{}, &why);
  if (!recorder) std::fprintf(stderr, "kuzet-probe: %s\n", ui::say("run.capture_unavailable", {{"why", why}}).c_str());
  return recorder;
}

}  // namespace kuzet::probe
