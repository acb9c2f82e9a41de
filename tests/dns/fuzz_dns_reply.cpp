// Fuzzes reply bytes -> DnsQuery (our answer walker and the c-ares A/AAAA parsers behind it), and the
// question reader Hold-On uses to match late replies.
#include <cstddef>
#include <cstdint>

#include "measure/dns/dns_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* type : {"A", "AAAA"}) {
    kuzet::measure::DnsQuery query;
    query.query_type = type;
    kuzet::measure::dns::parse_dns_reply(data, size, query);
    // A success always carries an address; a failure is one of the DNS failure strings.
    if (query.failure.empty() && query.answers.empty()) __builtin_trap();
    if (!query.failure.empty() && query.failure.rfind("dns.", 0) != 0) __builtin_trap();
    if (!kuzet::measure::dns::same_dns_reply(query, query)) __builtin_trap();
  }
  if (auto question = kuzet::measure::dns::dns_reply_question(data, size)) {
    if (size < 12 + 1 + 4 || (data[2] & 0x80) == 0) __builtin_trap();
    for (char c : question->name)
      if (c >= 'A' && c <= 'Z') __builtin_trap();
  }
  return 0;
}
