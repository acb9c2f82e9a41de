#include "files/line_reader.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace kuzet::files {

namespace {
constexpr unsigned kChunk = 64 * 1024;
}

LineReader::LineReader(const std::string& path, size_t max_line_bytes)
    : file_(gzopen(path.c_str(), "rb")), max_line_bytes_(max_line_bytes) {
  if (file_) gzbuffer(file_, kChunk);
}

LineReader::~LineReader() {
  if (file_) gzclose(file_);
}

// Appends up to one chunk to the buffer; false at the end of the file.
bool LineReader::fill() {
  if (at_end_ || !file_) return false;
  buffer_.erase(0, position_);
  position_ = 0;
  const size_t old_size = buffer_.size();
  buffer_.resize(old_size + kChunk);
  const int n = gzread(file_, buffer_.data() + old_size, kChunk);
  buffer_.resize(old_size + static_cast<size_t>(std::max(n, 0)));
  if (n > 0) return true;
  // A gzip stream cut short gives its data, then ends with Z_BUF_ERROR ("unexpected end of file"): an
  // error, not a clean end. zlib keeps the error, so it is read here, once the data is used up.
  int err = Z_OK;
  const char* message = gzerror(file_, &err);
  if (n < 0 || (err != Z_OK && err != Z_STREAM_END)) throw std::runtime_error(std::string("read error: ") + message);
  at_end_ = true;
  return false;
}

LineReader::Line LineReader::next(std::string& line) {
  line.clear();
  bool too_long = false;
  bool any = false;
  while (true) {
    const char* start = buffer_.data() + position_;
    const size_t available = buffer_.size() - position_;
    const void* newline = available ? std::memchr(start, '\n', available) : nullptr;
    const size_t take = newline ? static_cast<size_t>(static_cast<const char*>(newline) - start) : available;
    any = any || available > 0;
    if (!too_long && line.size() + take > max_line_bytes_) {
      too_long = true;
      line.clear();
      line.shrink_to_fit();
    }
    if (!too_long) line.append(start, take);
    if (newline) {
      position_ += take + 1;
      return too_long ? Line::too_long : Line::ok;
    }
    position_ = buffer_.size();
    if (!fill()) break;
  }
  if (!any) return Line::end;
  return too_long ? Line::too_long : Line::ok;
}

}  // namespace kuzet::files
