#include "probe/ui/results.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>

#include "core/time.hpp"
#include "probe/config.hpp"
#include "probe/history/history.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/texts.hpp"

namespace kuzet::probe::ui {

int results_command(int argc, char** argv) {
  std::string config_path = kDefaultConfigPath, data_dir, target;
  int64_t days = 7;
  size_t limit = 200;
  bool as_json = false;
  for (int i = 0; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(say("error.needs_value", {{"command", "results"}, {"option", arg}}));
      return argv[++i];
    };
    if (arg == "--config") config_path = value();
    else if (arg == "--data-dir") data_dir = value();
    else if (arg == "--target") target = value();
    else if (arg == "--json") as_json = true;
    else if (arg == "--days" || arg == "--limit") {
      const std::string v = value();
      char* end = nullptr;
      const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n < 1 || n > 100000) throw UsageError(say("error.number_range", {{"command", "results"}, {"option", arg}, {"min", "1"}, {"max", "100000"}}));
      if (arg == "--days") days = static_cast<int64_t>(n);
      else limit = static_cast<size_t>(n);
    } else throw UsageError(unknown_option_message("results", arg));
  }
  if (data_dir.empty()) data_dir = load_probe_config(config_path).data_dir;  // ConfigError: exit 2

  auto read = history::read(data_dir);
  if (!read.error.empty()) {
    std::fprintf(stderr, "kuzet-probe: %s\n",
                 say("status.cannot_read", {{"file", history::path(data_dir)}, {"reason", read.error}}).c_str());
    return kExitFailure;
  }
  const auto since = std::chrono::system_clock::now() - std::chrono::hours(24 * days);
  std::vector<const history::Entry*> shown;
  for (const auto& e : read.entries) {
    const auto at = core::parse_rfc3339(e.at);
    if (!at || *at < since) continue;
    if (!target.empty() && e.target.find(target) == std::string::npos && e.input.find(target) == std::string::npos)
      continue;
    shown.push_back(&e);
  }
  if (shown.size() > limit) shown.erase(shown.begin(), shown.end() - static_cast<std::ptrdiff_t>(limit));

  if (as_json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto* e : shown) out.push_back(history::to_json(*e));
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  if (shown.empty()) {
    std::printf("%s\n", say("results.empty", {{"days", std::to_string(days)}, {"file", history::path(data_dir)}}).c_str());
    return kExitOk;
  }
  size_t w_target = 6, w_category = 8, w_verdict = 7, w_method = 6, w_seen = 4;
  for (const auto* e : shown) {
    w_target = std::max(w_target, e->target.size());
    w_category = std::max(w_category, e->category.size());
    w_verdict = std::max(w_verdict, e->verdict.size());
    w_method = std::max(w_method, e->method.size());
    w_seen = std::max(w_seen, e->seen.size());
  }
  auto row = [&](const std::string& at, const std::string& t, const std::string& c, const std::string& v,
                 const std::string& m, const std::string& s, const std::string& n) {
    std::printf("%-20s  %-*s  %-*s  %-*s  %-*s  %-*s  %s\n", at.c_str(), static_cast<int>(w_target), t.c_str(),
                static_cast<int>(w_category), c.c_str(), static_cast<int>(w_verdict), v.c_str(),
                static_cast<int>(w_method), m.c_str(), static_cast<int>(w_seen), s.c_str(), n.c_str());
  };
  row("TIME (UTC)", "TARGET", "CATEGORY", "VERDICT", "METHOD", "SEEN", "NETWORK");
  std::map<std::string, size_t> counts;
  for (const auto* e : shown) {
    row(e->at.substr(0, 19), e->target, e->category, e->verdict, e->method.empty() ? "-" : e->method, e->seen,
        (e->asn ? "AS" + std::to_string(e->asn) : std::string("AS?")) + (e->cc.empty() ? "" : " " + e->cc));
    ++counts[e->verdict];
  }
  std::string summary;
  for (const auto& [verdict, n] : counts) summary += (summary.empty() ? "" : ", ") + std::to_string(n) + " " + verdict;
  std::printf("\n%s\n", say("results.summary", {{"count", std::to_string(shown.size())},
                                                 {"days", std::to_string(days)},
                                                 {"verdicts", summary}}).c_str());
  if (read.skipped > 0)
    std::fprintf(stderr, "kuzet-probe: %s\n",
                 say("results.skipped", {{"count", std::to_string(read.skipped)}, {"file", history::path(data_dir)}}).c_str());
  return kExitOk;
}

}  // namespace kuzet::probe::ui
