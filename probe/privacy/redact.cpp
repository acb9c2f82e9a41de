#include "probe/privacy/redact.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>

#include "ascii/ascii.hpp"
#include "core/crypto/crypto.hpp"

namespace kuzet::probe::privacy {
namespace {

using Form = AddressRedactor::Form;
using Boundary = AddressRedactor::Boundary;

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_alnum(char c) { return is_hex(c) || (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z') || c == '_'; }

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// The base64 characters that depend only on `text`'s bytes, when the text starts at each of the three
// byte offsets of a base64 group, in the standard and the URL-safe alphabets.
void add_base64_forms(const std::string& text, std::vector<Form>& out) {
  for (size_t offset = 0; offset < 3; ++offset) {
    const std::string encoded = core::base64_encode(std::string(offset, '\0') + text);
    const size_t first_bit = 8 * offset, end_bit = 8 * (offset + text.size());
    const size_t first = (first_bit + 5) / 6, end = end_bit / 6;  // characters [first, end) are text's alone
    if (end <= first + 6) continue;  // too short to tell from chance
    const std::string core_chars = encoded.substr(first, end - first);
    out.push_back({core_chars, true, Boundary::none});
    std::string url_safe = core_chars;
    std::replace(url_safe.begin(), url_safe.end(), '+', '-');
    std::replace(url_safe.begin(), url_safe.end(), '/', '_');
    if (url_safe != core_chars) out.push_back({url_safe, true, Boundary::none});
  }
}

void add_ipv4_forms(const unsigned char* b, std::vector<Form>& out) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  const std::string dotted = buffer;
  out.push_back({dotted});
  out.push_back({replace_all(dotted, ".", "%2e")});
  add_base64_forms(dotted, out);
  std::snprintf(buffer, sizeof buffer, "%03u.%03u.%03u.%03u", b[0], b[1], b[2], b[3]);
  out.push_back({buffer});
  std::snprintf(buffer, sizeof buffer, "%u-%u-%u-%u", b[0], b[1], b[2], b[3]);
  out.push_back({buffer});
  const uint32_t number = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  std::snprintf(buffer, sizeof buffer, "%u", number);
  out.push_back({buffer});
  std::snprintf(buffer, sizeof buffer, "0x%08x", number);
  out.push_back({buffer, false, Boundary::alphanumeric});
  std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2], b[1], b[0]);
  out.push_back({buffer});
}

void add_ipv6_forms(const unsigned char* b, std::vector<Form>& out) {
  std::array<unsigned, 8> groups{};
  for (size_t i = 0; i < 8; ++i) groups[i] = (b[2 * i] << 8) | b[2 * i + 1];
  auto join = [&](size_t from, size_t to, bool padded) {
    std::string text;
    char buffer[8];
    for (size_t i = from; i < to; ++i) {
      if (i != from) text.push_back(':');
      std::snprintf(buffer, sizeof buffer, padded ? "%04x" : "%x", groups[i]);
      text += buffer;
    }
    return text;
  };
  std::vector<std::string> texts{join(0, 8, false), join(0, 8, true)};
  // Any run of zero groups may be the one written "::" (RFC 5952 picks the longest; others write otherwise).
  for (size_t start = 0; start < 8; ++start) {
    for (size_t end = start + 1; end <= 8 && groups[end - 1] == 0; ++end)
      texts.push_back(join(0, start, false) + "::" + join(end, 8, false));
  }
  for (const auto& t : texts) {
    out.push_back({t, false, Boundary::hex_and_colon});
    out.push_back({replace_all(t, ":", "%3a"), false, Boundary::hex_and_colon});
  }
  char canonical[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, b, canonical, sizeof canonical)) add_base64_forms(canonical, out);
  std::string nibbles;
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    nibbles += kHex[b[i] & 0xf];
    nibbles += '.';
    nibbles += kHex[b[i] >> 4];
    nibbles += '.';
  }
  out.push_back({nibbles + "ip6.arpa", false, Boundary::hex_and_colon});
}

