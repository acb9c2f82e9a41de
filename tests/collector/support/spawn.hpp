#pragma once
// A child process with its stdout on a pipe, and the port a kuzet-collector prints on its first line: shared
// by the collector tests (tests/collector/support/child_collector.hpp) and the ingest benchmark, which is no doctest.
#include <sys/types.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kuzet::collector::testing {

// Forks `binary args...` with stdout on a pipe (*stdout_fd); returns at once. -1 when pipe or fork fail.
inline pid_t spawn_process(const std::string& binary, const std::vector<std::string>& args, int* stdout_fd) {
  int out[2];
  if (pipe(out) != 0) return -1;
  const pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return -1;
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  *stdout_fd = out[0];
  return pid;
}

// Reads the collector's first line ("kuzet-collector listening on 127.0.0.1:PORT ...") from fd and closes
// it (the child ignores SIGPIPE). The port, or 0 when the line has none (*line says what came).
inline uint16_t read_listen_port(int fd, std::string* line) {
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') *line += c;
  close(fd);
  const auto at = line->find("127.0.0.1:");
  return at == std::string::npos ? 0 : static_cast<uint16_t>(std::stoi(line->substr(at + 10)));
}

}  // namespace kuzet::collector::testing
