#pragma once
// The probe's commands and their options, in one table: the parsers check against it, unknown words get
// the nearest known one ("did you mean"), `--help` prints the command's translated help, and the bash
// completion asks `kuzet-probe _complete [COMMAND]` for it, so the three never drift apart.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::probe::ui {

// A usage or configuration error: exit status 2 with the message.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Exit statuses of kuzet-probe (docs/probe-cli.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoConsent = 3;  // no recorded consent and no terminal to ask on

struct CommandInfo {
  std::string_view name;
  std::vector<std::string_view> options;  // every option it takes, "--help" included
};

const std::vector<CommandInfo>& commands();
const CommandInfo* find_command(std::string_view name);

// True when --help or -h is among the arguments.
bool wants_help(int argc, char** argv);
// The command's help ("" = the program's) on stdout; returns kExitOk.
int print_help(std::string_view command);

// "run: unknown option '--taget'\ndid you mean --target?\nSee 'kuzet-probe run --help' ..." (translated).
std::string unknown_option_message(std::string_view command, std::string_view option);
std::string unknown_command_message(std::string_view command);
// For an option whose value must be an http(s) URL and is not: a message with the "https://" suggestion
// when the value looks like a host name, else "".
std::string url_suggestion_message(std::string_view option, std::string_view value);

// `kuzet-probe _complete [COMMAND]`: the commands, or the command's options, one per line.
int print_completion_words(int argc, char** argv);

}  // namespace kuzet::probe::ui
