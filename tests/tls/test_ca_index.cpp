// Trust stores that decode a bundle's certificates only when a chain asks for their subject
// (measure/ca_index.hpp): chains verify as with OpenSSL's eager loader, and only the issuers asked for are
// decoded.
#include <doctest/doctest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>

#include "core/crypto/crypto.hpp"
#include "measure/ca_index.hpp"
#include "measure/tls.hpp"
#include "tests/tls/test_pki.hpp"

using namespace kuzet;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("kuzet-ca-index-" + core::random_hex(6) + "-" + name)).string();
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr decode(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

// X509_verify_cert's error for `leaf` against the store (X509_V_OK when it verifies).
int verify(const measure::TrustStore& trust, const test_tls::Issued& leaf) {
  X509Ptr cert = decode(leaf.der());
  REQUIRE(cert);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  REQUIRE(X509_STORE_CTX_init(ctx, trust.store(), cert.get(), nullptr) == 1);
  const int ok = X509_verify_cert(ctx);
  const int error = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  return ok == 1 ? X509_V_OK : (error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error);
}

int decoded_in_store(const measure::TrustStore& trust) {
  return sk_X509_OBJECT_num(X509_STORE_get0_objects(trust.store()));
}

// The same certificate with its outer SEQUENCE in BER's indefinite-length form, which d2i_X509 accepts.
std::string indefinite_length(const std::string& der) {
  REQUIRE(der.size() > 4);
  const auto first = static_cast<unsigned char>(der[1]);
  const size_t header = (first & 0x80) ? 2 + (first & 0x7f) : 2;
  return std::string("\x30\x80", 2) + der.substr(header) + std::string(2, '\0');
}

std::string pem_certificate(const std::string& der) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio(bio, "CERTIFICATE", "", reinterpret_cast<const unsigned char*>(der.data()),
                static_cast<long>(der.size()));
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

}  // namespace

TEST_CASE("certificate_subject reads the subject without decoding the certificate") {
  const auto root = test_tls::make_root("Kuzet Index Root");
  const auto leaf = test_tls::make_leaf(root, {"example.kz"});
  for (const auto* issued : {&root, &leaf}) {
    X509_NAME* subject = measure::certificate_subject(issued->der());
    REQUIRE(subject != nullptr);
    X509Ptr cert = decode(issued->der());
    CHECK(X509_NAME_cmp(subject, X509_get_subject_name(cert.get())) == 0);
    X509_NAME_free(subject);
  }
  SUBCASE("bytes that are not a DER certificate give no subject") {
    const std::string der = leaf.der();
    CHECK(measure::certificate_subject("") == nullptr);
    CHECK(measure::certificate_subject("not a certificate") == nullptr);
    CHECK(measure::certificate_subject(der.substr(0, der.size() / 3)) == nullptr);  // cut inside the TBS
    CHECK(measure::certificate_subject(indefinite_length(der)) == nullptr);
    CHECK(ERR_peek_error() == 0);  // nothing left queued for the caller's next OpenSSL call
  }
}

