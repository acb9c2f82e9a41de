#pragma once
// The I/O half of address redaction (redact.hpp): which addresses are this machine's own.
#include <string>
#include <vector>

namespace kuzet::probe::privacy {

// Addresses of the local interfaces (getifaddrs), IPv4 and IPv6, loopback excluded (127.0.0.0/8 and ::1
// identify nobody, and pages legitimately mention them); link-local kept (fe80:: may embed the MAC).
// Empty when the interfaces cannot be read.
std::vector<std::string> interface_addresses();

}  // namespace kuzet::probe::privacy
