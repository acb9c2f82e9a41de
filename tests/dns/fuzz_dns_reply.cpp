// Fuzzes reply bytes -> DnsQuery (our answer walker and the c-ares A/AAAA parsers behind it).
#include <cstddef>
#include <cstdint>

#include "measure/dns_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  for (const char* type : {"A", "AAAA"}) {
    kuzet::measure::DnsQuery query;
    query.query_type = type;
    kuzet::measure::parse_dns_reply(data, size, query);
    // A success always carries an address; a failure is one of the DNS failure strings.
    if (query.failure.empty() && query.answers.empty()) __builtin_trap();
    if (!query.failure.empty() && query.failure.rfind("dns.", 0) != 0) __builtin_trap();
  }
  return 0;
}
