#pragma once
// How a request's body is framed, read from its head by the reception thread (untrusted bytes). The guard
// uses it to receive a whole body before a worker takes the request, so a client that trickles its body
// holds a buffer, not a worker thread. httplib still parses the request for real on the worker; this only
// decides how long to wait, so an odd head costs nothing but that wait.
#include <cstddef>
#include <optional>
#include <string_view>

namespace kuzet::collector::http {

// How a head's Transfer-Encoding reads. Only one form is framed alike by the guard and by httplib 0.11
// (which reads the first such line and compares it whole with "chunked"): one line, `chunked`.
enum class TransferCoding {
  none,         // no Transfer-Encoding line
  chunked,      // exactly one line, `chunked`
  unsupported,  // chunked last and once, after codings we do not decode (`gzip, chunked`): 501
  ambiguous,    // anything else: chunked not last, twice, absent, or spread over lines (RFC 9112 6.3): 400
};

struct BodyFraming {
  std::optional<size_t> content_length;  // a valid Content-Length (digits only, no overflow)
  TransferCoding coding = TransferCoding::none;
  bool expect_continue = false;          // Expect: 100-continue
  bool invalid_length = false;           // a Content-Length that is not a number or repeated

  bool chunked() const { return coding == TransferCoding::chunked; }
  // The body could end in two places for two readers (request smuggling): refuse with 400.
  bool ambiguous() const {
    return invalid_length || coding == TransferCoding::ambiguous || (coding != TransferCoding::none && content_length);
  }
};

// `head`: the request line and header lines up to and including the blank line.
BodyFraming body_framing(std::string_view head);

// True for the one Transfer-Encoding value both readers take as chunked framing.
bool chunked_value(std::string_view transfer_encoding);

// A Content-Length value: digits only (no sign, no blanks), no overflow; nullopt otherwise.
std::optional<size_t> content_length_value(std::string_view value);

// Where a chunked body ends, found as its bytes arrive: chunk-size lines are parsed, chunk data skipped
// by its size (never scanned), so each call costs the new chunk lines only. `body` is everything after the
// head received so far; `scan` carries the position between calls.
struct ChunkScan {
  size_t next = 0;           // offset of the next chunk-size (or trailer) line in the body
  bool in_trailers = false;  // the last chunk was seen: trailer lines until the blank line
};
enum class ChunkProgress { need_more, complete, malformed };
ChunkProgress scan_chunked(std::string_view body, ChunkScan& scan);
inline constexpr size_t kMaxChunkLine = 1024;  // a size line (with extensions) or a trailer line

// True when a Content-Encoding value names no coding but identity (an empty value names none). httplib
// would inflate a gzip, deflate or brotli body without bound (a 200 KB gzip body of spaces held 200 MB),
// so the guard refuses any other coding before a byte of the body is read.
bool identity_coding(std::string_view content_encoding);

// True when an Accept-Encoding list (every such line, joined by commas) takes gzip: `gzip` or `x-gzip` named
// with a weight above zero, else `*` so (RFC 9110 12.5.3). The guard offers httplib gzip alone: httplib 0.11
// answers `br` with Brotli at its slowest quality, about a megabyte a second of one core, so one cheap request
// would buy seconds of the collector's CPU.
bool accepts_gzip(std::string_view accept_encoding);

// The range of the Expect header line (start, length including CRLF) in `head`, or nullopt.
std::optional<std::pair<size_t, size_t>> expect_line(std::string_view head);

}  // namespace kuzet::collector::http
