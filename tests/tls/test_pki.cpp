#include "tests/tls/test_pki.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "core/crypto/crypto.hpp"

namespace kuzet::test_tls {

namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(X509_NAME* p) const { X509_NAME_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

[[noreturn]] void fail(const std::string& what) {
  char buf[256] = "";
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error("test PKI: " + what + ": " + buf);
}

Ptr<EVP_PKEY> generate_key(KeyKind kind) {
  Ptr<EVP_PKEY> key;
  if (kind == KeyKind::ec_p256) {
    key.reset(EVP_EC_gen("P-256"));
    if (!key) fail("EC key generation");
    return key;
  }
  Ptr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) != 1) {
    fail("RSA key setup");
  }
  if (kind == KeyKind::rsa2048_e3) {
    Ptr<BIGNUM> e(BN_new());
    if (!e || BN_set_word(e.get(), 3) != 1 || EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) != 1) {
      fail("RSA exponent 3");
    }
  }
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_keygen(ctx.get(), &raw) != 1) fail("RSA key generation");
  key.reset(raw);
  return key;
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len > 0 ? len : 0));
}

std::string cert_to_pem(X509* cert) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail("PEM export");
  return bio_string(bio.get());
}

std::string key_to_pem(EVP_PKEY* key) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("key PEM export");
  }
  return bio_string(bio.get());
}

Ptr<X509> cert_from_pem(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Ptr<X509> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) fail("certificate PEM import");
  return cert;
}

Ptr<EVP_PKEY> key_from_pem(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Ptr<EVP_PKEY> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) fail("key PEM import");
  return key;
}

Ptr<X509_NAME> parse_subject(const std::string& subject) {
  Ptr<X509_NAME> name(X509_NAME_new());
  if (!name) fail("name");
  auto add = [&](const std::string& field, const std::string& value) {
    if (X509_NAME_add_entry_by_txt(name.get(), field.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) != 1) {
      fail("subject field " + field);
    }
  };
  if (subject.empty() || subject[0] != '/') {
    add("CN", subject);
    return name;
  }
  size_t pos = 1;
  while (pos < subject.size()) {
    size_t end = subject.find('/', pos);
    if (end == std::string::npos) end = subject.size();
    const std::string part = subject.substr(pos, end - pos);
    const size_t eq = part.find('=');
    if (eq == std::string::npos || eq == 0) throw std::runtime_error("test PKI: bad subject " + subject);
    add(part.substr(0, eq), part.substr(eq + 1));
    pos = end + 1;
  }
  return name;
}

void set_time(ASN1_TIME* field, Clock::time_point t) {
  if (!ASN1_TIME_set(field, Clock::to_time_t(t))) fail("validity");
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) fail("extension " + value);
}

// A certificate skeleton: version 3, random serial, subject, validity and public key.
Ptr<X509> new_certificate(X509_NAME* subject, EVP_PKEY* key, Clock::time_point not_before,
                          Clock::time_point not_after) {
  Ptr<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("certificate");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("serial");
  serial[0] &= 0x7f;  // positive
  Ptr<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) fail("serial");
  if (X509_set_subject_name(cert.get(), subject) != 1 || X509_set_pubkey(cert.get(), key) != 1) fail("subject/key");
  set_time(X509_getm_notBefore(cert.get()), not_before);
  set_time(X509_getm_notAfter(cert.get()), not_after);
  return cert;
}

void sign(X509* cert, X509* issuer_cert, EVP_PKEY* issuer_key) {
  if (X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert)) != 1) fail("issuer");
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) fail("signature");
}

