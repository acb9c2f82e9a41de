#include "probe/daemon/export.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>

#include "files/files.hpp"
#include "core/crypto/crypto.hpp"
#include "core/encoding/jcs.hpp"
#include "core/crypto/signing.hpp"
#include "probe/config.hpp"
#include "probe/daemon/queue.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/texts.hpp"

namespace kuzet::probe::daemon {

ExportResult export_bundle(const ExportOptions& options, const identity::Identity& identity) {
  ExportResult result;
  std::string envelopes;
  std::map<std::pair<std::string, uint32_t>, bool> networks;
  daemon::scan_queue(options.queue_dir, [&](const std::string& payload) {
    const auto env = nlohmann::json::parse(payload, nullptr, false);
    if (!env.is_object() || !env.contains("measurement") || !env["measurement"].is_object()) {
      ++result.skipped;
      return;
    }
    const auto& m = env["measurement"];
    const auto started = m.contains("started_at") && m["started_at"].is_string()
                             ? core::parse_rfc3339(m["started_at"].get<std::string>())
                             : std::nullopt;
    if (!started || (options.since && *started < *options.since) || (options.until && *started >= *options.until)) {
      ++result.skipped;
      return;
    }
    std::string cc;
    uint32_t asn = 0;
    if (m.contains("network") && m["network"].is_object()) {
      const auto& n = m["network"];
      if (n.contains("cc") && n["cc"].is_string()) cc = n["cc"].get<std::string>();
      if (n.contains("asn") && n["asn"].is_number_unsigned()) asn = n["asn"].get<uint32_t>();
    }
    networks[{cc, asn}] = true;
    envelopes += payload;
    envelopes += '\n';
    ++result.exported;
  });
  // Key statements first, so a collector that never saw this probe can check the envelopes after them.
  std::string bundle;
  for (const auto& [network, used] : networks) {
    const auto key = identity.for_network(network.first, network.second);
    nlohmann::json statement{{"public_key", core::base64_encode(key.public_key)}, {"registered_at", core::now_rfc3339()}};
    statement["signature"] = core::base64_encode(core::ed25519_sign(key, core::canonicalize(statement)));
    bundle += statement.dump() + "\n";
    ++result.keys;
  }
  bundle += envelopes;
  result.error = files::write_file_atomically(options.out_path, bundle);
  return result;
}

int export_command(int argc, char** argv) {
  const std::string see_help = ui::say("error.see_help", {{"command", "export"}});
  const auto usage_error = [&](const std::string& message) {
    std::fprintf(stderr, "kuzet-probe: %s\n%s\n", message.c_str(), see_help.c_str());
    return 2;
  };
  std::string config_path = kDefaultConfigPath;
  ExportOptions options;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" || arg == "--since" || arg == "--until") {
      if (i + 1 >= argc) return usage_error(ui::say("error.needs_value", {{"command", "export"}, {"option", arg}}));
      const std::string value = argv[++i];
      if (arg == "--config") {
        config_path = value;
        continue;
      }
      auto t = core::parse_rfc3339(value);
      if (!t) return usage_error(ui::say("export.not_a_time", {{"option", arg}, {"value", value}}));
      (arg == "--since" ? options.since : options.until) = t;
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "kuzet-probe: %s\n", ui::unknown_option_message("export", arg).c_str());
      return 2;
    } else if (options.out_path.empty()) {
      options.out_path = arg;
    } else {
      return usage_error(ui::say("export.one_file"));
    }
  }
  if (options.out_path.empty()) return usage_error(ui::say("export.file_missing"));
  try {
    const ProbeConfig config = load_probe_config(config_path);
    options.queue_dir = config.data_dir + "/queue";
    const identity::Identity identity = identity::Identity::load_or_create(config.data_dir);
    const auto result = export_bundle(options, identity);
    if (!result.error.empty()) {
      std::fprintf(stderr, "kuzet-probe: export: %s\n", result.error.c_str());
      return 1;
    }
    std::printf("%s\n", ui::say("export.done", {{"results", std::to_string(result.exported)},
                                                 {"keys", std::to_string(result.keys)},
                                                 {"file", options.out_path},
                                                 {"outside", std::to_string(result.skipped)}}).c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-probe: export: %s\n", e.what());
    return 2;
  }
}

}  // namespace kuzet::probe::daemon
