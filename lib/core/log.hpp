#pragma once
// Log lines on stderr for the daemons. On a terminal or in a file: "TIME PROGRAM: message", as before.
// Under systemd (stderr is the journal stream named by $JOURNAL_STREAM) journald adds its own timestamp, so
// the line carries none, and starts with the sd-daemon priority prefix "<3>".."<7>" so `journalctl -p`
// can filter by level (sd-daemon(3)).
#include <optional>
#include <string>
#include <string_view>

namespace kuzet::core {

// syslog priorities, as sd-daemon(3) numbers them.
enum class LogLevel { error = 3, warning = 4, notice = 5, info = 6, debug = 7 };

// "error", "warning", "notice", "info", "debug" (or "3".."7"); nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view text);
inline constexpr std::string_view kLogLevelNames = "error, warning, notice, info, debug";

// True when $JOURNAL_STREAM ("DEVICE:INODE") names the file open as `fd`: systemd connected it to journald.
bool is_journal_stream(int fd);

// One formatted line (with '\n'): pure, for tests.
std::string format_log_line(bool journal, LogLevel level, std::string_view program, std::string_view time,
                            std::string_view message);

// Process-wide settings: program name, most verbose level written, journal or not (detected on stderr).
void configure_log(std::string program, LogLevel max_level);
void configure_log_level(LogLevel max_level);

// Writes one line to stderr if `level` is at or above the configured threshold.
void log_at(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace kuzet::core
