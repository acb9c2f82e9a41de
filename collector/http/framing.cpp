#include "collector/http/framing.hpp"

#include <cctype>
#include <charconv>
#include <utility>

namespace kuzet::collector::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool contains_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Calls fn(name, value, line_start, line_length) for every header line after the request line.
template <typename Fn>
void for_each_header(std::string_view head, Fn fn) {
  size_t at = head.find("\r\n");
  if (at == std::string_view::npos) return;
  at += 2;
  while (at < head.size()) {
    const size_t end = head.find("\r\n", at);
    if (end == std::string_view::npos || end == at) return;  // the blank line ends the head
    const std::string_view line = head.substr(at, end - at);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) fn(line.substr(0, colon), trim(line.substr(colon + 1)), at, end + 2 - at);
    at = end + 2;
  }
}

}  // namespace

BodyFraming body_framing(std::string_view head) {
  BodyFraming f;
  int lengths = 0;
  for_each_header(head, [&](std::string_view name, std::string_view value, size_t, size_t) {
    if (iequals(name, "Content-Length")) {
      ++lengths;
      size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || p != value.data() + value.size()) f.invalid_length = true;
      else f.content_length = n;
    } else if (iequals(name, "Transfer-Encoding")) {
      f.chunked = f.chunked || contains_token(value, "chunked");
    } else if (iequals(name, "Expect")) {
      f.expect_continue = f.expect_continue || iequals(value, "100-continue");
    }
  });
  if (lengths > 1 || f.invalid_length) {
    f.invalid_length = true;
    f.content_length.reset();
  }
  return f;
}

ChunkProgress scan_chunked(std::string_view body, ChunkScan& scan) {
  while (scan.next < body.size()) {
    const std::string_view rest = body.substr(scan.next);
    const size_t end = rest.find("\r\n");
    if (end == std::string_view::npos) return rest.size() > kMaxChunkLine ? ChunkProgress::malformed : ChunkProgress::need_more;
    if (end > kMaxChunkLine) return ChunkProgress::malformed;
    const std::string_view line = rest.substr(0, end);
    if (scan.in_trailers) {
      if (line.empty()) {
        scan.next += 2;
        return ChunkProgress::complete;
      }
      scan.next += end + 2;
      continue;
    }
    const std::string_view hex = trim(line.substr(0, line.find(';')));
    size_t size = 0;
    auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), size, 16);
    if (hex.empty() || ec != std::errc() || p != hex.data() + hex.size()) return ChunkProgress::malformed;
    if (size == 0) {
      scan.in_trailers = true;
      scan.next += end + 2;
      continue;
    }
    if (size > body.max_size() / 2) return ChunkProgress::malformed;
    scan.next += end + 2 + size + 2;  // the data and its CRLF, skipped unread
  }
  return ChunkProgress::need_more;
}

std::optional<std::pair<size_t, size_t>> expect_line(std::string_view head) {
  std::optional<std::pair<size_t, size_t>> found;
  for_each_header(head, [&](std::string_view name, std::string_view, size_t start, size_t length) {
    if (!found && iequals(name, "Expect")) found = std::make_pair(start, length);
  });
  return found;
}

}  // namespace kuzet::collector::http
