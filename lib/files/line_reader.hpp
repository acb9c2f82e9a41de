#pragma once
// Reads a plain or gzip-compressed file one line at a time (zlib reads both), each line bounded: a line
// longer than the cap is skipped as it streams past, never held in memory. For files whose lines come from
// elsewhere: OONI's JSON Lines, `kuzet-probe export` bundles.
#include <zlib.h>

#include <cstddef>
#include <string>

namespace kuzet::files {

class LineReader {
 public:
  enum class Line { ok, too_long, end };

  LineReader(const std::string& path, size_t max_line_bytes);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // False when the file could not be opened; the caller says so in its own words.
  bool is_open() const { return file_ != nullptr; }

  // The next line in `line`, without its '\n' (a '\r' before it stays: the caller's format decides). A last
  // line without '\n' counts; bytes after a NUL are kept, so such a line reaches the parser whole and fails
  // there. too_long: the line had more than max_line_bytes and was dropped (`line` empty). Throws
  // std::runtime_error on a read error (a corrupt gzip stream, an I/O error).
  Line next(std::string& line);

 private:
  bool fill();

  gzFile file_ = nullptr;
  size_t max_line_bytes_;
  std::string buffer_;  // read from the file, not yet returned
  size_t position_ = 0;
  bool at_end_ = false;
};

}  // namespace kuzet::files
