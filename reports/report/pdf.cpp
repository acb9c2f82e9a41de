#include "reports/report/pdf.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "core/crypto/crypto.hpp"

extern char** environ;

namespace kuzet::report {

namespace {

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

}  // namespace

PdfResult html_to_pdf(const std::string& html_path, const std::string& pdf_path, int timeout_seconds) {
  PdfResult out;
  const char* configured = std::getenv("KUZET_CHROMIUM");
  const std::string chromium = find_in_path(configured && *configured ? configured : "chromium");
  if (chromium.empty()) {
    out.chromium_missing = true;
    out.detail = "chromium is not installed";
    return out;
  }
  namespace fs = std::filesystem;
  const fs::path profile = fs::temp_directory_path() / ("kuzet-report-chromium-" + core::random_hex(6));
  fs::create_directories(profile);
  std::error_code ec;
  fs::remove(pdf_path, ec);
  std::vector<std::string> args = {chromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--disable-dev-shm-usage",
                                   "--user-data-dir=" + profile.string(),
                                   "--no-pdf-header-footer",
                                   "--print-to-pdf=" + fs::absolute(pdf_path).string(),
                                   "file://" + fs::absolute(html_path).string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);  // its own group: a timeout kills its helpers too
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, chromium.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    fs::remove_all(profile, ec);
    out.detail = "cannot start " + chromium;
    return out;
  }
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  bool exited = false;
  while (!exited) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) exited = true;
    else if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      fs::remove_all(profile, ec);
      out.detail = "chromium did not finish within " + std::to_string(timeout_seconds) + " s";
      return out;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  kill(-pid, SIGKILL);  // helpers left behind, if any
  fs::remove_all(profile, ec);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    out.detail = "chromium failed (status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
    return out;
  }
  if (!fs::exists(pdf_path) || fs::file_size(pdf_path, ec) == 0) {
    out.detail = "chromium wrote no PDF";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace kuzet::report
