#include "analysis/rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>

#include "core/vocabulary/failure.hpp"
#include "core/vocabulary/method.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::analysis {
namespace {

namespace failure = core::failure;
namespace method = core::method;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// Does `bytes` (network order) fall in prefix/bits?
template <size_t N>
bool in_prefix(const std::array<uint8_t, N>& bytes, const std::array<uint8_t, N>& prefix, int bits) {
  for (int i = 0; i < bits; ++i) {
    const int byte = i / 8, bit = 7 - i % 8;
    if (((bytes[byte] >> bit) & 1) != ((prefix[byte] >> bit) & 1)) return false;
  }
  return true;
}

bool is_bogon_v4(const std::array<uint8_t, 4>& a) {
  struct Range {
    std::array<uint8_t, 4> prefix;
    int bits;
  };
  static const Range ranges[] = {
      {{0, 0, 0, 0}, 8},         // "this network"
      {{10, 0, 0, 0}, 8},        // private
      {{100, 64, 0, 0}, 10},     // shared address space (CGNAT)
      {{127, 0, 0, 0}, 8},       // loopback
      {{169, 254, 0, 0}, 16},    // link-local
      {{172, 16, 0, 0}, 12},     // private
      {{192, 0, 0, 0}, 24},      // IETF protocol assignments
      {{192, 0, 2, 0}, 24},      // TEST-NET-1
      {{192, 168, 0, 0}, 16},    // private
      {{198, 18, 0, 0}, 15},     // benchmarking
      {{198, 51, 100, 0}, 24},   // TEST-NET-2
      {{203, 0, 113, 0}, 24},    // TEST-NET-3
      {{224, 0, 0, 0}, 4},       // multicast
      {{240, 0, 0, 0}, 4},       // reserved, broadcast
  };
  for (const auto& r : ranges)
    if (in_prefix(a, r.prefix, r.bits)) return true;
  return false;
}

}  // namespace

