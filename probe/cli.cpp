#include "probe/cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "measure/dns.hpp"
#include "measure/url.hpp"
#include "probe/collector_link.hpp"
#include "probe/config.hpp"
#include "probe/daemon.hpp"
#include "probe/export.hpp"
#include "probe/network_memory.hpp"
#include "probe/status.hpp"
#include "probe/output.hpp"
#include "probe/run_setup.hpp"
#include "probe/runner.hpp"
#include "spec/spec.hpp"

namespace kuzet::probe {

namespace {

// A usage or configuration error: exit code 2 with the message.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr const char* kUsage =
    "usage: kuzet-probe run [--spec FILE]... [--target URL]... [--resolver IP[:PORT]] [--ca-bundle FILE]\n"
    "                       [--public-ca-bundle FILE|DIR|none]\n"
    "                       [--out FILE] [--collector URL] [--no-upload] [--config FILE]\n"
    "                       [--data-dir DIR] [--concurrency N] [--quiet]\n"
    "       kuzet-probe daemon [--config FILE]      (scheduled runs, durable queue, uploads)\n"
    "       kuzet-probe status [--config FILE] [--json]\n"
    "       kuzet-probe export [--config FILE] [--since TIME] [--until TIME] FILE\n"
    "       kuzet-probe --help | --version\n";

struct RunCommand {
  std::vector<std::string> specs;
  std::vector<std::string> targets;
  std::string resolver;
  std::string ca_bundle;
  std::string public_ca_bundle;
  std::string out;
  std::string collector;
  bool no_upload = false;
  std::string config;
  std::string data_dir;
  size_t concurrency = 16;
  bool concurrency_set = false;
  bool quiet = false;
};

RunCommand parse_run(int argc, char** argv) {
  RunCommand cmd;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--spec") cmd.specs.push_back(value());
    else if (arg == "--target") cmd.targets.push_back(value());
    else if (arg == "--resolver") cmd.resolver = value();
    else if (arg == "--ca-bundle") cmd.ca_bundle = value();
    else if (arg == "--public-ca-bundle") cmd.public_ca_bundle = value();
    else if (arg == "--out") cmd.out = value();
    else if (arg == "--collector") cmd.collector = value();
    else if (arg == "--no-upload") cmd.no_upload = true;
    else if (arg == "--config") cmd.config = value();
    else if (arg == "--data-dir") cmd.data_dir = value();
    else if (arg == "--quiet") cmd.quiet = true;
    else if (arg == "--concurrency") {
      const std::string v = value();
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 256) throw UsageError("--concurrency takes 1..256");
      cmd.concurrency = n;
      cmd.concurrency_set = true;
    } else throw UsageError("unknown option '" + arg + "'");
  }
  if (!cmd.resolver.empty() && !measure::is_valid_resolver(cmd.resolver))
    throw UsageError("--resolver '" + cmd.resolver + "' is not IP, IP:PORT or [IPv6]:PORT");
  for (const auto& t : cmd.targets) {
    std::string why;
    if (!measure::parse_url(t, &why)) throw UsageError("--target '" + t + "': " + why);
  }
  if (!cmd.collector.empty() && !measure::parse_url(cmd.collector))
    throw UsageError("--collector '" + cmd.collector + "' is not an http(s) URL");
  return cmd;
}

