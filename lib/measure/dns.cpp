// PLACEHOLDER until the DNS step lands (issue 2): resolves nothing.
#include "measure/dns.hpp"
#include "core/failure.hpp"
namespace kuzet::measure {
DnsObservation resolve(const std::string& hostname, const DnsOptions&) {
  DnsObservation o; o.hostname = hostname; o.failure = core::failure::dns_error; return o;
}
bool is_valid_resolver(const std::string&) { return true; }
}  // namespace kuzet::measure
