// PLACEHOLDER until the TLS step lands (issue 2).
#include "measure/tls.hpp"
#include "core/failure.hpp"
namespace kuzet::measure {
std::shared_ptr<const TrustStore> TrustStore::load(const std::string&) { return std::shared_ptr<const TrustStore>(new TrustStore()); }
TrustStore::~TrustStore() = default;
TlsHandshake tls_handshake(int, const std::string& address, uint16_t port, const std::string& sni, const std::string&, const TlsOptions&) {
  TlsHandshake t; t.address = address; t.port = port; t.sni = sni; t.failure = core::failure::tls_error; return t;
}
CertificateInfo describe_certificate_der(const std::string&) { return {}; }
}  // namespace kuzet::measure
