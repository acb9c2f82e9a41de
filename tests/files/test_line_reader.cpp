#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "files/line_reader.hpp"

namespace fs = std::filesystem;
using kuzet::files::LineReader;

namespace {

struct TempFile {
  fs::path path;
  TempFile() {
    char pattern[] = "/tmp/kuzet-lines-XXXXXX";
    const int fd = ::mkstemp(pattern);
    ::close(fd);
    path = pattern;
  }
  ~TempFile() { fs::remove(path); }
  void write(const std::string& bytes) const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  void write_gzip(const std::string& bytes) const {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  }
};

// Every line and its outcome, as "ok:TEXT" or "too_long".
std::vector<std::string> read_all(const fs::path& path, size_t cap) {
  LineReader reader(path.string(), cap);
  REQUIRE(reader.is_open());
  std::vector<std::string> out;
  std::string line;
  for (auto r = reader.next(line); r != LineReader::Line::end; r = reader.next(line)) {
    if (r == LineReader::Line::too_long) {
      CHECK(line.empty());
      out.push_back("too_long");
    } else {
      out.push_back("ok:" + line);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("lines come back without their newline; a last line without one counts; CR stays") {
  TempFile f;
  f.write("a\n\nbc\r\nlast");
  CHECK(read_all(f.path, 100) == std::vector<std::string>{"ok:a", "ok:", "ok:bc\r", "ok:last"});
  f.write("");
  CHECK(read_all(f.path, 100).empty());
  f.write("one\n");
  CHECK(read_all(f.path, 100) == std::vector<std::string>{"ok:one"});
}

TEST_CASE("a line over the cap is dropped as it streams past, and the next line is read whole") {
  TempFile f;
  const std::string long_line(300 * 1024, 'x');  // several read chunks
  f.write("short\n" + long_line + "\nafter\n" + std::string(10, 'y') + "\n" + std::string(11, 'z'));
  CHECK(read_all(f.path, 10) == std::vector<std::string>{"ok:short", "too_long", "ok:after", "ok:yyyyyyyyyy", "too_long"});
  CHECK(read_all(f.path, long_line.size()) ==
        std::vector<std::string>{"ok:short", "ok:" + long_line, "ok:after", "ok:yyyyyyyyyy", "ok:zzzzzzzzzzz"});
}

TEST_CASE("a NUL inside a line keeps the bytes after it, so a parser sees the whole line") {
  TempFile f;
  f.write(std::string("{\"a\":1}\0tail\nnext\n", 18));
  CHECK(read_all(f.path, 100) == std::vector<std::string>{"ok:" + std::string("{\"a\":1}\0tail", 12), "ok:next"});
}

TEST_CASE("gzip reads like plain text; a cut gzip stream returns its whole lines, then an error") {
  TempFile f;
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "line " + std::to_string(i) + "\n";
  f.write_gzip(text);
  const auto lines = read_all(f.path, 100);
  REQUIRE(lines.size() == 20000);
  CHECK(lines.front() == "ok:line 0");
  CHECK(lines.back() == "ok:line 19999");

  // The same stream without its last bytes (the trailer and some data): the lines before the cut come back.
  std::ifstream in(f.path, std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  f.write(gz.substr(0, gz.size() * 2 / 3));
  LineReader reader(f.path.string(), 100);
  std::string line;
  size_t read = 0;
  bool failed = false;
  try {
    for (auto r = reader.next(line); r != LineReader::Line::end; r = reader.next(line)) {
      CHECK(line == "line " + std::to_string(read));
      ++read;
    }
  } catch (const std::runtime_error& e) {
    failed = true;
    CHECK(std::string(e.what()).starts_with("read error: "));
  }
  CHECK(failed);
  CHECK(read > 1000);
  CHECK(read < 20000);
}

TEST_CASE("a file that cannot be opened says so") {
  LineReader reader("/nonexistent/kuzet/lines.jsonl", 100);
  CHECK_FALSE(reader.is_open());
  std::string line;
  CHECK(reader.next(line) == LineReader::Line::end);
}
