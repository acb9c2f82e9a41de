#include "probe/ui/setup.hpp"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "measure/http/url.hpp"
#include "probe/uplink/collector_client.hpp"
#include "probe/config.hpp"
#include "ascii/ascii.hpp"
#include "files/files.hpp"
#include "probe/run_setup.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/consent.hpp"
#include "i18n/language.hpp"
#include "probe/ui/texts.hpp"
#include "spec/spec.hpp"

namespace kuzet::probe::ui {

namespace {

namespace fs = std::filesystem;

constexpr const char* kInstalledSpecsDir = "/usr/share/kuzet/specs";

struct SetupAnswers {
  std::string config_path = kDefaultConfigPath;
  bool consent = false;
  std::vector<std::string> collectors;
  bool no_collector = false;
  std::string interval;
  std::vector<std::string> specs;
  std::string data_dir;
  bool interactive = true;
};

SetupAnswers parse_setup(int argc, char** argv) {
  SetupAnswers a;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(say("error.needs_value", {{"command", "setup"}, {"option", arg}}));
      return argv[++i];
    };
    if (arg == "--config") a.config_path = value();
    else if (arg == "--consent") a.consent = true;
    else if (arg == "--collector") a.collectors.push_back(value());
    else if (arg == "--no-collector") a.no_collector = true;
    else if (arg == "--interval") a.interval = value();
    else if (arg == "--spec") a.specs.push_back(value());
    else if (arg == "--data-dir") a.data_dir = value();
    else if (arg == "--non-interactive") a.interactive = false;
    else if (arg == "--lang") {
      const std::string lang = value();
      if (!i18n::is_supported_language(lang)) throw UsageError(say("error.bad_lang", {{"value", lang}}));
      set_language(lang);
    } else throw UsageError(unknown_option_message("setup", arg));
  }
  if (a.no_collector && !a.collectors.empty()) throw UsageError(say("error.collector_contradiction"));
  return a;
}

// One line from stdin without its newline; nullopt at the end of the input.
std::optional<std::string> read_answer() {
  std::string line;
  for (int c; (c = std::fgetc(stdin)) != EOF;) {
    if (c == '\n') return line;
    if (line.size() < 4096) line += static_cast<char>(c);
  }
  if (line.empty()) return std::nullopt;
  return line;
}

struct NoAnswer {};

std::string ask(const std::string& prompt) {
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  auto answer = read_answer();
  if (!answer) throw NoAnswer{};
  return std::string(ascii::trim(*answer, ascii::kWhitespace));
}

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// The collector answers whoami: it is there and it can tell this network. "" when it does, else why not.
std::string check_collector(const std::string& url, const ProbeConfig& config) {
  std::printf("%s\n", say("setup.collector_checking", {{"url", url}}).c_str());
  std::fflush(stdout);
  const auto who = uplink::CollectorClient(url, collector_client_options(config)).whoami();
  if (!who.ok) {
    const std::string reason = who.failure + (who.detail.empty() ? "" : " (" + who.detail + ")");
    std::printf("%s\n", say("setup.collector_failed", {{"reason", reason}}).c_str());
    return reason;
  }
  const std::string network = (who.asn ? "AS" + std::to_string(who.asn) : std::string("AS?")) +
                              (who.cc.empty() ? "" : " (" + who.cc + ")") + (who.as_name.empty() ? "" : " " + who.as_name);
  std::printf("%s\n", say("setup.collector_ok", {{"network", network}}).c_str());
  return "";
}

// "" when `url` can be a collector, else why not (with the https:// suggestion for a bare host name).
std::string collector_problem(const std::string& url) {
  std::string why;
  if (measure::http::parse_url(url, &why)) return "";
  if (auto hint = url_suggestion_message("--collector", url); !hint.empty()) return hint;
  return "'" + url + "': " + why;
}

