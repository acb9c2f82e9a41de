// The durable queue: framing, order, acknowledgement, torn writes, the full policy, and kill -9 of a
// process appending in a loop (nothing it was told is durable may be missing afterwards).
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include "core/crypto/crypto.hpp"
#include "probe/daemon/queue.hpp"

using namespace kuzet::probe;
using namespace kuzet::probe::daemon;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("kuzet-queue-" + kuzet::core::random_hex(6));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string str() const { return path.string(); }
};

std::string payload(int i) { return "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(100, 'x') + "\"}"; }

std::vector<std::string> drain(DiskQueue& q) {
  std::vector<std::string> out;
  for (;;) {
    auto entries = q.peek(7, 1 << 20);
    if (entries.empty()) return out;
    for (auto& e : entries) out.push_back(e.payload);
    REQUIRE(q.acknowledge(entries.back()) == "");
  }
}

std::vector<std::string> segment_files(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("seg-", 0) == 0) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("framing: a checksum guards every line") {
  const std::string p = "{\"a\":1}";
  const auto line = frame_line(p);
  CHECK(line.back() == '\n');
  CHECK(unframe_line(line.substr(0, line.size() - 1)) == p);
  std::string flipped = line.substr(0, line.size() - 1);
  flipped[12] ^= 1;
  CHECK_FALSE(unframe_line(flipped).has_value());
  CHECK_FALSE(unframe_line("").has_value());
  CHECK_FALSE(unframe_line("zzzzzzzz {}").has_value());
  CHECK_FALSE(unframe_line(std::string(40, '\0')).has_value());
  CHECK(crc32("123456789") == 0xCBF43926u);  // the standard check value
}

TEST_CASE("append, peek in order, acknowledge, survive reopening") {
  TempDir dir;
  QueueOptions options{dir.str() + "/q", 1 << 20, 600};  // small segments: several files
  {
    DiskQueue q(options);
    std::vector<std::string> batch;
    for (int i = 0; i < 20; ++i) batch.push_back(payload(i));
    auto r = q.append(batch);
    CHECK(r.appended == 20);
    CHECK(r.error == "");
    CHECK(q.append({payload(20), payload(21)}).appended == 2);
    CHECK(q.stats().records == 22);
    auto first = q.peek(5, 1 << 20);
    REQUIRE(first.size() == 5);
    CHECK(first[0].payload == payload(0));
    CHECK(first[4].payload == payload(4));
    CHECK(q.acknowledge(first.back()) == "");
    CHECK(q.stats().records == 17);
  }
  {
    DiskQueue q(options);  // as after a restart
    CHECK(q.stats().records == 17);
    CHECK(q.append({payload(22)}).appended == 1);
    auto rest = drain(q);
    REQUIRE(rest.size() == 18);
    for (int i = 0; i < 18; ++i) CHECK(rest[i] == payload(i + 5));
    CHECK(q.stats().records == 0);
  }
  DiskQueue q(options);
  CHECK(q.stats().records == 0);
  CHECK(q.peek(10, 1 << 20).empty());
  CHECK(segment_files(options.dir).size() <= 1);  // acknowledged segments are deleted
}

TEST_CASE("peek respects the byte budget but always returns one record") {
  TempDir dir;
  DiskQueue q(QueueOptions{dir.str(), 1 << 20, 1 << 20});
  q.append({payload(0), payload(1), payload(2)});
  CHECK(q.peek(10, 10).size() == 1);
  CHECK(q.peek(10, 2 * payload(0).size()).size() == 2);
}

TEST_CASE("only one process owns a queue") {
  TempDir dir;
  DiskQueue q(QueueOptions{dir.str()});
  CHECK_THROWS_AS(DiskQueue(QueueOptions{dir.str()}), std::runtime_error);
}

