// Fuzzes response headers as the probe's HTTP step keeps them (measure::http::add_header_line, fed line by line as
// libcurl does) and the redirect it then follows (measure::http::redirect_location). Input: the request URL on the
// first line, then the raw header lines. Whatever a hostile server sends, what is kept is bounded and valid
// UTF-8 (it goes into signed JSON), and a redirect target is an http(s) URL the probe can parse.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "measure/http/http.hpp"
#include "measure/http/url.hpp"

namespace {
bool valid_utf8(const std::string& s) { return kuzet::measure::http::sanitize_utf8(s) == s; }
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuzet::measure;
  using namespace kuzet::measure::http;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) newline = input.size();
  const std::string url(input.substr(0, newline));
  std::vector<HttpHeader> headers;
  size_t header_bytes = 0;
  for (size_t start = newline + 1; start < input.size();) {
    size_t end = input.find('\n', start);
    end = end == std::string_view::npos ? input.size() : end + 1;  // libcurl hands lines over with their CRLF
    add_header_line(input.substr(start, end - start), false, headers, header_bytes);
    start = end;
  }
  constexpr size_t kValueBound = 3 * 8 * 1024;  // 8 KiB of bytes, each at worst replaced by 3 (U+FFFD)
  if (headers.size() > 100 || header_bytes > 64 * 1024 + 2 * kValueBound) __builtin_trap();
  for (const auto& h : headers)
    if (h.name.size() > kValueBound || h.value.size() > kValueBound || !valid_utf8(h.name) || !valid_utf8(h.value))
      __builtin_trap();
  const std::string location = redirect_location(url, headers);
  if (!location.empty() && (!parse_url(location) || !valid_utf8(location))) __builtin_trap();
  return 0;
}
