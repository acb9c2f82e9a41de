#include "probe/cli.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "measure/dns/dns.hpp"
#include "measure/http/url.hpp"
#include "probe/uplink/collector_link.hpp"
#include "probe/config.hpp"
#include "probe/daemon/daemon.hpp"
#include "probe/daemon/export.hpp"
#include "probe/history/history.hpp"
#include "probe/identity/network_memory.hpp"
#include "probe/daemon/status.hpp"
#include "probe/ui/output.hpp"
#include "probe/run_setup.hpp"
#include "probe/memory/memory.hpp"
#include "probe/runner.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/consent.hpp"
#include "probe/ui/results.hpp"
#include "probe/ui/setup.hpp"
#include "probe/ui/texts.hpp"
#include "spec/spec.hpp"

namespace kuzet::probe {

namespace {

using ui::UsageError;

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
  size_t concurrency = 0;  // used when concurrency_set
  bool concurrency_set = false;
  bool quiet = false;
  bool consent = false;  // --consent: the volunteer accepted the consent text for this run
  bool capture = false;  // --capture: record packets (docs/packet-evidence.md)
  bool locate = false;   // --locate: find the hop of a reset injector (implies --capture)
};

RunCommand parse_run(int argc, char** argv) {
  RunCommand cmd;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(ui::say("error.needs_value", {{"command", "run"}, {"option", arg}}));
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
    else if (arg == "--consent") cmd.consent = true;
    else if (arg == "--capture") cmd.capture = true;
    else if (arg == "--locate") cmd.locate = cmd.capture = true;
    else if (arg == "--concurrency") {
      const std::string v = value();
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 256) throw UsageError(ui::say("error.number_range", {{"command", "run"}, {"option", arg}, {"min", "1"}, {"max", "256"}}));
      cmd.concurrency = n;
      cmd.concurrency_set = true;
    } else throw UsageError(ui::unknown_option_message("run", arg));
  }
  if (!cmd.resolver.empty() && !measure::dns::is_valid_resolver(cmd.resolver))
    throw UsageError(ui::say("error.bad_resolver", {{"value", cmd.resolver}}));
  for (const auto& t : cmd.targets) {
    std::string why;
    if (measure::http::parse_url(t, &why)) continue;
    if (auto hint = ui::url_suggestion_message("--target", t); !hint.empty()) throw UsageError(hint);
    throw UsageError("--target '" + t + "': " + why);
  }
  if (!cmd.collector.empty() && !measure::http::parse_url(cmd.collector)) {
    if (auto hint = ui::url_suggestion_message("--collector", cmd.collector); !hint.empty()) throw UsageError(hint);
    throw UsageError(ui::say("error.bad_collector_url", {{"value", cmd.collector}}));
  }
  return cmd;
}