TEST_CASE("a bundle's certificates are decoded when a chain asks for their subject") {
  const auto a = test_tls::make_root("Root A"), b = test_tls::make_root("Root B"), c = test_tls::make_root("Root C");
  const auto path = temp_path("bundle.pem");
  test_tls::write_bundle(path, {a, b, c});
  auto trust = measure::TrustStore::load(path);
  CHECK(trust->certificates() == 3);
  CHECK(decoded_in_store(*trust) == 0);

  CHECK(verify(*trust, test_tls::make_leaf(b, {"b.example"})) == X509_V_OK);
  CHECK(decoded_in_store(*trust) == 1);  // Root B only
  CHECK(verify(*trust, test_tls::make_leaf(b, {"b2.example"})) == X509_V_OK);
  CHECK(decoded_in_store(*trust) == 1);
  CHECK(verify(*trust, test_tls::make_leaf(test_tls::make_root("Root D"), {"d.example"})) ==
        X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
  CHECK(decoded_in_store(*trust) == 1);
  // A leaf that claims Root A's name but is signed by another key: the name matches, the signature does not.
  CHECK(verify(*trust, test_tls::make_leaf(test_tls::make_root("Root A"), {"forged.example"})) != X509_V_OK);
  CHECK(decoded_in_store(*trust) == 2);
  std::filesystem::remove(path);
}

TEST_CASE("roots that share a subject are all found (a re-keyed or cross-signed root)") {
  const auto old_key = test_tls::make_root("Same Name Root"), new_key = test_tls::make_root("Same Name Root");
  const auto path = temp_path("same-name.pem");
  test_tls::write_bundle(path, {old_key, new_key});
  auto trust = measure::TrustStore::load(path);
  CHECK(verify(*trust, test_tls::make_leaf(new_key, {"new.example"})) == X509_V_OK);
  CHECK(verify(*trust, test_tls::make_leaf(old_key, {"old.example"})) == X509_V_OK);
  CHECK(decoded_in_store(*trust) == 2);
  std::filesystem::remove(path);
}

TEST_CASE("a certificate OpenSSL reads but that is not DER is decoded at load, as before") {
  const auto root = test_tls::make_root("BER Root");
  const auto path = temp_path("ber.pem");
  std::ofstream(path) << pem_certificate(indefinite_length(root.der()));
  auto trust = measure::TrustStore::load(path);
  CHECK(trust->certificates() == 1);
  CHECK(decoded_in_store(*trust) == 1);
  CHECK(verify(*trust, test_tls::make_leaf(root, {"ber.example"})) == X509_V_OK);
  std::filesystem::remove(path);
}

TEST_CASE("trusted-certificate and CRL blocks make the file load the eager way") {
  const auto root = test_tls::make_root("Aux Root");
  X509Ptr cert = decode(root.der());
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(PEM_write_bio_X509_AUX(bio, cert.get()) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  const auto path = temp_path("aux.pem");
  std::ofstream(path) << std::string(data, static_cast<size_t>(len));
  BIO_free(bio);
  auto trust = measure::TrustStore::load(path);
  CHECK(trust->certificates() == 1);
  CHECK(decoded_in_store(*trust) == 1);
  CHECK(verify(*trust, test_tls::make_leaf(root, {"aux.example"})) == X509_V_OK);
  std::filesystem::remove(path);
}

TEST_CASE("the system store reads its default file (SSL_CERT_FILE) lazily and its directory (SSL_CERT_DIR)") {
  const auto in_file = test_tls::make_root("File Root"), in_dir = test_tls::make_root("Dir Root");
  const auto file = temp_path("system.pem");
  test_tls::write_bundle(file, {in_file});
  const auto dir = temp_path("certs");
  std::filesystem::create_directories(dir);
  {  // a hashed directory as c_rehash makes it: <subject hash>.0
    X509Ptr cert = decode(in_dir.der());
    char name[16];
    const unsigned long hash = X509_NAME_hash_ex(X509_get_subject_name(cert.get()), nullptr, nullptr, nullptr);
    std::snprintf(name, sizeof name, "%08lx.0", hash);
    test_tls::write_bundle(dir + "/" + name, {in_dir});
  }
  const char* old_file = std::getenv("SSL_CERT_FILE");
  const char* old_dir = std::getenv("SSL_CERT_DIR");
  const std::string saved_file = old_file ? old_file : "", saved_dir = old_dir ? old_dir : "";
  setenv("SSL_CERT_FILE", file.c_str(), 1);
  setenv("SSL_CERT_DIR", dir.c_str(), 1);
  auto trust = measure::TrustStore::load("");
  CHECK(trust->source() == "system");
  CHECK(trust->certificates() == 1);
  CHECK(decoded_in_store(*trust) == 0);
  CHECK(verify(*trust, test_tls::make_leaf(in_file, {"file.example"})) == X509_V_OK);
  CHECK(verify(*trust, test_tls::make_leaf(in_dir, {"dir.example"})) == X509_V_OK);
  CHECK(verify(*trust, test_tls::make_leaf(test_tls::make_root("Elsewhere Root"), {"x.example"})) != X509_V_OK);
  if (old_file) setenv("SSL_CERT_FILE", saved_file.c_str(), 1); else unsetenv("SSL_CERT_FILE");
  if (old_dir) setenv("SSL_CERT_DIR", saved_dir.c_str(), 1); else unsetenv("SSL_CERT_DIR");
  std::filesystem::remove(file);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a bundle larger than the cap is a startup error, not a partial store") {
  const auto path = temp_path("huge.pem");
  {
    std::ofstream out(path);
    out << test_tls::pem_bundle({test_tls::make_root("Huge Root")});
    out << std::string(measure::TrustStore::kMaxBundleBytes, '#');
  }
  CHECK_THROWS_WITH_AS(measure::TrustStore::load(path), doctest::Contains("larger than 16 MiB"), std::runtime_error);
  std::filesystem::remove(path);
}
