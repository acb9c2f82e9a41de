#include "collector/options.hpp"

#include <charconv>
#include <string_view>
#include <vector>

#include "collector/network/address.hpp"
#include "collector/analytics/clickhouse/clickhouse.hpp"
#include "collector/store/pg_util.hpp"
#include "collector/texts.hpp"
#include "core/suggest.hpp"
#include "measure/dns/dns.hpp"

namespace kuzet::collector {

const std::string& usage_text() { return texts().text("usage"); }

namespace {

uint64_t parse_number(const std::string& option, const std::string& text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size() || value < min || value > max)
    throw UsageError(
        say("error.number_range", {{"option", option}, {"min", std::to_string(min)}, {"max", std::to_string(max)}}));
  return value;
}

// Every option of serve and import, for "did you mean" on a typo.
const std::vector<std::string_view> kServeOptions = {
    "--listen", "--db", "--resolver", "--ca-bundle", "--asn-db", "--allow-private-targets", "--control-concurrency",
    "--timeline-bin", "--trusted-proxy", "--max-connections", "--max-connections-per-source", "--log-key",
    "--log-origin", "--checkpoint-interval", "--vantage-key-file", "--min-vantage-points", "--timeline-db",
    "--webhooks", "--webhook-log", "--webhook-interval", "--analytics", "--help"};
const std::vector<std::string_view> kImportOptions = {"--db", "--help"};
const std::vector<std::string_view> kMigrateOptions = {"--from", "--to", "--help"};
const std::vector<std::string_view> kAnalyticsExportOptions = {"--db", "--analytics", "--timeline-bin", "--batch", "--help"};

std::string unknown_option(std::string_view command, const std::string& arg) {
  const auto near = core::nearest_word(arg.substr(0, arg.find('=')),
                                      command == "serve"              ? kServeOptions
                                      : command == "migrate"          ? kMigrateOptions
                                      : command == "analytics-export" ? kAnalyticsExportOptions
                                                                      : kImportOptions);
  if (near.empty()) return say("error.unknown_option", {{"option", arg}});
  return say("error.unknown_option_near", {{"option", arg}, {"suggestion", near}});
}

// The whole URL is read when the command starts (collector/analytics, exit 2 on a mistake).
void check_analytics_url(const std::string& url) {
  if (!analytics::clickhouse::is_clickhouse_url(url))
    throw UsageError(say("error.analytics_url"));
}

}  // namespace

void parse_listen(const std::string& text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw UsageError(say("error.listen_form"));
  std::string h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.back() != ']') throw UsageError(say("error.listen_ipv6"));
    h = h.substr(1, h.size() - 2);
  }
  if (h.empty()) throw UsageError(say("error.listen_form"));
  *host = h;
  *port = static_cast<uint16_t>(parse_number(texts().text("option.listen_port"), text.substr(colon + 1), 0, 65535));
}

