#include "measure/dns/dns_parse.hpp"

#include <arpa/inet.h>
#include <ares.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>
#include <utility>
#include <vector>

#include "core/vocabulary/failure.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::measure::dns {

namespace {

constexpr size_t kHeaderSize = 12;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kClassIn = 1;
// More addresses than any real answer carries; c-ares silently drops the rest.
constexpr int kMaxAddresses = 64;

uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t read_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// RFC 2181 section 8: a TTL with the top bit set is treated as zero.
uint32_t sane_ttl(int64_t ttl) { return (ttl < 0 || ttl > INT32_MAX) ? 0 : static_cast<uint32_t>(ttl); }

// Expands the (possibly compressed) name at `at`; c-ares bounds-checks and rejects pointer loops.
// Returns the encoded length, or -1 when the name is malformed.
long expand_name(const uint8_t* reply, size_t length, size_t at, std::string* out) {
  if (at >= length) return -1;
  char* name = nullptr;
  long encoded_length = 0;
  if (ares_expand_name(reply + at, reply, static_cast<int>(length), &name, &encoded_length) != ARES_SUCCESS)
    return -1;
  if (out) *out = name;
  ares_free_string(name);
  return encoded_length;
}

// The CNAME records of the answer section, in wire order. Stops quietly at the first malformed record:
// the address parse (c-ares) decides whether the reply as a whole is malformed.
std::vector<DnsAnswer> cnames_in(const uint8_t* reply, size_t length) {
  std::vector<DnsAnswer> cnames;
  if (length < kHeaderSize) return cnames;
  const unsigned question_count = read_u16(reply + 4);
  const unsigned answer_count = read_u16(reply + 6);
  size_t at = kHeaderSize;
  for (unsigned i = 0; i < question_count; ++i) {
    long name_length = expand_name(reply, length, at, nullptr);
    if (name_length < 0 || length - at < static_cast<size_t>(name_length) + 4) return cnames;
    at += static_cast<size_t>(name_length) + 4;  // name, type, class
  }
  for (unsigned i = 0; i < answer_count; ++i) {
    long name_length = expand_name(reply, length, at, nullptr);
    if (name_length < 0 || length - at < static_cast<size_t>(name_length) + 10) return cnames;
    at += static_cast<size_t>(name_length);
    const uint16_t type = read_u16(reply + at);
    const uint16_t rr_class = read_u16(reply + at + 2);
    const uint32_t ttl = read_u32(reply + at + 4);
    const uint16_t data_length = read_u16(reply + at + 8);
    at += 10;
    if (length - at < data_length) return cnames;
    if (type == kTypeCname && rr_class == kClassIn) {
      std::string target;
      long target_length = expand_name(reply, length, at, &target);
      if (target_length < 0 || target_length > data_length) return cnames;
      cnames.push_back({"CNAME", target, sane_ttl(ttl)});
    }
    at += data_length;
  }
  return cnames;
}

// Addresses of the queried type, by c-ares (which follows the CNAME chain from the question's name).
// Returns the c-ares status; ARES_ENODATA and an empty list both mean "no address records".
int addresses_in(const uint8_t* reply, size_t length, bool ipv6, std::vector<DnsAnswer>& answers) {
  char text[INET6_ADDRSTRLEN];
  int count = kMaxAddresses;
  if (ipv6) {
    ares_addr6ttl found[kMaxAddresses];
    int status = ares_parse_aaaa_reply(reply, static_cast<int>(length), nullptr, found, &count);
    if (status != ARES_SUCCESS && status != ARES_ENODATA) return status;
    for (int i = 0; i < count && i < kMaxAddresses; ++i) {
      if (inet_ntop(AF_INET6, &found[i].ip6addr, text, sizeof text))
        answers.push_back({"AAAA", text, sane_ttl(found[i].ttl)});
    }
    return status;
  }
  ares_addrttl found[kMaxAddresses];
  int status = ares_parse_a_reply(reply, static_cast<int>(length), nullptr, found, &count);
  if (status != ARES_SUCCESS && status != ARES_ENODATA) return status;
  for (int i = 0; i < count && i < kMaxAddresses; ++i) {
    if (inet_ntop(AF_INET, &found[i].ipaddr, text, sizeof text))
      answers.push_back({"A", text, sane_ttl(found[i].ttl)});
  }
  return status;
}

bool parse_port(const std::string& text, uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return true;
}

std::optional<ResolverAddress> parse_ip(const std::string& text, int family) {
  unsigned char buffer[sizeof(in6_addr)];
  char canonical[INET6_ADDRSTRLEN];
  if (inet_pton(family, text.c_str(), buffer) != 1) return std::nullopt;
  if (!inet_ntop(family, buffer, canonical, sizeof canonical)) return std::nullopt;
  ResolverAddress out;
  out.ip = canonical;
  out.family = family;
  return out;
}

}  // namespace

