#include "collector/http/framing.hpp"

#include <charconv>
#include <utility>

#include "ascii/ascii.hpp"

namespace kuzet::collector::http {

namespace {

// Calls fn(token) for every non-empty element, blanks trimmed, of a list split at `separator` (a header's
// comma-separated list, or an element's ';'-separated parameters).
template <typename Fn>
void for_each_token(std::string_view list, Fn fn, char separator = ',') {
  for (;;) {
    const size_t at = list.find(separator);
    const std::string_view token = ascii::trim(list.substr(0, at), ascii::kBlanks);
    if (!token.empty()) fn(token);
    if (at == std::string_view::npos) return;
    list.remove_prefix(at + 1);
  }
}

// The transfer codings of all Transfer-Encoding lines, in order, read as one list (RFC 9110 5.3).
struct CodingList {
  int lines = 0;
  int chunked = 0;        // how many times chunked is named
  int others = 0;         // codings other than chunked
  bool last_is_chunked = false;
  bool single_chunked_line = false;

  void add_line(std::string_view value) {
    ++lines;
    single_chunked_line = lines == 1 && chunked_value(value);
    for_each_token(value, [&](std::string_view token) {
      last_is_chunked = ascii::equals_ignoring_case(token, "chunked");
      (last_is_chunked ? chunked : others)++;
    });
  }
  TransferCoding reading() const {
    if (lines == 0) return TransferCoding::none;
    if (single_chunked_line) return TransferCoding::chunked;
    if (last_is_chunked && chunked == 1 && others > 0) return TransferCoding::unsupported;
    return TransferCoding::ambiguous;
  }
};

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
    if (colon != std::string_view::npos)
      fn(line.substr(0, colon), ascii::trim(line.substr(colon + 1), ascii::kBlanks), at, end + 2 - at);
    at = end + 2;
  }
}

}  // namespace

bool identity_coding(std::string_view content_encoding) {
  bool identity = true;
  for_each_token(content_encoding, [&](std::string_view token) {
    identity = identity && ascii::equals_ignoring_case(token, "identity");
  });
  return identity;
}

namespace {

// True for a list element's parameters (after its first ';') whose first weight is zero: refused.
bool zero_weight(std::string_view params) {
  std::optional<bool> zero;
  for_each_token(params, [&](std::string_view param) {
    const size_t eq = param.find('=');
    if (zero || eq == std::string_view::npos) return;
    if (!ascii::equals_ignoring_case(ascii::trim(param.substr(0, eq), ascii::kBlanks), "q")) return;
    const std::string_view q = ascii::trim(param.substr(eq + 1), ascii::kBlanks);
    zero = !q.empty() && q.front() == '0' && q.find_first_of("123456789") == std::string_view::npos;
  }, ';');
  return zero.value_or(false);
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
  std::optional<bool> named, any;  // the first mention of gzip, and of "*"
  for_each_token(accept_encoding, [&](std::string_view token) {
    const size_t semi = token.find(';');
    const std::string_view coding = ascii::trim(token.substr(0, semi), ascii::kBlanks);
    const bool taken = semi == std::string_view::npos || !zero_weight(token.substr(semi + 1));
    if (ascii::equals_ignoring_case(coding, "gzip") || ascii::equals_ignoring_case(coding, "x-gzip")) {
      if (!named) named = taken;
    } else if (coding == "*" && !any) {
      any = taken;
    }
  });
  return named.value_or(any.value_or(false));
}

bool chunked_value(std::string_view transfer_encoding) {
  return ascii::equals_ignoring_case(ascii::trim(transfer_encoding, ascii::kBlanks), "chunked");
}

std::optional<size_t> content_length_value(std::string_view value) {
  size_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return n;
}

BodyFraming body_framing(std::string_view head) {
  BodyFraming f;
  int lengths = 0;
  CodingList codings;
  for_each_header(head, [&](std::string_view name, std::string_view value, size_t, size_t) {
    if (ascii::equals_ignoring_case(name, "Content-Length")) {
      ++lengths;
      f.content_length = content_length_value(value);
      if (!f.content_length) f.invalid_length = true;
    } else if (ascii::equals_ignoring_case(name, "Transfer-Encoding")) {
      codings.add_line(value);
    } else if (ascii::equals_ignoring_case(name, "Expect")) {
      f.expect_continue = f.expect_continue || ascii::equals_ignoring_case(value, "100-continue");
    }
  });
  if (lengths > 1 || f.invalid_length) {
    f.invalid_length = true;
    f.content_length.reset();
  }
  f.coding = codings.reading();
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
    const std::string_view hex = ascii::trim(line.substr(0, line.find(';')), ascii::kBlanks);
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
    if (!found && ascii::equals_ignoring_case(name, "Expect")) found = std::make_pair(start, length);
  });
  return found;
}

}  // namespace kuzet::collector::http