std::string interval_problem(const std::string& text, int64_t* seconds) {
  try {
    const int64_t ms = parse_duration_ms(text);
    if (ms < 60 * 1000 || ms > 7LL * 24 * 3600 * 1000 || ms % 1000 != 0)
      return "'" + text + "': between 1m and 7d, in whole seconds";
    *seconds = ms / 1000;
    return "";
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
}

std::string specs_problem(const std::vector<std::string>& specs) {
  if (specs.empty()) return "at least one spec file";
  for (const auto& path : specs) {
    try {
      (void)spec::load_spec_file(path);
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  return "";
}

std::vector<std::string> installed_specs() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kInstalledSpecsDir, ec))
    if (entry.path().extension() == ".yaml") out.push_back(entry.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = list.find(',', start);
    const std::string item(ascii::trim(
        std::string_view(list).substr(start, comma == std::string::npos ? std::string::npos : comma - start),
        ascii::kWhitespace));
    if (!item.empty()) out.push_back(fs::absolute(item).lexically_normal().string());
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

int run_setup(SetupAnswers a) {
  ProbeConfig config;
  std::error_code ec;
  if (fs::exists(a.config_path, ec)) config = load_probe_config(a.config_path);  // ConfigError: exit 2, says where
  if (config.specs.empty()) config.specs = installed_specs();
  std::printf("%s\n", say("setup.intro", {{"file", a.config_path}}).c_str());

  // 1. Consent, before anything is configured to measure.
  if (config.consent.given()) {
    std::printf("%s\n", say("setup.consent_already", {{"date", config.consent.accepted_at}}).c_str());
  } else if (a.consent) {
    config.consent = consent_now();
  } else if (!a.interactive) {
    std::fprintf(stderr, "kuzet-probe: %s\n", say("consent.missing", {{"command", "setup"}}).c_str());
    return kExitNoConsent;
  } else {
    if (!ask_consent(stdin, stdout)) {
      std::printf("%s\n", texts().text("consent.declined").c_str());
      return kExitNoConsent;
    }
    config.consent = consent_now();
  }

  // 2. Collectors, each checked live.
  if (a.no_collector) {
    config.collectors.clear();
  } else if (!a.collectors.empty()) {
    for (const auto& url : a.collectors)
      if (auto problem = collector_problem(url); !problem.empty()) throw UsageError(problem);
    for (const auto& url : a.collectors) check_collector(url, config);  // a failure is said, not fatal
    config.collectors = a.collectors;
  } else if (a.interactive) {
    for (;;) {
      const std::string current = config.collectors.empty() ? "none" : join(config.collectors, ", ");
      std::string answer = ask(say("setup.collector_question", {{"current", current}}));
      if (answer.empty()) break;
      if (answer == "none" || answer == "-") {
        config.collectors.clear();
        break;
      }
      if (auto problem = collector_problem(answer); !problem.empty()) {
        std::printf("%s\n", say("setup.invalid", {{"reason", problem}}).c_str());
        continue;
      }
      if (!check_collector(answer, config).empty() && !is_yes(ask(texts().text("setup.collector_keep")))) continue;
      config.collectors = {answer};
      break;
    }
  }
  if (config.collectors.empty()) std::printf("%s\n", texts().text("setup.collector_none").c_str());

  // 3. Schedule.
  std::string interval = a.interval;
  for (;;) {
    if (interval.empty() && a.interactive)
      interval = ask(say("setup.interval_question", {{"current", std::to_string(config.schedule.interval_s) + "s"}}));
    if (interval.empty()) break;
    int64_t seconds = 0;
    if (auto problem = interval_problem(interval, &seconds); !problem.empty()) {
      if (!a.interactive || !a.interval.empty()) throw UsageError("--interval " + problem);
      std::printf("%s\n", say("setup.invalid", {{"reason", problem}}).c_str());
      interval.clear();
      continue;
    }
    config.schedule.interval_s = seconds;
    config.schedule.jitter_s = std::min(config.schedule.jitter_s, seconds / 2);
    config.schedule.shutdown_interval_s = std::min(config.schedule.shutdown_interval_s, seconds);
    break;
  }

  // 4. Specs.
  std::vector<std::string> specs;
  for (const auto& s : a.specs) specs.push_back(fs::absolute(s).lexically_normal().string());
  for (;;) {
    if (specs.empty() && a.interactive) specs = split_list(ask(say("setup.specs_question", {{"current", join(config.specs, ", ")}})));
    if (specs.empty()) specs = config.specs;
    if (auto problem = specs_problem(specs); !problem.empty()) {
      if (!a.interactive || !a.specs.empty()) throw UsageError("--spec: " + problem);
      std::printf("%s\n", say("setup.invalid", {{"reason", problem}}).c_str());
      specs.clear();
      config.specs.clear();
      continue;
    }
    config.specs = specs;
    break;
  }

  // 5. Data directory.
  std::string data_dir = a.data_dir;
  if (data_dir.empty() && a.interactive) data_dir = ask(say("setup.data_dir_question", {{"current", config.data_dir}}));
  if (!data_dir.empty()) config.data_dir = fs::absolute(data_dir).lexically_normal().string();

  // Write: checked by reading it back before it replaces anything.
  const std::string yaml = probe_config_to_yaml(
      config, "Written by `kuzet-probe setup`; all keys: /usr/share/doc/kuzet-probe/probe-config.example.yaml.\n"
              "After editing: sudo systemctl reload kuzet-probe");
  std::string text = yaml;
  if (config.consent.given()) text = with_consent(yaml, config.consent);
  (void)parse_probe_config(text, a.config_path);
  fs::create_directories(fs::path(a.config_path).parent_path().empty() ? fs::path(".") : fs::path(a.config_path).parent_path(), ec);
  if (auto error = files::write_file_atomically(a.config_path, text); !error.empty()) {
    std::fprintf(stderr, "kuzet-probe: %s\n", say("setup.write_failed", {{"file", a.config_path}, {"reason", error}}).c_str());
    return kExitFailure;
  }
  std::printf("%s\n", say("setup.written", {{"file", a.config_path}}).c_str());
  std::printf("%s\n", a.config_path == kDefaultConfigPath ? texts().text("setup.next_service").c_str()
                                                          : say("setup.next_manual", {{"file", a.config_path}}).c_str());
  return kExitOk;
}

}  // namespace

int setup_command(int argc, char** argv) {
  SetupAnswers answers = parse_setup(argc, argv);
  try {
    return run_setup(std::move(answers));
  } catch (const NoAnswer&) {
    std::fprintf(stderr, "\nkuzet-probe: %s\n", texts().text("setup.no_answer").c_str());
    return kExitUsage;
  }
}

int consent_command(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--lang" && i + 1 < argc) {
      const std::string lang = argv[++i];
      if (!i18n::is_supported_language(lang)) throw UsageError(say("error.bad_lang", {{"value", lang}}));
      set_language(lang);
    } else {
      throw UsageError(unknown_option_message("consent", arg));
    }
  }
  std::fputs(consent_text().c_str(), stdout);
  return kExitOk;
}

}  // namespace kuzet::probe::ui