std::string dns_rcode_name(int rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    case 6: return "YXDOMAIN";
    case 7: return "YXRRSET";
    case 8: return "NXRRSET";
    case 9: return "NOTAUTH";
    case 10: return "NOTZONE";
    default: return "RCODE" + std::to_string(rcode);
  }
}

void parse_dns_reply(const uint8_t* reply, size_t length, DnsQuery& query) {
  query.answers.clear();
  query.rcode.clear();
  if (reply == nullptr || length < kHeaderSize || length > 65535) {
    query.failure = core::failure::dns_error;
    return;
  }
  const int rcode = reply[3] & 0x0F;
  query.rcode = dns_rcode_name(rcode);
  query.answers = cnames_in(reply, length);
  switch (rcode) {
    case 0: break;
    case 2: query.failure = core::failure::dns_servfail; return;
    case 3: query.failure = core::failure::dns_nxdomain; return;
    case 5: query.failure = core::failure::dns_refused; return;
    default: query.failure = core::failure::dns_error; return;  // FORMERR, NOTIMP, ...: not an answer
  }
  const size_t before = query.answers.size();
  const int status = addresses_in(reply, length, query.query_type == "AAAA", query.answers);
  if (status != ARES_SUCCESS && status != ARES_ENODATA) {
    query.failure = core::failure::dns_error;  // malformed reply
  } else if (query.answers.size() == before) {
    query.failure = core::failure::dns_no_answer;
  } else {
    query.failure.clear();
  }
}

std::optional<DnsReplyQuestion> dns_reply_question(const uint8_t* reply, size_t length) {
  if (reply == nullptr || length < kHeaderSize || length > 65535) return std::nullopt;
  if ((reply[2] & 0x80) == 0 || read_u16(reply + 4) != 1) return std::nullopt;  // QR, one question
  DnsReplyQuestion out;
  out.id = read_u16(reply);
  const long name_length = expand_name(reply, length, kHeaderSize, &out.name);
  if (name_length < 0 || length - kHeaderSize < static_cast<size_t>(name_length) + 4) return std::nullopt;
  ascii::lower_in_place(out.name);
  if (!out.name.empty() && out.name.back() == '.') out.name.pop_back();
  const uint8_t* fixed = reply + kHeaderSize + name_length;
  out.type = read_u16(fixed);
  out.dns_class = read_u16(fixed + 2);
  return out;
}

bool same_dns_reply(const DnsQuery& a, const DnsQuery& b) {
  if (a.rcode != b.rcode || a.failure != b.failure) return false;
  auto records = [](const DnsQuery& q) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const DnsAnswer& answer : q.answers) out.emplace_back(answer.type, answer.value);
    std::sort(out.begin(), out.end());
    return out;
  };
  return records(a) == records(b);
}

std::optional<ResolverAddress> parse_resolver(const std::string& text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    auto out = parse_ip(text.substr(1, close - 1), AF_INET6);
    if (!out) return std::nullopt;
    const std::string rest = text.substr(close + 1);
    if (rest.empty()) return out;
    if (rest.front() != ':' || !parse_port(rest.substr(1), out->port)) return std::nullopt;
    return out;
  }
  if (auto v6 = parse_ip(text, AF_INET6)) return v6;
  const size_t colon = text.find(':');
  auto out = parse_ip(text.substr(0, colon), AF_INET);
  if (!out) return std::nullopt;
  if (colon != std::string::npos && !parse_port(text.substr(colon + 1), out->port)) return std::nullopt;
  return out;
}

std::string format_resolver(const ResolverAddress& resolver) {
  if (resolver.family == AF_INET6) return "[" + resolver.ip + "]:" + std::to_string(resolver.port);
  return resolver.ip + ":" + std::to_string(resolver.port);
}

}  // namespace kuzet::measure::dns
