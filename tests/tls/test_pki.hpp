#pragma once
// A test PKI generated in memory at test time (library kuzet_test_pki). Roots, intermediates and leaves for
// loopback TLS servers, plus the Kazakh-style interception chain of the field notes (Qaznet Trust Network ->
// Security Certificate -> forged leaf). Keys are EC P-256 unless stated; nothing touches the network.
//
//   auto root = test_tls::make_root("Kuzet Test Public Root");
//   auto leaf = test_tls::make_leaf(root, {"example.kz"});
//   test_tls::write_bundle(dir / "ca.pem", {root});          // trust store for measure::TrustStore::load
//   options.chain = {leaf, root}; FakeTlsServer server(options);  // see fake_tls_server.hpp
//
// Errors (bad subject syntax, OpenSSL failure, unwritable path) throw std::runtime_error: tests are bugs then.
#include <chrono>
#include <string>
#include <vector>

namespace kuzet::test_tls {

using Clock = std::chrono::system_clock;

enum class KeyKind {
  ec_p256,
  rsa2048,
  rsa2048_e3,  // public exponent 3, as in the 2019 Kazakh forged leaves
};

// A certificate and its private key, both PEM. Plain values: copy them freely between threads.
struct Issued {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted

  std::string der() const;     // the certificate, DER
  std::string sha256() const;  // lower-case hex SHA-256 of der(): what CertificateInfo::sha256 records
  std::string spki_sha256() const;  // base64 SHA-256 of the SubjectPublicKeyInfo (CertificateInfo::spki_sha256)
};

// A subject is either a plain common name ("Kuzet Test Root" -> CN=Kuzet Test Root) or OpenSSL's slash
// form "/C=KZ/O=Example/CN=Qaznet Trust Network".
Issued make_root(const std::string& subject, KeyKind key = KeyKind::ec_p256);

// CA:TRUE intermediate signed by `issuer`.
Issued make_intermediate(const Issued& issuer, const std::string& subject, KeyKind key = KeyKind::ec_p256);

struct LeafOptions {
  std::vector<std::string> dns_names;     // subjectAltName dNSName entries
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress entries ("127.0.0.1")
  std::string subject;                    // default: CN=<first DNS name or IP>
  Clock::time_point not_before = Clock::now() - std::chrono::hours(1);
  Clock::time_point not_after = Clock::now() + std::chrono::hours(24 * 30);
  KeyKind key = KeyKind::ec_p256;
};

// TLS server leaf (serverAuth, digitalSignature|keyEncipherment) signed by `issuer`.
Issued make_leaf(const Issued& issuer, const LeafOptions& options);
Issued make_leaf(const Issued& issuer, const std::vector<std::string>& dns_names,
                 Clock::time_point not_before = Clock::now() - std::chrono::hours(1),
                 Clock::time_point not_after = Clock::now() + std::chrono::hours(24 * 30));

// The 2019 interception CA: root "/C=KZ/CN=Qaznet Trust Network" (validity 2016-02-02..2046-02-02) and
// intermediate "/C=KZ/CN=Security Certificate". Both RSA-2048 (the real root was RSA-4096; 2048 keeps tests
// fast). Fresh keys each call, so fingerprints differ from the real ones in the field notes.
struct InterceptionCa {
  Issued root;
  Issued intermediate;
};
InterceptionCa make_interception_ca();

// What the middlebox presented: a leaf signed by ca.intermediate that copies the real leaf's subject and
// subjectAltName (not the SNI), with a fresh RSA-2048 key with exponent 3, validity shifted one hour
// earlier than the real one, and no other extensions.
Issued forge_leaf(const InterceptionCa& ca, const Issued& real_leaf);

// Concatenated PEM certificates, in order (a chain leaf first, or a trust bundle).
std::string pem_bundle(const std::vector<Issued>& certificates);
// Writes pem_bundle(certificates) to `path` (for measure::TrustStore::load).
void write_bundle(const std::string& path, const std::vector<Issued>& certificates);

}  // namespace kuzet::test_tls
