#include "probe/history/history.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/encoding/json_parse.hpp"
#include "core/time.hpp"
#include "probe/ui/output.hpp"
#include "files/files.hpp"

namespace kuzet::probe::history {

namespace {

constexpr size_t kMaxFieldBytes = 2048;

bool string_field(const nlohmann::json& j, const char* key, std::string* out, bool required = true) {
  const auto it = j.find(key);
  if (it == j.end()) return !required;
  if (!it->is_string() || it->get_ref<const std::string&>().size() > kMaxFieldBytes) return false;
  *out = it->get<std::string>();
  return true;
}

std::string read_all(const std::string& file, std::string* error) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (errno != ENOENT) *error = file + ": " + std::strerror(errno);
    return "";
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

std::string path(const std::string& data_dir) { return data_dir + "/history.jsonl"; }

std::vector<Entry> entries_of(const RunResult& result) {
  std::vector<Entry> out;
  out.reserve(result.records.size());
  for (const auto& r : result.records) {
    Entry e;
    e.at = r.started_at;
    e.run_id = r.run_id;
    e.measurement_uid = r.measurement_uid;
    e.input = r.input;
    e.target = r.target;
    e.category = r.category;
    e.verdict = r.verdict.verdict;
    e.method = r.verdict.method;
    e.seen = ui::seen_failure(r);
    e.cc = result.network.cc;
    e.asn = result.network.asn;
    out.push_back(std::move(e));
  }
  return out;
}

std::string to_line(const Entry& e) {
  const nlohmann::json j = {{"at", e.at},         {"run_id", e.run_id},     {"uid", e.measurement_uid},
                            {"input", e.input},   {"target", e.target},     {"category", e.category},
                            {"verdict", e.verdict}, {"method", e.method},   {"seen", e.seen},
                            {"cc", e.cc},         {"asn", e.asn}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json to_json(const Entry& e) {
  return {{"at", e.at},           {"run_id", e.run_id}, {"measurement_uid", e.measurement_uid},
          {"input", e.input},     {"target", e.target}, {"category", e.category},
          {"verdict", e.verdict}, {"method", e.method}, {"seen", e.seen},
          {"cc", e.cc},           {"asn", e.asn}};
}

std::optional<Entry> parse_line(std::string_view line) {
  if (line.empty() || line.size() > kMaxLineBytes) return std::nullopt;
  const auto parsed = core::parse_json(line, core::JsonLimits{kMaxLineBytes, 4, 64});
  if (!parsed.ok() || !parsed.value.is_object()) return std::nullopt;
  const auto& j = parsed.value;
  Entry e;
  if (!string_field(j, "at", &e.at) || !core::parse_rfc3339(e.at)) return std::nullopt;
  if (!string_field(j, "run_id", &e.run_id) || !string_field(j, "uid", &e.measurement_uid) ||
      !string_field(j, "input", &e.input) || !string_field(j, "target", &e.target) ||
      !string_field(j, "category", &e.category) || !string_field(j, "verdict", &e.verdict) ||
      !string_field(j, "method", &e.method) || !string_field(j, "seen", &e.seen) || !string_field(j, "cc", &e.cc))
    return std::nullopt;
  const auto asn = j.find("asn");
  if (asn == j.end() || !asn->is_number_unsigned() || asn->get<uint64_t>() > UINT32_MAX) return std::nullopt;
  e.asn = static_cast<uint32_t>(asn->get<uint64_t>());
  return e;
}

ReadResult read(const std::string& data_dir) {
  ReadResult result;
  const std::string text = read_all(path(data_dir), &result.error);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    if (!line.empty()) {
      if (auto e = parse_line(line)) result.entries.push_back(std::move(*e));
      else ++result.skipped;
    }
    start = end + 1;
  }
  return result;
}

std::string append(const std::string& data_dir, const std::vector<Entry>& entries, const Limits& limits,
                   std::string_view now) {
  std::string lines;
  for (const auto& e : entries) lines += to_line(e) + "\n";
  const std::string file = path(data_dir);
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return file + ": " + std::strerror(errno);
  // A line torn by a crash stays one bad line: the next entries start on a line of their own.
  const off_t before = ::lseek(fd, 0, SEEK_END);
  char last = '\n';
  if (before > 0 && ::pread(fd, &last, 1, before - 1) == 1 && last != '\n') lines.insert(0, "\n");
  const bool written = files::write_all(fd, lines);
  const int write_errno = errno;
  off_t size = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  if (!written) return file + ": " + std::strerror(write_errno);

  // Trim: the oldest lines go when over the byte budget (down to half of it, so this is rare) or too old.
  const auto now_time = core::parse_rfc3339(std::string(now));
  // Before the cutoff, or with a time that does not parse; without a readable `now`, nothing is (a plain
  // time point rather than an optional one: GCC 12 warned of an uninitialised read in the latter).
  const auto cutoff = now_time ? *now_time - std::chrono::hours(24 * limits.max_days) : core::SystemTime{};
  auto too_old = [&now_time, cutoff](const std::string& at) {
    if (!now_time) return false;
    const auto t = core::parse_rfc3339(at);
    return !t || *t < cutoff;
  };
  const bool over = static_cast<uint64_t>(size) > limits.max_bytes;
  if (!over) {  // the common case: only the first (oldest) line can be too old
    std::ifstream in(file);
    std::string first;
    std::getline(in, first);
    const auto e = parse_line(first);
    if (e && !too_old(e->at)) return "";
  }
  std::string error;
  const std::string text = read_all(file, &error);
  if (!error.empty()) return error;
  std::string kept;
  bool dropped = false;
  size_t start = 0;
  // Keep the newest lines that fit in half the budget when over it; drop lines too old either way.
  size_t keep_from = 0;
  if (over) {
    keep_from = text.size() > limits.max_bytes / 2 ? text.size() - limits.max_bytes / 2 : 0;
    keep_from = text.find('\n', keep_from == 0 ? 0 : keep_from - 1);
    keep_from = keep_from == std::string::npos ? text.size() : keep_from + 1;
    dropped = keep_from > 0;
    start = keep_from;
  }
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    auto e = parse_line(line);
    if (e && !too_old(e->at)) kept.append(line).append("\n");
    else dropped = true;
    start = end + 1;
  }
  if (!dropped) return "";
  return files::write_file_atomically(file, kept, /*durable=*/false);
}

}  // namespace kuzet::probe::history
