#include "core/log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "core/time.hpp"

namespace kuzet::core {

namespace {

struct LogSettings {
  std::mutex mutex;
  std::string program = "kuzet";
  LogLevel max_level = LogLevel::info;
  bool journal = false;
};

LogSettings& settings() {
  static LogSettings s;
  return s;
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "error" || text == "err" || text == "3") return LogLevel::error;
  if (text == "warning" || text == "warn" || text == "4") return LogLevel::warning;
  if (text == "notice" || text == "5") return LogLevel::notice;
  if (text == "info" || text == "6") return LogLevel::info;
  if (text == "debug" || text == "7") return LogLevel::debug;
  return std::nullopt;
}

bool is_journal_stream(int fd) {
  const char* value = std::getenv("JOURNAL_STREAM");
  if (!value) return false;
  unsigned long long dev = 0, ino = 0;
  char tail = 0;
  if (std::sscanf(value, "%llu:%llu%c", &dev, &ino, &tail) != 2) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

std::string format_log_line(bool journal, LogLevel level, std::string_view program, std::string_view time,
                            std::string_view message) {
  std::string line;
  if (journal) {
    line = "<" + std::to_string(static_cast<int>(level)) + ">";
  } else {
    line.append(time).append(" ").append(program).append(": ");
  }
  // One record per line: a message with a newline would otherwise become a second, unprefixed record.
  for (char c : message) line += c == '\n' ? ' ' : c;
  line += '\n';
  return line;
}

void configure_log(std::string program, LogLevel max_level) {
  auto& s = settings();
  std::lock_guard lock(s.mutex);
  s.program = std::move(program);
  s.max_level = max_level;
  s.journal = is_journal_stream(STDERR_FILENO);
}

void configure_log_level(LogLevel max_level) {
  auto& s = settings();
  std::lock_guard lock(s.mutex);
  s.max_level = max_level;
}

void log_at(LogLevel level, const char* format, ...) {
  auto& s = settings();
  std::lock_guard lock(s.mutex);
  if (static_cast<int>(level) > static_cast<int>(s.max_level)) return;
  char buffer[4096];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  std::string message = n < 0 ? std::string(format) : std::string(buffer, std::min<size_t>(n, sizeof buffer - 1));
  const std::string line = format_log_line(s.journal, level, s.program, s.journal ? "" : now_rfc3339(), message);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace kuzet::core
