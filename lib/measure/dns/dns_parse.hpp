#pragma once
// Internal to the DNS step: the pure parts of it (reply bytes -> DnsQuery, resolver strings), kept apart
// from the c-ares I/O so they can be unit-tested and fuzzed. Not part of the measure/ interface.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "measure/observations.hpp"

namespace kuzet::measure::dns {

// "NOERROR", "NXDOMAIN", ... for a header rcode; "RCODE<n>" for codes without a common name.
std::string dns_rcode_name(int rcode);

// Fills query.rcode, query.answers and query.failure from one raw reply to a query of query.query_type
// ("A" or "AAAA"). Hostile input is expected: never throws, never reads outside [reply, reply + length).
// answers: the CNAME records of the answer section in wire order, then the addresses of the queried type
// that c-ares accepts for the question's name (following its CNAME chain), with their TTLs.
void parse_dns_reply(const uint8_t* reply, size_t length, DnsQuery& query);

// The header ID and first question of a reply, for matching a late reply to the query it answers.
struct DnsReplyQuestion {
  uint16_t id = 0;
  std::string name;  // lower-case, no trailing dot
  uint16_t type = 0;
  uint16_t dns_class = 0;
  bool operator==(const DnsReplyQuestion&) const = default;
};

// nullopt unless the bytes are a response (QR set) with exactly one well-formed question. Hostile input.
std::optional<DnsReplyQuestion> dns_reply_question(const uint8_t* reply, size_t length);

// True when two parsed replies say the same thing: rcode, failure and the same answers (type, value) in
// any order. TTLs and order are ignored: a caching resolver's replies to a retried query (same ID) may
// differ in both.
bool same_dns_reply(const DnsQuery& a, const DnsQuery& b);

struct ResolverAddress {
  std::string ip;  // canonical text form (inet_ntop), no brackets
  int family = 0;  // AF_INET or AF_INET6
  uint16_t port = 53;
};

// Parses "IP", "IP:PORT", "[IPv6]" and "[IPv6]:PORT" (a bare IPv6 address has no port: "::1" is an
// address, not "::" with port 1). Port 1-65535, decimal. nullopt when anything else.
std::optional<ResolverAddress> parse_resolver(const std::string& text);

// "ip:port", with brackets for IPv6: "[::1]:53".
std::string format_resolver(const ResolverAddress& resolver);

}  // namespace kuzet::measure::dns