bool joins(Boundary boundary, char c) {
  switch (boundary) {
    case Boundary::digits: return is_digit(c);
    case Boundary::hex_and_colon: return is_hex(c) || c == ':';
    case Boundary::alphanumeric: return is_alnum(c);
    case Boundary::none: return false;
  }
  return false;
}

// Whether the text just before position i ends a token the form would extend. A percent escape ("%20",
// "%3D") right before is a separator, whatever its hex digits.
bool joins_before(std::string_view text, size_t i, Boundary boundary) {
  if (i == 0) return false;
  if (i >= 3 && text[i - 3] == '%' && is_hex(text[i - 2]) && is_hex(text[i - 1])) return false;
  return joins(boundary, text[i - 1]);
}

bool matches_at(std::string_view text, size_t i, const Form& form) {
  if (form.text.size() > text.size() - i) return false;
  if (form.case_sensitive) {
    if (text.compare(i, form.text.size(), form.text) != 0) return false;
  } else {
    for (size_t k = 0; k < form.text.size(); ++k)
      if (ascii::lower(text[i + k]) != form.text[k]) return false;
  }
  if (joins_before(text, i, form.boundary)) return false;
  const size_t after = i + form.text.size();
  return after >= text.size() || !joins(form.boundary, text[after]);
}

}  // namespace

AddressRedactor::AddressRedactor(const std::vector<std::string>& addresses) {
  for (const auto& address : addresses) {
    unsigned char bytes[16];
    if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
      add_ipv4_forms(bytes, forms_);
    } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
      add_ipv6_forms(bytes, forms_);
      static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::equal(bytes, bytes + 12, mapped)) add_ipv4_forms(bytes + 12, forms_);
    }
  }
  // Longest first, so "::1:2" is not cut short by a shorter spelling of another address.
  std::sort(forms_.begin(), forms_.end(), [](const Form& a, const Form& b) {
    return a.text.size() != b.text.size() ? a.text.size() > b.text.size() : a.text < b.text;
  });
  forms_.erase(std::unique(forms_.begin(), forms_.end(),
                           [](const Form& a, const Form& b) {
                             return a.text == b.text && a.case_sensitive == b.case_sensitive && a.boundary == b.boundary;
                           }),
               forms_.end());
}

std::string AddressRedactor::redact(std::string_view text) const {
  if (empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t matched = 0;
    for (const auto& form : forms_) {
      if (matches_at(text, i, form)) {
        matched = form.text.size();
        break;
      }
    }
    if (matched > 0) {
      out += kAddressMarker;
      i += matched;
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

size_t redact_record(MeasurementRecord& record, const AddressRedactor& redactor) {
  if (redactor.empty()) return 0;
  size_t changed = 0;
  auto apply = [&](std::string& text) {
    std::string clean = redactor.redact(text);
    if (clean == text) return false;
    text = std::move(clean);
    ++changed;
    return true;
  };
  auto apply_http = [&](std::optional<measure::HttpObservation>& http) {
    if (!http) return;
    for (auto& request : http->requests) {
      apply(request.url);  // a redirect may have carried the address into the next hop's URL
      for (auto& header : request.headers) {
        apply(header.name);
        apply(header.value);
      }
      apply(request.location);
      apply(request.title);
      if (apply(request.body_prefix)) request.body_sha256.clear();
    }
    apply(http->final_url);
  };
  apply_http(record.observations.http);
  apply_http(record.observations.neutral_sni_http);
  apply(record.verdict.explanation);
  // What the pages said (http.title, http.failed_host, ...); DNS and TLS evidence names the target's addresses.
  for (auto& evidence : record.verdict.evidence)
    if (evidence.key.rfind("http.", 0) == 0) apply(evidence.value);
  return changed;
}

}  // namespace kuzet::probe::privacy
