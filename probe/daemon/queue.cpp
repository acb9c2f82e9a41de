#include "probe/daemon/queue.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "files/files.hpp"
#include "core/time.hpp"

namespace kuzet::probe::daemon {

namespace {

using files::errno_text;
using files::write_all;

// seg-0000000000000042.jsonl -> 42
std::optional<uint64_t> segment_sequence(const std::string& name) {
  if (name.size() != 4 + 16 + 6 || name.rfind("seg-", 0) != 0 || name.substr(20) != ".jsonl") return std::nullopt;
  uint64_t value = 0;
  for (size_t i = 4; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return value;
}

std::vector<uint64_t> list_segments(const std::string& dir) {
  std::vector<uint64_t> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d))
    if (auto seq = segment_sequence(e->d_name)) out.push_back(*seq);
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Sequences stay far below this (one per MiB appended), so segment names keep their 16 digits; a cursor
// beyond it is damage, and believing it would delete every segment and name new ones out of reach.
constexpr uint64_t kMaxCursorSequence = 1'000'000'000'000'000;

std::pair<uint64_t, uint64_t> read_cursor(const std::string& dir) {
  FILE* f = std::fopen((dir + "/cursor").c_str(), "r");
  if (!f) return {0, 0};
  char text[64];
  std::string_view rest(text, std::fread(text, 1, sizeof text, f));
  std::fclose(f);
  // "<sequence> <offset>\n" as save_cursor writes it; anything else is unreadable: resend all (harmless).
  auto number = [&rest](uint64_t& value) {
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc() || end == rest.data()) return false;
    rest.remove_prefix(static_cast<size_t>(end - rest.data()));
    return true;
  };
  uint64_t seq = 0, offset = 0;
  if (!number(seq) || rest.substr(0, 1) != " ") return {0, 0};
  rest.remove_prefix(1);
  if (!number(offset) || (rest != "" && rest != "\n")) return {0, 0};
  if (seq >= kMaxCursorSequence || offset > INT64_MAX) return {0, 0};
  return {seq, offset};
}

// Reads framed lines of one segment from `offset`; fn(payload, end_offset) returns false to stop.
// Returns the number of corrupt lines skipped.
uint64_t read_segment(const std::string& path, uint64_t offset,
                      const std::function<bool(std::string&&, uint64_t)>& fn) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return 0;
  uint64_t corrupt = 0;
  if (offset > 0 && std::fseek(f, static_cast<long>(offset), SEEK_SET) != 0) {
    std::fclose(f);
    return 0;
  }
  char* buffer = nullptr;
  size_t capacity = 0;
  uint64_t position = offset;
  for (;;) {
    ssize_t n = ::getline(&buffer, &capacity, f);
    if (n <= 0) break;
    position += static_cast<uint64_t>(n);
    std::string line(buffer, static_cast<size_t>(n));
    if (line.back() != '\n') {  // torn tail: no newline was ever written
      ++corrupt;
      break;
    }
    line.pop_back();
    auto payload = unframe_line(line);
    if (!payload) {
      ++corrupt;
      continue;
    }
    if (!fn(std::move(*payload), position)) break;
  }
  std::free(buffer);
  std::fclose(f);
  return corrupt;
}

}  // namespace