// Uploads the run; on failure the results stay on disk (--out, or a file in the data dir) and we say where.
int upload_results(const uplink::CollectorClient& client, const identity::Identity& identity, const RunResult& result,
                   const std::string& out_path, const std::string& data_dir) {
  auto summary = uplink::upload_records(client, identity, result.records);
  std::fprintf(stderr, "%s%s\n",
               ui::say("run.upload_summary", {{"collector", client.base_url()},
                                              {"stored", std::to_string(summary.stored)},
                                              {"duplicate", std::to_string(summary.duplicates)},
                                              {"rejected", std::to_string(summary.rejected)},
                                              {"failed", std::to_string(summary.failed)}}).c_str(),
               summary.failure.empty() ? "" : ui::say("run.upload_failure", {{"failure", summary.failure}}).c_str());
  for (const auto& item : summary.items)
    if (item.status == "rejected")
      std::fprintf(stderr, "%s\n", ui::say("run.upload_rejected", {{"uid", item.measurement_uid}, {"reason", item.reason}}).c_str());
  if (summary.failed == 0 && summary.rejected == 0) return 0;
  std::string kept = out_path;
  if (kept.empty()) {
    kept = data_dir + "/unsent-" + result.run_id + ".jsonl";
    ui::OutputFile fallback;
    std::string why;
    if (!fallback.open(kept, &why) || !fallback.append_records(result.records, &why)) {
      std::fprintf(stderr, "kuzet-probe: %s\n", ui::say("run.keep_failed", {{"file", kept}, {"reason", why}}).c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "%s\n", ui::say("run.kept_in", {{"file", kept}}).c_str());
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
  if (cmd.capture) config.capture = true;
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
  if (options.targets.empty())
    throw UsageError(ui::say("error.nothing_to_measure") + "\n" +
                     ui::say("error.see_help", {{"command", "run"}}));
  if (!cmd.quiet) options.on_progress = ui::print_progress;

  // Open --out before measuring, so a bad path fails in a second, not after the run.
  ui::OutputFile out;
  if (!cmd.out.empty()) {
    std::string why;
    if (!out.open(cmd.out, &why)) throw UsageError(ui::say("error.bad_out", {{"file", cmd.out}, {"reason", why}}));
  }

  // Consent, once every usage error has been said: read from the config given, else from the installed one
  // (where `setup` records it).
  {
    std::string consent_path = cmd.config;
    ConsentRecord recorded = config.consent;
    std::error_code ec;
    if (consent_path.empty() && std::filesystem::exists(kDefaultConfigPath, ec)) {
      consent_path = kDefaultConfigPath;
      try {
        recorded = load_probe_config(consent_path).consent;
      } catch (const ConfigError&) {  // unreadable for this user, or broken: no recorded consent then
      }
    }
    if (int refused = ui::require_consent("run", recorded, cmd.consent, consent_path); refused >= 0) return refused;
  }

  // A collector gives control measurements and the network identity, and receives the results.
  std::optional<identity::Identity> identity;
  std::optional<uplink::CollectorClient> client;
  if (!config.collectors.empty()) {
    try {
      identity = identity::Identity::load_or_create(config.data_dir);
    } catch (const std::exception& e) {
      throw UsageError(ui::say("error.identity", {{"dir", config.data_dir}, {"reason", e.what()}}));
    }
    client.emplace(config.collectors.front(), collector_client_options(config));
    const bool via_proxy = !config.upload.proxy.empty();
    if (via_proxy && !options.network_override)
      std::fprintf(stderr, "kuzet-probe: %s\n", ui::say("run.proxy_no_network", {{"setting", "network: {cc, asn}"}}).c_str());
    options.collector =
        std::make_shared<uplink::HttpCollectorLink>(*client, *identity, options.network_override, !via_proxy);
    if (!via_proxy) options.last_known_network = identity::load_last_network(config.data_dir);
  }

  if (config.capture) options.capture = open_capture(config);
  options.locate = cmd.locate && options.capture;

  // Starting touched ~12 MB of library pages (loading, relocating, initialising) that measuring mostly does not
  // use: give them back before the targets' memory comes on top of them (probe/memory/memory.hpp).
  memory::release_clean_file_pages();
  RunResult result = run_probe(options);
  if (result.network.source == "collector") {
    if (auto error = identity::save_last_network(config.data_dir, result.network); !error.empty())
      std::fprintf(stderr, "kuzet-probe: %s\n",
                   ui::say("run.cannot_remember_network", {{"dir", config.data_dir}, {"reason", error}}).c_str());
  }

  if (out.is_open()) {
    std::string why;
    if (!out.append_records(result.records, &why)) {
      std::fprintf(stderr, "kuzet-probe: writing %s failed: %s\n", cmd.out.c_str(), why.c_str());
      ui::print_table(std::cout, result);
      return 1;
    }
  }
  ui::print_table(std::cout, result);
  // Also into the local history when the data directory is ours (kuzet-probe results lists it). Not into the
  // service's: a file root made there would be one the daemon (user kuzet) cannot append to.
  struct stat dir_stat {};
  const bool kept = ::stat(config.data_dir.c_str(), &dir_stat) == 0 && dir_stat.st_uid == ::geteuid() &&
                    ::access(config.data_dir.c_str(), W_OK) == 0 &&
                    history::append(config.data_dir, history::entries_of(result), history::Limits{},
                                    core::now_rfc3339()).empty();
  if (kept) std::fprintf(stderr, "%s\n", ui::say("run.kept_in_history", {{"file", history::path(config.data_dir)}}).c_str());
  if (client && !cmd.no_upload) return upload_results(*client, *identity, result, cmd.out, config.data_dir);
  if (!out.is_open() && !kept) std::fprintf(stderr, "%s\n", ui::texts().text("run.not_saved").c_str());
  return 0;
}

}  // namespace

int main_cli(int argc, char** argv) {
  if (argc < 2) {
    ui::print_help("");
    return ui::kExitUsage;
  }
  const std::string sub = argv[1];
  if (sub == "--help" || sub == "-h") return ui::print_help("");
  if (sub == "help") return ui::print_help(argc >= 3 && ui::find_command(argv[2]) ? argv[2] : "");
  if (sub == "--version") {
    std::printf("kuzet-probe %s\n", kSoftwareVersion);
    return ui::kExitOk;
  }
  if (sub == "_complete") return ui::print_completion_words(argc - 2, argv + 2);  // for the bash completion
  if (ui::find_command(sub) && ui::wants_help(argc - 2, argv + 2)) return ui::print_help(sub);
  try {
    if (sub == "run") return run_command(parse_run(argc - 2, argv + 2));
    if (sub == "daemon") return daemon::daemon_command(argc - 2, argv + 2);
    if (sub == "status") return daemon::status_command(argc - 2, argv + 2);
    if (sub == "export") return daemon::export_command(argc - 2, argv + 2);
    if (sub == "setup") return ui::setup_command(argc - 2, argv + 2);
    if (sub == "consent") return ui::consent_command(argc - 2, argv + 2);
    if (sub == "results") return ui::results_command(argc - 2, argv + 2);
    throw UsageError(ui::unknown_command_message(sub) + "\n" + ui::texts().text("help.main"));
  } catch (const UsageError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n", e.what());
    return ui::kExitUsage;
  } catch (const spec::SpecError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n", e.what());
    return ui::kExitUsage;
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n", e.what());
    return ui::kExitUsage;
  }
}

}  // namespace kuzet::probe