TEST_CASE("a torn last line (power loss mid-write) is skipped; everything before it is kept") {
  TempDir dir;
  QueueOptions options{dir.str(), 1 << 20, 1 << 20};
  {
    DiskQueue q(options);
    q.append({payload(0), payload(1), payload(2)});
  }
  auto files = segment_files(dir.path);
  REQUIRE(files.size() == 1);
  const auto full_size = fs::file_size(files[0]);
  {
    // Half of a fourth record, as if power failed during write().
    std::ofstream out(files[0], std::ios::app | std::ios::binary);
    const auto line = frame_line(payload(3));
    out << line.substr(0, line.size() / 2);
  }
  {
    DiskQueue q(options);
    CHECK(q.stats().records == 3);
    CHECK(q.stats().corrupt_lines == 1);
    q.append({payload(4)});  // goes to a new segment, never after the torn line
    auto all = drain(q);
    CHECK(all == std::vector<std::string>{payload(0), payload(1), payload(2), payload(4)});
  }
  // Garbage in the middle (NUL blocks from delayed allocation, a flipped bit) is skipped line by line.
  {
    DiskQueue q(options);
    q.append({payload(5), payload(6), payload(7)});
  }
  files = segment_files(dir.path);
  REQUIRE(!files.empty());
  {
    std::fstream f(files.back(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(frame_line(payload(5)).size() + 20));
    f.put('#');  // inside payload 6
  }
  DiskQueue q(options);
  CHECK(q.stats().records == 2);
  CHECK(drain(q) == std::vector<std::string>{payload(5), payload(7)});
  (void)full_size;
}

TEST_CASE("full queue: new records are refused, old evidence is kept, room comes back after upload") {
  TempDir dir;
  const auto line_size = frame_line(payload(0)).size();
  DiskQueue q(QueueOptions{dir.str(), line_size * 5, 1 << 20});
  auto r = q.append({payload(0), payload(1), payload(2)});
  CHECK(r.appended == 3);
  r = q.append({payload(3), payload(4), payload(5), payload(6)});
  CHECK(r.appended == 2);
  CHECK(r.refused_full == 2);
  CHECK(q.stats().refused_full == 2);
  CHECK(q.stats().full_since != "");
  CHECK(q.stats().records == 5);
  auto entries = q.peek(10, 1 << 20);
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].payload == payload(0));  // the oldest is still there
  CHECK(q.acknowledge(entries.back()) == "");
  CHECK(q.stats().bytes == 0);  // acknowledged segments are deleted, the open one included
  r = q.append({payload(7)});
  CHECK(r.appended == 1);
  CHECK(q.stats().full_since == "");
  CHECK(q.peek(10, 1 << 20).at(0).payload == payload(7));
}

TEST_CASE("rejected results are set aside with their reason") {
  TempDir dir;
  CHECK(keep_rejected(dir.str() + "/rejected", payload(1), "bad_signature") == "");
  std::ifstream in(dir.str() + "/rejected/rejected.jsonl");
  std::string line;
  REQUIRE(std::getline(in, line));
  CHECK(line.find("bad_signature") != std::string::npos);
  CHECK(line.find("\"i\":1") != std::string::npos);
}

TEST_CASE("kill -9 of a process appending in a loop loses nothing it reported as written") {
  TempDir dir;
  const std::string qdir = dir.str() + "/q";
  for (int round = 0; round < 5; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::close(fds[0]);
      try {
        DiskQueue q(QueueOptions{qdir, 1ull << 30, 4096});
        for (int i = 0;; ++i) {
          const std::string p = "{\"round\":" + std::to_string(round) + ",\"i\":" + std::to_string(i) + "}";
          if (q.append({p}).appended != 1) ::_exit(3);
          // Only now is it "written": report it.
          const std::string note = std::to_string(i) + "\n";
          if (::write(fds[1], note.data(), note.size()) < 0) ::_exit(4);
        }
      } catch (...) {
        ::_exit(5);
      }
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + 70 * round));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(WIFSIGNALED(status));
    // What the child reported as durable.
    std::string reported;
    char buf[4096];
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) reported.append(buf, static_cast<size_t>(n));
    ::close(fds[0]);
    int last_reported = -1;
    for (size_t pos = 0, nl; (nl = reported.find('\n', pos)) != std::string::npos; pos = nl + 1)
      last_reported = std::stoi(reported.substr(pos, nl - pos));
    INFO("round " << round << ": child reported " << last_reported + 1 << " records");
    CHECK(last_reported >= 0);

    DiskQueue q(QueueOptions{qdir, 1ull << 30, 4096});
    std::set<int> found;
    for (;;) {
      auto entries = q.peek(1000, 1 << 20);
      if (entries.empty()) break;
      for (const auto& e : entries) {
        const std::string tag = "{\"round\":" + std::to_string(round) + ",\"i\":";
        if (e.payload.rfind(tag, 0) == 0) found.insert(std::stoi(e.payload.substr(tag.size())));
      }
      REQUIRE(q.acknowledge(entries.back()) == "");
    }
    for (int i = 0; i <= last_reported; ++i) {
      if (!found.count(i)) {
        FAIL("record " << i << " of round " << round << " was reported written but is missing");
        break;
      }
    }
  }
}