uint32_t crc32(const std::string& data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : data) c = table[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string frame_line(const std::string& payload) {
  char prefix[10];
  std::snprintf(prefix, sizeof prefix, "%08x ", crc32(payload));
  std::string line(prefix, 9);
  line += payload;
  line += '\n';
  return line;
}

std::optional<std::string> unframe_line(const std::string& line) {
  if (line.size() < 9 || line[8] != ' ') return std::nullopt;
  uint32_t expected = 0;
  for (size_t i = 0; i < 8; ++i) {
    const char c = line[i];
    uint32_t digit;
    if (c >= '0' && c <= '9') digit = static_cast<uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') digit = static_cast<uint32_t>(c - 'a' + 10);
    else return std::nullopt;
    expected = expected << 4 | digit;
  }
  std::string payload = line.substr(9);
  if (crc32(payload) != expected) return std::nullopt;
  return payload;
}

DiskQueue::DiskQueue(QueueOptions options) : options_(std::move(options)) {
  if (::mkdir(options_.dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error(errno_text("queue directory " + options_.dir));
  lock_fd_ = ::open((options_.dir + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) throw std::runtime_error(errno_text("queue lock in " + options_.dir));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(lock_fd_);
    throw std::runtime_error("queue " + options_.dir + " is in use by another kuzet-probe daemon");
  }
  std::tie(cursor_segment_, cursor_offset_) = read_cursor(options_.dir);
  bool removed = false;
  for (uint64_t seq : list_segments(options_.dir)) {
    const std::string path = segment_path(seq);
    if (seq < cursor_segment_) {  // fully acknowledged; the crash came before it was deleted
      ::unlink(path.c_str());
      removed = true;
      continue;
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) continue;
    Segment s{seq, static_cast<uint64_t>(st.st_size), 0};
    stats_.corrupt_lines += read_segment(path, seq == cursor_segment_ ? cursor_offset_ : 0, [&](std::string&&, uint64_t) {
      ++s.records;
      return true;
    });
    segments_.push_back(s);
  }
  if (removed) files::fsync_directory(options_.dir);
  // Appends always go to a new segment: an old one may end in a torn line.
  active_sequence_ = std::max(cursor_segment_, segments_.empty() ? 0 : segments_.back().sequence) + 1;
}

DiskQueue::~DiskQueue() {
  close_active();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::string DiskQueue::segment_path(uint64_t sequence) const {
  char name[32];
  std::snprintf(name, sizeof name, "seg-%016llu.jsonl", static_cast<unsigned long long>(sequence));
  return options_.dir + "/" + name;
}

void DiskQueue::close_active() {
  if (active_fd_ >= 0) ::close(active_fd_);
  if (active_fd_ >= 0) ++active_sequence_;
  active_fd_ = -1;
}

AppendResult DiskQueue::append(const std::vector<std::string>& payloads) {
  AppendResult result;
  std::string data;
  size_t accepted = 0;
  uint64_t total = stats().bytes;
  for (const auto& p : payloads) {
    std::string line = frame_line(p);
    if (total + data.size() + line.size() > options_.max_bytes) break;  // keep old evidence, refuse new
    data += line;
    ++accepted;
  }
  result.refused_full = payloads.size() - accepted;
  if (result.refused_full > 0) {
    stats_.refused_full += result.refused_full;
    if (stats_.full_since.empty()) stats_.full_since = core::now_rfc3339();
  } else {
    stats_.full_since.clear();
  }
  if (accepted == 0) return result;

  if (active_fd_ >= 0 && !segments_.empty() && segments_.back().size >= options_.segment_max_bytes) close_active();
  if (active_fd_ < 0) {
    const std::string path = segment_path(active_sequence_);
    active_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (active_fd_ < 0) {
      result.error = errno_text("create " + path);
      return result;
    }
    if (auto e = files::fsync_directory(options_.dir); !e.empty()) {
      result.error = e;
      return result;
    }
    segments_.push_back(Segment{active_sequence_, 0, 0});
  }
  Segment& seg = segments_.back();
  if (!write_all(active_fd_, data) || ::fdatasync(active_fd_) != 0) {
    result.error = errno_text("append to " + segment_path(seg.sequence));
    // What reached the file may be torn; it is skipped when read. Never append after it.
    struct stat st {};
    if (::fstat(active_fd_, &st) == 0) seg.size = static_cast<uint64_t>(st.st_size);
    close_active();
    return result;
  }
  seg.size += data.size();
  seg.records += accepted;
  result.appended = accepted;
  return result;
}

std::vector<QueueEntry> DiskQueue::peek(size_t max_records, size_t max_bytes) {
  std::vector<QueueEntry> out;
  size_t bytes = 0;
  for (const auto& seg : segments_) {
    if (out.size() >= max_records) break;
    if (seg.records == 0) continue;
    const uint64_t from = seg.sequence == cursor_segment_ ? cursor_offset_ : 0;
    stats_.corrupt_lines += read_segment(segment_path(seg.sequence), from, [&](std::string&& payload, uint64_t end) {
      if (!out.empty() && bytes + payload.size() > max_bytes) return false;
      bytes += payload.size();
      out.push_back(QueueEntry{seg.sequence, end, std::move(payload)});
      return out.size() < max_records;
    });
    if (!out.empty() && bytes >= max_bytes) break;
  }
  return out;
}

std::string DiskQueue::save_cursor() {
  char text[64];
  std::snprintf(text, sizeof text, "%llu %llu\n", static_cast<unsigned long long>(cursor_segment_),
                static_cast<unsigned long long>(cursor_offset_));
  return files::write_file_atomically(options_.dir + "/cursor", text);
}

std::string DiskQueue::acknowledge(const QueueEntry& last) {
  // Count what this acknowledgement covers, so stats stay exact without rescanning everything.
  for (auto& seg : segments_) {
    if (seg.sequence > last.segment) break;
    if (seg.sequence < last.segment) {
      seg.records = 0;
      continue;
    }
    const uint64_t from = seg.sequence == cursor_segment_ ? cursor_offset_ : 0;
    uint64_t covered = 0;
    read_segment(segment_path(seg.sequence), from, [&](std::string&&, uint64_t end) {
      if (end > last.end) return false;
      ++covered;
      return end < last.end;
    });
    seg.records -= std::min(seg.records, covered);
  }
  cursor_segment_ = last.segment;
  cursor_offset_ = last.end;
  if (auto e = save_cursor(); !e.empty()) return e;
  // Delete segments that are fully acknowledged and no longer appended to.
  bool removed = false;
  std::vector<Segment> kept;
  for (const auto& seg : segments_) {
    const bool finished = seg.sequence < cursor_segment_ || (seg.sequence == cursor_segment_ && cursor_offset_ >= seg.size);
    if (finished) {
      // A finished segment still open for appends is closed: the next append starts a new one.
      if (active_fd_ >= 0 && seg.sequence == active_sequence_) close_active();
      ::unlink(segment_path(seg.sequence).c_str());
      removed = true;
    } else {
      kept.push_back(seg);
    }
  }
  segments_ = std::move(kept);
  return removed ? files::fsync_directory(options_.dir) : "";
}

QueueStats DiskQueue::stats() const {
  QueueStats s = stats_;
  s.records = s.bytes = 0;
  s.segments = segments_.size();
  for (const auto& seg : segments_) {
    s.records += seg.records;
    s.bytes += seg.size;
  }
  return s;
}

uint64_t scan_queue(const std::string& dir, const std::function<void(const std::string&)>& fn) {
  const auto [cursor_segment, cursor_offset] = read_cursor(dir);
  uint64_t corrupt = 0;
  char name[32];
  for (uint64_t seq : list_segments(dir)) {
    if (seq < cursor_segment) continue;
    std::snprintf(name, sizeof name, "seg-%016llu.jsonl", static_cast<unsigned long long>(seq));
    corrupt += read_segment(dir + "/" + name, seq == cursor_segment ? cursor_offset : 0, [&](std::string&& p, uint64_t) {
      fn(p);
      return true;
    });
  }
  return corrupt;
}

std::string keep_rejected(const std::string& dir, const std::string& payload, const std::string& reason) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return errno_text("mkdir " + dir);
  nlohmann::json line{{"reason", reason}, {"at", core::now_rfc3339()}};
  line["envelope"] = nlohmann::json::parse(payload, nullptr, false);
  if (line["envelope"].is_discarded()) line["envelope"] = payload;
  const std::string path = dir + "/rejected.jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return errno_text("open " + path);
  std::string error;
  if (!write_all(fd, line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n") ||
      ::fdatasync(fd) != 0)
    error = errno_text("append to " + path);
  ::close(fd);
  return error;
}

}  // namespace kuzet::probe::daemon