Issued make_ca(const Issued* issuer, const std::string& subject, KeyKind kind, Clock::time_point not_before,
               Clock::time_point not_after, bool intermediate) {
  auto key = generate_key(kind);
  auto name = parse_subject(subject);
  auto cert = new_certificate(name.get(), key.get(), not_before, not_after);
  Ptr<X509> issuer_cert;
  Ptr<EVP_PKEY> issuer_key;
  if (issuer) {
    issuer_cert = cert_from_pem(issuer->cert_pem);
    issuer_key = key_from_pem(issuer->key_pem);
  }
  X509* signer_cert = issuer ? issuer_cert.get() : cert.get();
  EVP_PKEY* signer_key = issuer ? issuer_key.get() : key.get();
  add_extension(cert.get(), signer_cert, NID_basic_constraints, intermediate ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE");
  add_extension(cert.get(), signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), signer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_extension(cert.get(), signer_cert, NID_authority_key_identifier, "keyid:always");
  sign(cert.get(), signer_cert, signer_key);
  return Issued{cert_to_pem(cert.get()), key_to_pem(key.get())};
}

std::string san_value(const std::vector<std::string>& dns_names, const std::vector<std::string>& ips) {
  std::string san;
  for (const auto& n : dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + n;
  for (const auto& ip : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  return san;
}

}  // namespace

std::string Issued::der() const {
  auto cert = cert_from_pem(cert_pem);
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  if (len <= 0) fail("DER export");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string Issued::sha256() const { return core::sha256_hex(der()); }

std::string Issued::spki_sha256() const {
  auto cert = cert_from_pem(cert_pem);
  unsigned char* spki = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert.get()), &spki);
  if (len <= 0) fail("SPKI export");
  auto digest = core::sha256_raw(std::string_view(reinterpret_cast<char*>(spki), static_cast<size_t>(len)));
  OPENSSL_free(spki);
  return core::base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Issued make_root(const std::string& subject, KeyKind key) {
  return make_ca(nullptr, subject, key, Clock::now() - std::chrono::hours(24),
                 Clock::now() + std::chrono::hours(24 * 365 * 10), false);
}

Issued make_intermediate(const Issued& issuer, const std::string& subject, KeyKind key) {
  return make_ca(&issuer, subject, key, Clock::now() - std::chrono::hours(24),
                 Clock::now() + std::chrono::hours(24 * 365 * 5), true);
}

Issued make_leaf(const Issued& issuer, const LeafOptions& options) {
  if (options.dns_names.empty() && options.ip_addresses.empty() && options.subject.empty()) {
    throw std::runtime_error("test PKI: a leaf needs a subject, a DNS name or an IP address");
  }
  auto key = generate_key(options.key);
  const std::string subject = !options.subject.empty()       ? options.subject
                              : !options.dns_names.empty() ? options.dns_names.front()
                                                           : options.ip_addresses.front();
  auto name = parse_subject(subject);
  auto cert = new_certificate(name.get(), key.get(), options.not_before, options.not_after);
  auto issuer_cert = cert_from_pem(issuer.cert_pem);
  auto issuer_key = key_from_pem(issuer.key_pem);
  add_extension(cert.get(), issuer_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), issuer_cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
  add_extension(cert.get(), issuer_cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), issuer_cert.get(), NID_authority_key_identifier, "keyid:always");
  const std::string san = san_value(options.dns_names, options.ip_addresses);
  if (!san.empty()) add_extension(cert.get(), issuer_cert.get(), NID_subject_alt_name, san);
  sign(cert.get(), issuer_cert.get(), issuer_key.get());
  return Issued{cert_to_pem(cert.get()), key_to_pem(key.get())};
}

Issued make_leaf(const Issued& issuer, const std::vector<std::string>& dns_names, Clock::time_point not_before,
                 Clock::time_point not_after) {
  LeafOptions options;
  options.dns_names = dns_names;
  options.not_before = not_before;
  options.not_after = not_after;
  return make_leaf(issuer, options);
}

InterceptionCa make_interception_ca() {
  // 2016-02-02T00:00:00Z .. 2046-02-02T00:00:00Z, as the real Qaznet root.
  const auto not_before = Clock::from_time_t(1454371200);
  const auto not_after = Clock::from_time_t(2401142400);
  InterceptionCa ca;
  ca.root = make_ca(nullptr, "/C=KZ/CN=Qaznet Trust Network", KeyKind::rsa2048, not_before, not_after, false);
  ca.intermediate = make_ca(&ca.root, "/C=KZ/CN=Security Certificate", KeyKind::rsa2048,
                            Clock::now() - std::chrono::hours(24 * 30), Clock::now() + std::chrono::hours(24 * 365),
                            true);
  return ca;
}

Issued forge_leaf(const InterceptionCa& ca, const Issued& real_leaf) {
  auto real = cert_from_pem(real_leaf.cert_pem);
  auto key = generate_key(KeyKind::rsa2048_e3);
  auto shift = [](const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) fail("real leaf validity");
    return Clock::from_time_t(timegm(&tm)) - std::chrono::hours(1);
  };
  auto cert = new_certificate(X509_get_subject_name(real.get()), key.get(), shift(X509_get0_notBefore(real.get())),
                              shift(X509_get0_notAfter(real.get())));
  // Only the subjectAltName survives; the middlebox stripped every other extension.
  const int san_index = X509_get_ext_by_NID(real.get(), NID_subject_alt_name, -1);
  if (san_index >= 0 && X509_add_ext(cert.get(), X509_get_ext(real.get(), san_index), -1) != 1) fail("copy SAN");
  auto issuer_cert = cert_from_pem(ca.intermediate.cert_pem);
  auto issuer_key = key_from_pem(ca.intermediate.key_pem);
  sign(cert.get(), issuer_cert.get(), issuer_key.get());
  return Issued{cert_to_pem(cert.get()), key_to_pem(key.get())};
}

std::string pem_bundle(const std::vector<Issued>& certificates) {
  std::string out;
  for (const auto& c : certificates) out += c.cert_pem;
  return out;
}

void write_bundle(const std::string& path, const std::vector<Issued>& certificates) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << pem_bundle(certificates);
  out.close();
  if (!out) throw std::runtime_error("test PKI: cannot write " + path);
}

}  // namespace kuzet::test_tls
