#include "probe/ui/output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <map>

#include "files/files.hpp"
#include "probe/ui/texts.hpp"

namespace kuzet::probe::ui {

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
}

bool OutputFile::open(const std::string& path, std::string* error) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0 && error) *error = std::strerror(errno);
  return fd_ >= 0;
}

bool OutputFile::append_records(const std::vector<MeasurementRecord>& records, std::string* error) {
  std::string buf;
  for (const auto& r : records) {
    // Hostile servers can put invalid UTF-8 in headers; replace rather than fail the whole run.
    buf += nlohmann::json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    buf += '\n';
  }
  if (!files::write_all(fd_, buf)) {
    if (error) *error = std::strerror(errno);
    return false;
  }
  if (::fsync(fd_) != 0) {
    if (error) *error = std::strerror(errno);
    return false;
  }
  return true;
}

std::string seen_failure(const MeasurementRecord& r) {
  const auto& o = r.observations;
  if (!o.dns.failure.empty()) return o.dns.failure;
  if (o.http && !o.http->failure.empty()) return o.http->failure;
  if (!o.http) {
    for (const auto& t : o.tls)
      if (!t.failure.empty()) return t.failure;
    for (const auto& t : o.tcp)
      if (!t.failure.empty()) return t.failure;
  }
  return "-";
}

std::string progress_line(const Progress& p) {
  char line[512];
  if (p.record) {
    const auto& r = *p.record;
    std::snprintf(line, sizeof line, "[%2zu/%zu] %-32s seen %-22s %6.1fs\n", p.done, p.total, r.target.c_str(),
                  seen_failure(r).c_str(), r.runtime_ms / 1000.0);
  } else if (p.phase == "dns") {
    std::snprintf(line, sizeof line, "measuring %zu targets...\n", p.total);
  } else if (p.phase == "control") {
    std::snprintf(line, sizeof line, "waiting for the collector's control measurements...\n");
  } else if (p.phase == "throttling") {
    std::snprintf(line, sizeof line, "confirming slow targets with a neutral SNI...\n");
  } else if (p.phase == "locate") {
    std::snprintf(line, sizeof line, "locating reset injectors (ClientHellos with TTL 1, 2, ...)...\n");
  } else {
    return "";
  }
  return line;
}

void print_progress(const Progress& p) {
  const std::string line = progress_line(p);
  std::fputs(line.c_str(), stderr);
}

void print_table(std::ostream& out, const RunResult& result) {
  size_t w_target = 6, w_cat = 8, w_verdict = 7, w_method = 6, w_seen = 4;
  for (const auto& r : result.records) {
    w_target = std::max(w_target, r.target.size());
    w_cat = std::max(w_cat, r.category.size());
    w_verdict = std::max(w_verdict, r.verdict.verdict.size());
    w_method = std::max(w_method, r.verdict.method.size());
    w_seen = std::max(w_seen, seen_failure(r).size());
  }
  auto row = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d,
                 const std::string& seen, const std::string& e) {
    out << std::left << std::setw(static_cast<int>(w_target) + 2) << a << std::setw(static_cast<int>(w_cat) + 2)
        << b << std::setw(static_cast<int>(w_verdict) + 2) << c << std::setw(static_cast<int>(w_method) + 2) << d
        << std::setw(static_cast<int>(w_seen) + 2) << seen << e << '\n';
  };
  row("TARGET", "CATEGORY", "VERDICT", "METHOD", "SEEN", "TIME");
  std::map<std::string, int> counts;
  for (const auto& r : result.records) {
    char t[32];
    std::snprintf(t, sizeof t, "%.1fs", r.runtime_ms / 1000.0);
    row(r.target, r.category, r.verdict.verdict, r.verdict.method.empty() ? "-" : r.verdict.method, seen_failure(r), t);
    ++counts[r.verdict.verdict];
  }
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.1f", result.duration_ms / 1000.0);
  std::string verdicts;
  for (const auto& [verdict, n] : counts) verdicts += (verdicts.empty() ? "" : " ") + std::to_string(n) + " " + verdict;
  const std::string network = (result.network.asn ? "AS" + std::to_string(result.network.asn) : say("run.unknown_asn")) +
                              (result.network.cc.empty() ? "" : " (" + result.network.cc + ")");
  out << "\n"
      << say("run.summary", {{"count", std::to_string(result.records.size())}, {"seconds", seconds}, {"verdicts", verdicts}})
      << "\n"
      << say("run.network", {{"network", network}, {"control", say(result.control_obtained ? "run.control_yes" : "run.control_none")}})
      << "\n"
      << texts().text("run.seen_note") << "\n";
}

}  // namespace kuzet::probe::ui
