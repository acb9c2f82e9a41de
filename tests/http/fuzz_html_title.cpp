// Fuzzes extract_title with hostile HTML and checks its promises: valid UTF-8, at most 256 code points,
// no leading or trailing space.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "measure/http/http.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const std::string title = kuzet::measure::http::extract_title(body);
  if (kuzet::measure::http::sanitize_utf8(title) != title) std::abort();
  size_t code_points = 0;
  for (unsigned char c : title) code_points += (c & 0xC0) != 0x80;
  if (code_points > 256) std::abort();
  if (!title.empty() && (title.front() == ' ' || title.back() == ' ')) std::abort();
  if (kuzet::measure::http::sanitize_utf8(body).size() < body.size()) std::abort();  // never shrinks
  return 0;
}
