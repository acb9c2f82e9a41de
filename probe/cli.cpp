#include "probe/cli.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "measure/dns.hpp"
#include "measure/url.hpp"
#include "probe/output.hpp"
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
    "                       [--out FILE] [--collector URL] [--no-upload] [--config FILE]\n"
    "                       [--concurrency N] [--quiet]\n"
    "       kuzet-probe --help | --version\n";

struct RunCommand {
  std::vector<std::string> specs;
  std::vector<std::string> targets;
  std::string resolver;
  std::string ca_bundle;
  std::string out;
  std::string collector;
  bool no_upload = false;
  std::string config;
  size_t concurrency = 16;
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
    else if (arg == "--out") cmd.out = value();
    else if (arg == "--collector") cmd.collector = value();
    else if (arg == "--no-upload") cmd.no_upload = true;
    else if (arg == "--config") cmd.config = value();
    else if (arg == "--quiet") cmd.quiet = true;
    else if (arg == "--concurrency") {
      const std::string v = value();
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 256) throw UsageError("--concurrency takes 1..256");
      cmd.concurrency = n;
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

int run_command(const RunCommand& cmd) {
  RunOptions options;
  std::vector<spec::Spec> specs;
  for (const auto& path : cmd.specs) specs.push_back(spec::load_spec_file(path));  // throws SpecError
  for (const auto& s : specs)
    for (const auto& t : s.targets) options.targets.push_back({t, s.source});
  for (const auto& url : cmd.targets) options.targets.push_back({spec::Target{url, "other", "", ""}, ""});
  if (options.targets.empty()) throw UsageError("nothing to measure: give --spec FILE or --target URL");
  const auto merged = spec::merge_specs(specs);
  options.knowledge.interception_roots = merged.interception_roots;
  options.knowledge.blockpages = merged.blockpages;

  options.concurrency = cmd.concurrency;
  options.measure.dns.resolver = cmd.resolver;
  try {
    options.measure.tls.trust = measure::TrustStore::load(cmd.ca_bundle);
  } catch (const std::exception& e) {
    throw UsageError(std::string("--ca-bundle: ") + e.what());
  }
  options.measure.http.ca_bundle = cmd.ca_bundle;
  if (!cmd.quiet) options.on_progress = print_progress;

  // Open --out before measuring, so a bad path fails in a second, not after the run.
  OutputFile out;
  if (!cmd.out.empty()) {
    std::string why;
    if (!out.open(cmd.out, &why)) throw UsageError("--out '" + cmd.out + "': " + why);
  }

  RunResult result = run_probe(options);

  if (out.is_open()) {
    std::string why;
    if (!out.append_records(result.records, &why)) {
      std::fprintf(stderr, "kuzet-probe: writing %s failed: %s\n", cmd.out.c_str(), why.c_str());
      print_table(std::cout, result);
      return 1;
    }
  }
  print_table(std::cout, result);
  if (!cmd.collector.empty() && !cmd.no_upload) {
    std::fprintf(stderr, "kuzet-probe: upload to %s is not implemented yet; results are in %s\n",
                 cmd.collector.c_str(), cmd.out.empty() ? "(no --out file)" : cmd.out.c_str());
  }
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
    throw UsageError("unknown command '" + sub + "'");
  } catch (const UsageError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n%s", e.what(), kUsage);
    return 2;
  } catch (const spec::SpecError& e) {
    std::fprintf(stderr, "kuzet-probe: %s\n", e.what());
    return 2;
  }
}

}  // namespace kuzet::probe
