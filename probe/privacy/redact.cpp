#include "probe/privacy/redact.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdio>

namespace kuzet::probe::privacy {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

void add_ipv4_forms(const unsigned char* b, std::vector<std::string>& out) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
  out.emplace_back(buffer);
  std::snprintf(buffer, sizeof buffer, "%03u.%03u.%03u.%03u", b[0], b[1], b[2], b[3]);
  out.emplace_back(buffer);
  std::snprintf(buffer, sizeof buffer, "%u-%u-%u-%u", b[0], b[1], b[2], b[3]);
  out.emplace_back(buffer);
}

void add_ipv6_forms(const unsigned char* b, std::vector<std::string>& out) {
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
  out.push_back(join(0, 8, false));
  out.push_back(join(0, 8, true));
  // Any run of zero groups may be the one written "::" (RFC 5952 picks the longest; others write otherwise).
  for (size_t start = 0; start < 8; ++start) {
    for (size_t end = start + 1; end <= 8 && groups[end - 1] == 0; ++end)
      out.push_back(join(0, start, false) + "::" + join(end, 8, false));
  }
}

// The character before/after a match that would make it part of a longer token.
bool joins_ipv4(char c) { return is_digit(c); }
bool joins_ipv6(char c) { return is_hex(c) || c == ':'; }

}  // namespace

AddressRedactor::AddressRedactor(const std::vector<std::string>& addresses) {
  for (const auto& address : addresses) {
    unsigned char bytes[16];
    if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
      add_ipv4_forms(bytes, ipv4_forms_);
    } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
      add_ipv6_forms(bytes, ipv6_forms_);
      static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
      if (std::equal(bytes, bytes + 12, mapped)) add_ipv4_forms(bytes + 12, ipv4_forms_);
    }
  }
  for (auto* forms : {&ipv4_forms_, &ipv6_forms_}) {
    std::sort(forms->begin(), forms->end(), [](const std::string& a, const std::string& b) {
      return a.size() != b.size() ? a.size() > b.size() : a < b;
    });
    forms->erase(std::unique(forms->begin(), forms->end()), forms->end());
  }
}

std::string AddressRedactor::redact(std::string_view text) const {
  if (empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const char before = i > 0 ? text[i - 1] : ' ';
    size_t matched = 0;
    // Longest form first, so "::1:2" is not cut short by a shorter spelling of another address.
    for (const auto& form : ipv6_forms_) {
      if (joins_ipv6(before) || form.size() > text.size() - i) continue;
      bool equal = true;
      for (size_t k = 0; k < form.size() && equal; ++k) equal = lower(text[i + k]) == form[k];
      const char after = i + form.size() < text.size() ? text[i + form.size()] : ' ';
      if (equal && !joins_ipv6(after)) {
        matched = form.size();
        break;
      }
    }
    if (matched == 0) {
      for (const auto& form : ipv4_forms_) {
        if (joins_ipv4(before) || text.compare(i, form.size(), form) != 0) continue;
        const char after = i + form.size() < text.size() ? text[i + form.size()] : ' ';
        if (!joins_ipv4(after)) {
          matched = form.size();
          break;
        }
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
