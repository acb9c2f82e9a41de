// Fuzzes the guard's reading of request framing (collector/http/framing.cpp): a head, then body bytes fed
// in pieces. Promises: scanning a chunked body piece by piece gives the same answer as scanning it whole;
// a complete body ends inside what was received; an Expect line found is a header line of the head; a
// Content-Encoding value's verdict does not change when "identity" is listed beside it, nor whether an
// Accept-Encoding list takes gzip when another coding is; a head with a length and chunked framing, or an
// ambiguous transfer coding, is ambiguous.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collector/http/framing.hpp"

using namespace kuzet::collector::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 256 * 1024) return 0;
  const size_t step = 1 + data[0] % 97;  // the piece size of the incremental scan
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t head_end = text.find("\r\n\r\n");
  if (head_end == std::string::npos) return 0;
  const std::string_view head = std::string_view(text).substr(0, head_end + 4);
  const std::string_view body = std::string_view(text).substr(head_end + 4);

  const BodyFraming f = body_framing(head);
  if (f.invalid_length && f.content_length) __builtin_trap();
  if (f.chunked() && f.content_length && !f.ambiguous()) __builtin_trap();
  if (f.coding == TransferCoding::ambiguous && !f.ambiguous()) __builtin_trap();
  if (auto line = expect_line(head)) {
    if (line->first == 0 || line->first + line->second > head.size()) __builtin_trap();
    if (head.substr(line->first + line->second - 2, 2) != "\r\n") __builtin_trap();
  }

  // Naming a coding other than gzip, before or after, changes nothing; refusing gzip first refuses it.
  const bool gzip = accepts_gzip(head);
  if (gzip != accepts_gzip("br, " + std::string(head)) || gzip != accepts_gzip(std::string(head) + ",zstd;q=0"))
    __builtin_trap();
  if (accepts_gzip("gzip;q=0," + std::string(head))) __builtin_trap();

  const bool identity = identity_coding(head);
  if (identity != identity_coding(std::string(head) + ", identity") ||
      identity != identity_coding("identity," + std::string(head)))
    __builtin_trap();

  ChunkScan whole;
  const ChunkProgress all_at_once = scan_chunked(body, whole);
  ChunkScan pieces;
  ChunkProgress progress = ChunkProgress::need_more;
  for (size_t n = std::min(step, body.size());; n = std::min(n + step, body.size())) {
    progress = scan_chunked(body.substr(0, n), pieces);
    if (progress != ChunkProgress::need_more || n == body.size()) break;
  }
  // Fed in pieces, a scan may stop at a malformed line earlier or see completion at the same point only.
  if (progress == ChunkProgress::complete && (all_at_once != ChunkProgress::complete || pieces.next != whole.next))
    __builtin_trap();
  if (all_at_once == ChunkProgress::complete && (whole.next > body.size())) __builtin_trap();
  return 0;
}