CommandLine parse_command_line(int argc, const char* const* argv) {
  CommandLine cl;
  if (argc < 2) throw UsageError(say("error.command_required"));
  const std::string command = argv[1];
  int i = 2;
  auto value = [&](const std::string& option) -> std::string {
    if (i + 1 >= argc) throw UsageError(say("error.needs_value", {{"option", option}}));
    return argv[++i];
  };
  if (command == "-h" || command == "--help" || command == "help") {
    cl.command = Command::help;
    return cl;
  }
  if (command == "--version" || command == "version") {
    cl.command = Command::version;
    return cl;
  }
  // `kuzet-collector serve --help`: the usage, exit 0, whatever else is on the line.
  for (int k = 2; k < argc; ++k)
    if (std::string_view(argv[k]) == "--help" || std::string_view(argv[k]) == "-h") {
      cl.command = Command::help;
      return cl;
    }
  if (command == "serve") {
    cl.command = Command::serve;
    auto& s = cl.serve;
    bool listen_given = false;
    for (; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--listen") {
        parse_listen(value(arg), &s.listen_host, &s.port);
        listen_given = true;
      } else if (arg == "--db") {
        s.db_path = value(arg);
      } else if (arg == "--resolver") {
        s.resolver = value(arg);
        if (!measure::dns::is_valid_resolver(s.resolver)) throw UsageError(say("error.resolver"));
      } else if (arg == "--ca-bundle") {
        s.ca_bundle = value(arg);
      } else if (arg == "--asn-db") {
        s.asn_db = value(arg);
      } else if (arg == "--allow-private-targets") {
        s.allow_private_targets = true;
      } else if (arg == "--control-concurrency") {
        s.control_concurrency = parse_number(arg, value(arg), 1, 256);
      } else if (arg == "--trusted-proxy") {
        std::string ip = value(arg);
        if (!network::parse_ip(ip)) throw UsageError(say("error.trusted_proxy"));
        s.trusted_proxies.push_back(ip);
      } else if (arg == "--max-connections") {
        s.max_connections = parse_number(arg, value(arg), 16, 1000000);
      } else if (arg == "--max-connections-per-source") {
        s.max_connections_per_source = parse_number(arg, value(arg), 1, 1000000);
      } else if (arg == "--timeline-bin") {
        s.timeline_bin_minutes = static_cast<uint32_t>(parse_number(arg, value(arg), 1, 24 * 60));
      } else if (arg == "--log-key") {
        s.log_key_path = value(arg);
      } else if (arg == "--log-origin") {
        s.log_origin = value(arg);
      } else if (arg == "--checkpoint-interval") {
        s.checkpoint_interval_seconds = static_cast<uint32_t>(parse_number(arg, value(arg), 1, 3600));
      } else if (arg == "--vantage-key-file") {
        s.vantage_key_file = value(arg);
      } else if (arg == "--webhooks") {
        s.webhooks_path = value(arg);
      } else if (arg == "--webhook-log") {
        s.webhook_log_path = value(arg);
      } else if (arg == "--webhook-interval") {
        s.webhook_interval_seconds = static_cast<uint32_t>(parse_number(arg, value(arg), 1, 86400));
      } else if (arg == "--min-vantage-points") {
        s.min_vantage_points = static_cast<uint32_t>(parse_number(arg, value(arg), 1, 1000));
      } else if (arg == "--timeline-db") {
        s.timeline_db = value(arg);
      } else if (arg == "--analytics") {
        s.analytics = value(arg);
        check_analytics_url(s.analytics);
      } else {
        throw UsageError(unknown_option("serve", arg));
      }
    }
    if (!listen_given) throw UsageError(say("error.required", {{"option", "--listen"}}));
    if (s.db_path.empty()) throw UsageError(say("error.required", {{"option", "--db"}}));
    // A URL names no file to keep the log key and the timeline index beside (docs/deployment.md).
    if (pg::is_url(s.db_path) && s.log_key_path.empty())
      throw UsageError(say("error.log_key_postgres"));
    return cl;
  }
  if (command == "import") {
    cl.command = Command::import;
    for (; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--db") {
        cl.import.db_path = value(arg);
      } else if (!arg.empty() && arg[0] == '-') {
        throw UsageError(unknown_option("import", arg));
      } else if (cl.import.file.empty()) {
        cl.import.file = arg;
      } else {
        throw UsageError(say("error.import_one_file"));
      }
    }
    if (cl.import.db_path.empty()) throw UsageError(say("error.required", {{"option", "--db"}}));
    if (cl.import.file.empty()) throw UsageError(say("error.import_no_file"));
    return cl;
  }
  if (command == "migrate") {
    cl.command = Command::migrate;
    for (; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--from") {
        cl.migrate.from = value(arg);
      } else if (arg == "--to") {
        cl.migrate.to = value(arg);
      } else {
        throw UsageError(unknown_option("migrate", arg));
      }
    }
    if (cl.migrate.from.empty() || cl.migrate.to.empty()) throw UsageError(say("error.migrate_needs"));
    if (pg::is_url(cl.migrate.from)) throw UsageError(say("error.migrate_from"));
    if (!pg::is_url(cl.migrate.to)) throw UsageError(say("error.migrate_to"));
    return cl;
  }
  if (command == "analytics-export") {
    cl.command = Command::analytics_export;
    auto& a = cl.analytics_export;
    for (; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--db") {
        a.db_path = value(arg);
      } else if (arg == "--analytics") {
        a.analytics = value(arg);
        check_analytics_url(a.analytics);
      } else if (arg == "--timeline-bin") {
        a.timeline_bin_minutes = static_cast<uint32_t>(parse_number(arg, value(arg), 1, 24 * 60));
      } else if (arg == "--batch") {
        a.batch_rows = parse_number(arg, value(arg), 1, 1000000);
      } else {
        throw UsageError(unknown_option("analytics-export", arg));
      }
    }
    if (a.db_path.empty() || a.analytics.empty()) throw UsageError(say("error.analytics_export_needs"));
    return cl;
  }
  const auto near = core::nearest_word(command, {"serve", "import", "migrate", "export", "analytics-export",
                                                 "import-ooni", "help", "--version"});
  if (near.empty()) throw UsageError(say("error.unknown_command", {{"command", command}}));
  throw UsageError(say("error.unknown_command_near", {{"command", command}, {"suggestion", near}}));
}

}  // namespace kuzet::collector