// Uploads the run; on failure the results stay on disk (--out, or a file in the data dir) and we say where.
int upload_results(const CollectorClient& client, const Identity& identity, const RunResult& result,
                   const std::string& out_path, const std::string& data_dir) {
  auto summary = upload_records(client, identity, result.records);
  std::fprintf(stderr, "upload to %s: %zu stored, %zu duplicate, %zu rejected, %zu not sent%s%s\n",
               client.base_url().c_str(), summary.stored, summary.duplicates, summary.rejected, summary.failed,
               summary.failure.empty() ? "" : " — ", summary.failure.c_str());
  for (const auto& item : summary.items)
    if (item.status == "rejected")
      std::fprintf(stderr, "  rejected %s: %s\n", item.measurement_uid.c_str(), item.reason.c_str());
  if (summary.failed == 0 && summary.rejected == 0) return 0;
  std::string kept = out_path;
  if (kept.empty()) {
    kept = data_dir + "/unsent-" + result.run_id + ".jsonl";
    OutputFile fallback;
    std::string why;
    if (!fallback.open(kept, &why) || !fallback.append_records(result.records, &why)) {
      std::fprintf(stderr, "kuzet-probe: could not keep the results in %s: %s\n", kept.c_str(), why.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "results are kept in %s\n", kept.c_str());
  return 0;
}

// The config file gives defaults; command-line flags win.
ProbeConfig effective_config(const RunCommand& cmd) {
  ProbeConfig config;
  if (!cmd.config.empty()) config = load_probe_config(cmd.config);  // throws ConfigError
  if (!cmd.specs.empty() || !cmd.targets.empty()) config.specs = cmd.specs;
  if (!cmd.resolver.empty()) config.resolver = cmd.resolver;
  if (!cmd.ca_bundle.empty()) config.ca_bundle = cmd.ca_bundle;
  if (!cmd.public_ca_bundle.empty()) config.public_ca_bundle = cmd.public_ca_bundle;
  if (!cmd.collector.empty()) config.collectors = {cmd.collector};
  if (!cmd.data_dir.empty()) config.data_dir = cmd.data_dir;
  if (cmd.concurrency_set) config.limits.concurrency = static_cast<int>(cmd.concurrency);
  return config;
}

int run_command(const RunCommand& cmd) {
  const ProbeConfig config = effective_config(cmd);
  RunOptions options;
  try {
    options = run_options_from(config, cmd.targets);  // throws SpecError for a broken spec
  } catch (const std::invalid_argument& e) {              // an unusable CA bundle
    throw UsageError(e.what());
  }
  if (options.targets.empty()) throw UsageError("nothing to measure: give --spec FILE or --target URL");
  if (!cmd.quiet) options.on_progress = print_progress;

  // A collector gives control measurements and the network identity, and receives the results.
  std::optional<Identity> identity;
  std::optional<CollectorClient> client;
  if (!config.collectors.empty()) {
    try {
      identity = Identity::load_or_create(config.data_dir);
    } catch (const std::exception& e) {
      throw UsageError(std::string("identity in ") + config.data_dir + ": " + e.what() +
                       " (use --data-dir DIR or data_dir: in the config)");
    }
    client.emplace(config.collectors.front(), collector_client_options(config));
    const bool via_proxy = !config.upload.proxy.empty();
    if (via_proxy && !options.network_override)
      std::fprintf(stderr, "kuzet-probe: uploads go through a proxy, so the collector cannot tell our network; "
                           "set network: {cc, asn} in the config to label results\n");
    options.collector =
        std::make_shared<HttpCollectorLink>(*client, *identity, options.network_override, !via_proxy);
    if (!via_proxy) options.last_known_network = load_last_network(config.data_dir);
  }

  // Open --out before measuring, so a bad path fails in a second, not after the run.
  OutputFile out;
  if (!cmd.out.empty()) {
    std::string why;
    if (!out.open(cmd.out, &why)) throw UsageError("--out '" + cmd.out + "': " + why);
  }

  RunResult result = run_probe(options);
  if (result.network.source == "collector") {
    if (auto error = save_last_network(config.data_dir, result.network); !error.empty())
      std::fprintf(stderr, "kuzet-probe: cannot remember the network in %s: %s\n", config.data_dir.c_str(),
                   error.c_str());
  }

  if (out.is_open()) {
    std::string why;
    if (!out.append_records(result.records, &why)) {
      std::fprintf(stderr, "kuzet-probe: writing %s failed: %s\n", cmd.out.c_str(), why.c_str());
      print_table(std::cout, result);
      return 1;
    }
  }
  print_table(std::cout, result);
  if (client && !cmd.no_upload) return upload_results(*client, *identity, result, cmd.out, config.data_dir);
  return 0;
}

}  // namespace

int main_cli(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (sub == "--version") {
    std::printf("kuzet-probe %s\n", kSoftwareVersion);
    return 0;
  }
  try {
    if (sub == "run") return run_command(parse_run(argc - 2, argv + 2));
    if (sub == "daemon") return daemon_command(argc - 2, argv + 2);
    if (sub == "status") return status_command(argc - 2, argv + 2);
    if (sub == "export") return export_command(argc - 2, argv + 2);
    throw UsageError("unknown command '" + sub + "'");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const spec::SpecError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n", e.what());
    return 2;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n", e.what());
    return 2;
  }
}

}  // namespace kuzet::probe
