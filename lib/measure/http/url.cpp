#include "measure/http/url.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>

#include <memory>

#include "idn/idn.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::measure::http {

namespace {
struct UrlHandleDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlHandleDeleter>;

std::optional<std::string> get_part(CURLU* u, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(u, part, &value, flags) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}
}  // namespace

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::optional<Url> parse_url(const std::string& text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<Url> {
    if (error) *error = why;
    return std::nullopt;
  };
  UrlHandle u(curl_url());
  if (!u) return fail("out of memory");
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return fail("not a valid URL");
  Url out;
  out.scheme = ascii::lower(get_part(u.get(), CURLUPART_SCHEME).value_or(""));
  if (out.scheme != "http" && out.scheme != "https") return fail("scheme must be http or https");
  auto host = get_part(u.get(), CURLUPART_HOST);
  if (!host || host->empty()) return fail("URL has no host");
  out.host = ascii::lower(*host);
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']')
    out.host = out.host.substr(1, out.host.size() - 2);
  out.unicode_host = out.host;
  out.wire_url = text;
  if (!is_ip_literal(out.host)) {
    std::string why;
    auto name = idn::convert_host(out.host, &why);
    if (!name) return fail(why);
    if (name->ascii != out.host) {
      // libcurl would convert by itself, but then its name would not match the address we pin for it.
      if (curl_url_set(u.get(), CURLUPART_HOST, name->ascii.c_str(), 0) != CURLUE_OK)
        return fail("host '" + out.host + "' cannot be written as '" + name->ascii + "'");
      out.wire_url = get_part(u.get(), CURLUPART_URL).value_or(text);
      // A Unicode name can map to digits and dots ("1\u300223" -> "1.23"), which libcurl then reads as
      // an IPv4 address (1.0.0.23): the name we would resolve and the address curl would use differ.
      UrlHandle wire(curl_url());
      if (!wire || curl_url_set(wire.get(), CURLUPART_URL, out.wire_url.c_str(), 0) != CURLUE_OK)
        return fail("host '" + out.host + "' cannot be written as '" + name->ascii + "'");
      const std::string seen = ascii::lower(get_part(wire.get(), CURLUPART_HOST).value_or(""));
      if (seen != name->ascii)
        return fail("host '" + out.host + "' becomes the address '" + seen + "' once mapped: write the address");
    }
    out.host = std::move(name->ascii);
    out.unicode_host = std::move(name->unicode);
  }
  auto port = get_part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
  try {
    unsigned long p = port ? std::stoul(*port) : 0;
    if (p == 0 || p > 65535) return fail("invalid port");
    out.port = static_cast<uint16_t>(p);
  } catch (...) {
    return fail("invalid port");
  }
  out.path = get_part(u.get(), CURLUPART_PATH).value_or("/");
  if (out.path.empty()) out.path.push_back('/');  // not = "/": GCC 12 warns falsely (-Wrestrict) on that here
  if (auto q = get_part(u.get(), CURLUPART_QUERY)) out.path += "?" + *q;
  return out;
}

std::optional<std::string> resolve_redirect(const std::string& base, const std::string& location) {
  UrlHandle u(curl_url());
  if (!u) return std::nullopt;
  if (curl_url_set(u.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK) return std::nullopt;
  if (curl_url_set(u.get(), CURLUPART_URL, location.c_str(), CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
    return std::nullopt;
  auto full = get_part(u.get(), CURLUPART_URL);
  if (!full || !parse_url(*full)) return std::nullopt;
  return full;
}

}  // namespace kuzet::measure::http
