// Fuzzes files::LineReader, which reads OONI's JSON Lines and `kuzet-probe export` bundles. The first input
// byte sets the line cap (1..64), and the rest is the file. For a plain file, the lines and their outcomes must
// be exactly the file split at '\n': a piece longer than the cap is too_long, any other piece is returned
// whole, and an empty last piece is not a line. A gzip file (the magic bytes first) must be read without a
// crash; when the stream is broken, the reader throws std::runtime_error.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "files/line_reader.hpp"
#include "tests/fuzz_scratch.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using kuzet::files::LineReader;
  if (size == 0) return 0;
  const std::string& path = kuzet::testing::fuzz_scratch_path("lines");
  const size_t cap = 1 + data[0] % 64;
  const std::string_view file(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(file.data(), static_cast<std::streamsize>(file.size()));

  LineReader reader(path, cap);
  if (!reader.is_open()) __builtin_trap();
  std::vector<std::string> got;
  std::string line;
  try {
    for (auto r = reader.next(line); r != LineReader::Line::end; r = reader.next(line)) {
      if (line.size() > cap) __builtin_trap();
      got.push_back(r == LineReader::Line::too_long ? std::string("\x01too_long") : line);
    }
  } catch (const std::runtime_error&) {
    return 0;  // a broken gzip stream: a plain file never gets here, see below
  }
  const bool gzip = file.size() >= 2 && file[0] == '\x1f' && file[1] == '\x8b';
  if (gzip) return 0;
  std::vector<std::string> expected;
  size_t start = 0;
  while (start < file.size()) {
    size_t end = file.find('\n', start);
    if (end == std::string_view::npos) end = file.size();
    const std::string_view piece = file.substr(start, end - start);
    expected.push_back(piece.size() > cap ? std::string("\x01too_long") : std::string(piece));
    start = end + 1;
  }
  if (got != expected) __builtin_trap();
  return 0;
}
