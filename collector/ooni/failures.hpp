#pragma once
// Kuzet's failure vocabulary (core/vocabulary/failure.hpp) <-> OONI's failure strings (ooni/spec df-007-errors).
// The mapping is lossy both ways; docs/ooni.md has the table and says where.
#include <string>
#include <string_view>

namespace kuzet::ooni {

// Kuzet failure -> OONI failure string; "" (success) -> "" (the caller writes null).
std::string to_ooni_failure(std::string_view kuzet_failure);

// Which step a failure happened in decides the Kuzet name (OONI's "connection_reset" is tcp.reset during
// connect, tls.reset during the handshake, http.reset during the exchange).
enum class Step { dns, tcp, tls, http };

// OONI failure string -> Kuzet failure for that step; "" for null/empty.
std::string from_ooni_failure(std::string_view ooni_failure, Step step);

// True for OONI's certificate-verification failures (ssl_unknown_authority, ssl_invalid_hostname,
// ssl_invalid_certificate): Kuzet records those as verify_failure of a completed handshake.
bool is_ooni_verify_failure(std::string_view ooni_failure);

}  // namespace kuzet::ooni
