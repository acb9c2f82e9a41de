#include "probe/ui/commands.hpp"

#include <cstdio>
#include <cstring>

#include "core/suggest.hpp"
#include "probe/ui/texts.hpp"

namespace kuzet::probe::ui {

const std::vector<CommandInfo>& commands() {
  static const std::vector<CommandInfo> table = {
      {"setup", {"--config", "--consent", "--collector", "--no-collector", "--interval", "--spec", "--data-dir", "--lang",
                 "--non-interactive", "--help"}},
      {"run", {"--spec", "--target", "--config", "--collector", "--no-upload", "--out", "--resolver", "--ca-bundle",
               "--public-ca-bundle", "--data-dir", "--concurrency", "--quiet", "--consent", "--capture", "--locate", "--help"}},
      {"daemon", {"--config", "--retry-initial", "--retry-max", "--runs", "--log-level", "--help"}},
      {"status", {"--config", "--data-dir", "--json", "--help"}},
      {"results", {"--config", "--data-dir", "--days", "--limit", "--target", "--json", "--help"}},
      {"export", {"--config", "--since", "--until", "--help"}},
      {"consent", {"--lang", "--help"}},
  };
  return table;
}

const CommandInfo* find_command(std::string_view name) {
  for (const auto& c : commands())
    if (c.name == name) return &c;
  return nullptr;
}

bool wants_help(int argc, char** argv) {
  for (int i = 0; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) return true;
  return false;
}

int print_help(std::string_view command) {
  const std::string key = command.empty() ? "help.main" : "help." + std::string(command);
  std::fputs(texts().text(key).c_str(), stdout);
  return kExitOk;
}

std::string unknown_option_message(std::string_view command, std::string_view option) {
  std::string message = say("error.unknown_option", {{"command", std::string(command)}, {"option", std::string(option)}});
  if (const auto* info = find_command(command)) {
    // "--target=https://x" is not how our options are spelled: suggest on the name part.
    const std::string_view name = option.substr(0, option.find('='));
    if (auto near = core::nearest_word(name, info->options); !near.empty())
      message += "\n" + say("error.did_you_mean", {{"suggestion", near}});
  }
  message += "\n" + say("error.see_help", {{"command", std::string(command)}});
  return message;
}

std::string unknown_command_message(std::string_view command) {
  std::string message = say("error.unknown_command", {{"command", std::string(command)}});
  std::vector<std::string_view> names;
  for (const auto& c : commands()) names.push_back(c.name);
  if (auto near = core::nearest_word(command, names); !near.empty())
    message += "\n" + say("error.did_you_mean", {{"suggestion", near}});
  return message;
}

std::string url_suggestion_message(std::string_view option, std::string_view value) {
  const std::string url = core::url_with_scheme(value);
  if (url.empty()) return "";
  return say("error.not_a_url", {{"option", std::string(option)}, {"value", std::string(value)}, {"suggestion", url}});
}

int print_completion_words(int argc, char** argv) {
  if (argc == 0) {
    for (const auto& c : commands()) std::printf("%.*s\n", static_cast<int>(c.name.size()), c.name.data());
    std::printf("--help\n--version\n");
    return kExitOk;
  }
  const auto* info = find_command(argv[0]);
  if (!info) return kExitUsage;
  for (auto o : info->options) std::printf("%.*s\n", static_cast<int>(o.size()), o.data());
  return kExitOk;
}

}  // namespace kuzet::probe::ui
