#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "measure/observations.hpp"

typedef struct x509_store_st X509_STORE;

namespace kuzet::measure {

// A trust store loaded once per run and shared (read-only) by all threads.
class TrustStore {
 public:
  // ca_bundle "" = the system's default public web PKI. Throws std::runtime_error when the file is
  // missing, larger than kMaxBundleBytes or holds no certificate (a startup error, not a measurement
  // failure). Certificates are decoded when a chain first asks for their subject (measure/ca_index.hpp).
  static std::shared_ptr<const TrustStore> load(const std::string& ca_bundle);
  static constexpr size_t kMaxBundleBytes = 16u << 20;
  // A pristine public bundle, kept apart from the local store: a PEM file, or a directory of PEM
  // certificates as Debian ships the Mozilla set (/usr/share/ca-certificates/mozilla/*.crt, which
  // update-ca-certificates never changes). Files that are not PEM certificates are skipped; at most
  // kMaxPublicBundleFiles files of at most 1 MiB. Throws std::runtime_error when nothing usable is there.
  static std::shared_ptr<const TrustStore> load_public(const std::string& path);
  static constexpr size_t kMaxPublicBundleFiles = 4096;
  static constexpr size_t kMaxPublicBundleFileBytes = 1u << 20;
  ~TrustStore();
  X509_STORE* store() const { return store_; }
  const std::string& source() const { return source_; }
  // Certificates in the bundle files (the system store's default file included; its directory not).
  size_t certificates() const { return certificates_; }
 private:
  TrustStore() = default;
  X509_STORE* store_ = nullptr;
  std::string source_;
  size_t certificates_ = 0;
};

struct TlsOptions {
  std::shared_ptr<const TrustStore> trust;  // required
  // Optional: the chain is also verified against this public bundle (TlsHandshake::public_verify_failure).
  std::shared_ptr<const TrustStore> public_trust;
  int timeout_ms = 10000;
  std::vector<std::string> alpn{"http/1.1"};
};

// TLS handshake over an already connected socket (see tcp_connect). Sends `sni` unless empty, records the
// peer chain, then verifies it against options.trust for `verify_host`. Network failures are data.
TlsHandshake tls_handshake(int fd, const std::string& address, uint16_t port, const std::string& sni,
                           const std::string& verify_host, const TlsOptions& options);

// Describes a DER certificate (fingerprints, names, validity). Used by tls_handshake and by tests.
CertificateInfo describe_certificate_der(const std::string& der);

}  // namespace kuzet::measure