bool is_bogon_address(std::string_view address) {
  std::string text(address);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  if (auto pct = text.find('%'); pct != std::string::npos) text.resize(pct);  // fe80::1%eth0
  std::array<uint8_t, 4> v4{};
  if (inet_pton(AF_INET, text.c_str(), v4.data()) == 1) return is_bogon_v4(v4);
  std::array<uint8_t, 16> v6{};
  if (inet_pton(AF_INET6, text.c_str(), v6.data()) != 1) return false;
  const std::array<uint8_t, 16> mapped{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (in_prefix(v6, mapped, 96)) return is_bogon_v4({v6[12], v6[13], v6[14], v6[15]});
  const std::array<uint8_t, 16> nat64{0, 0x64, 0xff, 0x9b};
  if (in_prefix(v6, nat64, 96)) return false;
  // Only 2000::/3 is global unicast; inside it, documentation and a few special blocks are bogons.
  const std::array<uint8_t, 16> global{0x20};
  if (!in_prefix(v6, global, 3)) return true;  // ::, ::1, fc00::/7, fe80::/10, ff00::/8, 100::/64, ...
  const std::array<uint8_t, 16> documentation{0x20, 0x01, 0x0d, 0xb8};
  const std::array<uint8_t, 16> documentation2{0x3f, 0xff};  // 3fff::/20 (RFC 9637)
  return in_prefix(v6, documentation, 32) || in_prefix(v6, documentation2, 20);
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

double body_transfer_ms(const measure::HttpObservation& http) {
  if (http.requests.empty()) return 0;
  const auto& last = http.requests.back();
  if (last.samples.size() >= 2) return last.samples.back().t_ms - last.samples.front().t_ms;
  if (http.throughput_bps > 0) return static_cast<double>(last.body_length) * 8.0 / http.throughput_bps * 1000.0;
  return 0;
}

double effective_throughput_bps(const measure::HttpObservation& http) {
  if (http.throughput_bps > 0) return http.throughput_bps;
  if (http.requests.empty()) return 0;
  const auto& samples = http.requests.back().samples;
  if (samples.size() < 2) return 0;
  const double seconds = (samples.back().t_ms - samples.front().t_ms) / 1000.0;
  if (seconds <= 0 || samples.back().bytes <= samples.front().bytes) return 0;
  return static_cast<double>(samples.back().bytes - samples.front().bytes) * 8.0 / seconds;
}

double confirmation_rate_bps(const measure::HttpObservation& http) {
  const auto* response = final_response(http);
  if (!response || response->body_length < kMinRateBytes) return 0;
  if (const double bps = effective_throughput_bps(http); bps > 0) return bps;
  const double ms = std::max(1.0, response->total_ms - response->first_byte_ms);
  return static_cast<double>(response->body_length) * 8.0 / (ms / 1000.0);
}

std::string dns_method(std::string_view f) {
  if (f == failure::dns_nxdomain || f == failure::dns_no_answer || f == failure::dns_refused)
    return std::string(method::dns_nxdomain);
  return std::string(method::dns_timeout);  // timeout, servfail, error: no usable reply at all
}

std::string tcp_method(std::string_view f) {
  if (f == failure::tcp_reset) return std::string(method::tcp_reset);
  if (f == failure::tcp_refused) return std::string(method::tcp_refused);
  return std::string(method::tcp_timeout);  // timeout, unreachable (dropped/no route), error
}

std::string tls_method(std::string_view f) {
  if (f == failure::tls_timeout) return std::string(method::tls_timeout);
  if (f == failure::tls_eof) return std::string(method::tls_eof);
  return std::string(method::tls_reset);  // reset, fatal alert, protocol garbage: an abrupt, active end
}

std::string http_method(std::string_view f) {
  if (ends_with(f, ".timeout") || f == failure::tcp_unreachable) return std::string(method::http_timeout);
  if (ends_with(f, ".reset") || f == failure::tcp_refused || f == failure::tls_alert || f == failure::tls_error)
    return std::string(method::http_reset);
  if (ends_with(f, ".eof") || f == failure::http_error || f == failure::tcp_error) return std::string(method::http_eof);
  return "";
}

std::string method_for_failure(std::string_view f) {
  if (starts_with(f, "dns.")) return dns_method(f);
  if (starts_with(f, "tcp.")) return tcp_method(f);
  if (f == failure::tls_timeout || f == failure::tls_eof || f == failure::tls_reset || f == failure::tls_alert ||
      f == failure::tls_error)
    return tls_method(f);
  if (starts_with(f, "http.")) return http_method(f);
  return "";
}

std::string url_host(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  if (!rest.empty() && rest.front() == '[') {
    const size_t close = rest.find(']');
    return ascii::lower(close == std::string_view::npos ? rest.substr(1) : rest.substr(1, close - 1));
  }
  return ascii::lower(rest.substr(0, rest.find(':')));
}

std::string site_of_host(std::string_view host) {
  std::string h = ascii::lower(host);
  if (starts_with(h, "www.")) h = h.substr(4);
  while (!h.empty() && h.back() == '.') h.pop_back();
  return h;
}

bool fingerprint_matches(const spec::BlockpageFingerprint& fp, const measure::HttpRequest& response) {
  if (fp.body_contains.empty() && fp.title_contains.empty() && fp.header_name.empty()) return false;
  if (!fp.body_contains.empty() && !ascii::contains_ignoring_case(response.body_prefix, fp.body_contains)) return false;
  if (!fp.title_contains.empty() && !ascii::contains_ignoring_case(response.title, fp.title_contains)) return false;
  if (!fp.header_name.empty()) {
    bool found = false;
    for (const auto& h : response.headers)
      if (ascii::equals_ignoring_case(h.name, fp.header_name) &&
          (fp.header_contains.empty() || ascii::contains_ignoring_case(h.value, fp.header_contains)))
        found = true;
    if (!found) return false;
  }
  return true;
}

std::string known_root_in_chain(const std::vector<measure::CertificateInfo>& chain,
                                const std::vector<spec::InterceptionRoot>& roots) {
  for (const auto& cert : chain)
    for (const auto& root : roots) {
      if (!root.sha256.empty() && ascii::equals_ignoring_case(cert.sha256, root.sha256)) return root.name;
      if (!root.spki_sha256.empty() && cert.spki_sha256 == root.spki_sha256) return root.name;
    }
  return "";
}

std::string common_name(std::string_view dn) {
  // Attributes are separated by "," (RFC 2253) or "/" (OpenSSL's old form); values may hold escaped commas.
  size_t pos = 0;
  while (pos < dn.size()) {
    while (pos < dn.size() && (dn[pos] == ' ' || dn[pos] == ',' || dn[pos] == '/' || dn[pos] == '+')) ++pos;
    size_t end = pos;
    while (end < dn.size() && dn[end] != ',' && dn[end] != '/' && dn[end] != '+') {
      if (dn[end] == '\\' && end + 1 < dn.size()) ++end;
      ++end;
    }
    const std::string_view attribute = dn.substr(pos, end - pos);
    if (ascii::starts_with_ignoring_case(attribute, "cn=")) {
      std::string value;
      for (size_t i = 3; i < attribute.size(); ++i) {
        if (attribute[i] == '\\' && i + 1 < attribute.size()) ++i;
        value += attribute[i];
      }
      return std::string(ascii::trim_end(value, " "));
    }
    pos = end;
  }
  return "";
}

std::string known_root_named_in_chain(const std::vector<measure::CertificateInfo>& chain,
                                      const std::vector<spec::InterceptionRoot>& roots) {
  for (const auto& root : roots) {
    std::string name = root.name;
    if (auto paren = name.find(" ("); paren != std::string::npos && !name.empty() && name.back() == ')')
      name.resize(paren);
    name.resize(ascii::trim_end(name, " ").size());
    if (name.size() < 4) continue;  // too short to mean anything
    for (const auto& cert : chain)
      for (const auto* dn : {&cert.issuer, &cert.subject})
        if (ascii::equals_ignoring_case(common_name(*dn), name)) return root.name;
  }
  return "";
}

const measure::HttpRequest* final_response(const measure::HttpObservation& http) {
  if (http.requests.empty() || http.requests.back().status <= 0) return nullptr;
  return &http.requests.back();
}

}  // namespace kuzet::analysis
