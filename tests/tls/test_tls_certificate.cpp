// describe_certificate_der, TrustStore::load and the test PKI itself (no sockets).
#include <doctest/doctest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "core/crypto/crypto.hpp"
#include "measure/observations_json.hpp"
#include "measure/tls.hpp"
#include "tests/tls/test_pki.hpp"

using namespace kuzet;
using test_tls::Clock;

namespace {

// SHA-256 of a PEM certificate computed from its base64 body: independent of the code under test.
std::string pem_body_sha256(const std::string& pem) {
  std::string b64;
  bool inside = false;
  size_t pos = 0;
  while (pos < pem.size()) {
    size_t end = pem.find('\n', pos);
    if (end == std::string::npos) end = pem.size();
    std::string line = pem.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("-----BEGIN", 0) == 0) { inside = true; continue; }
    if (line.rfind("-----END", 0) == 0) break;
    if (inside) b64 += line;
  }
  auto der = core::base64_decode(b64);
  REQUIRE(der);
  return core::sha256_hex(*der);
}

// base64 SHA-256 of the SubjectPublicKeyInfo derived from the private key (not from the certificate).
std::string spki_from_private_key(const std::string& key_pem) {
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(key);
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(key, &der);
  EVP_PKEY_free(key);
  REQUIRE(len > 0);
  auto digest = core::sha256_raw(std::string_view(reinterpret_cast<char*>(der), static_cast<size_t>(len)));
  OPENSSL_free(der);
  return core::base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("kuzet-tls-" + core::random_hex(6) + "-" + name)).string();
}

}  // namespace

TEST_CASE("describe_certificate_der records fingerprints, names, validity and key of a leaf") {
  auto root = test_tls::make_root("Kuzet Test Root");
  const auto not_before = Clock::from_time_t(1700000000);  // 2023-11-14T22:13:20Z
  const auto not_after = Clock::from_time_t(1893456000);   // 2030-01-01T00:00:00Z
  auto leaf = test_tls::make_leaf(root, {"example.kz", "www.example.kz"}, not_before, not_after);

  auto info = measure::describe_certificate_der(leaf.der());
  CHECK(info.sha256 == pem_body_sha256(leaf.cert_pem));
  CHECK(info.sha256 == leaf.sha256());
  CHECK(info.spki_sha256 == spki_from_private_key(leaf.key_pem));
  CHECK(info.spki_sha256 == leaf.spki_sha256());
  CHECK(info.subject == "CN=example.kz");
  CHECK(info.issuer == "CN=Kuzet Test Root");
  CHECK(info.not_before == "2023-11-14T22:13:20Z");
  CHECK(info.not_after == "2030-01-01T00:00:00Z");
  CHECK(info.dns_names == std::vector<std::string>{"example.kz", "www.example.kz"});
  CHECK(info.key_type == "EC");
  CHECK(info.key_bits == 256);
  CHECK_FALSE(info.self_signed);
  REQUIRE_FALSE(info.serial.empty());
  CHECK(info.serial.find_first_not_of("0123456789abcdef") == std::string::npos);

  auto root_info = measure::describe_certificate_der(root.der());
  CHECK(root_info.self_signed);
  CHECK(root_info.subject == root_info.issuer);
  CHECK(root_info.dns_names.empty());
  CHECK(root_info.serial != info.serial);
}

TEST_CASE("the interception CA and forged leaf look like the 2019 Kazakh ones") {
  auto public_root = test_tls::make_root("Kuzet Test Public Root");
  test_tls::LeafOptions real_options;
  real_options.subject = "/C=US/ST=California/L=Menlo Park/O=Meta Platforms, Inc./CN=*.facebook.com";
  real_options.dns_names = {"*.facebook.com", "facebook.com", "*.fbcdn.net"};
  auto real = test_tls::make_leaf(public_root, real_options);
  auto ca = test_tls::make_interception_ca();
  auto forged = test_tls::forge_leaf(ca, real);

  auto root = measure::describe_certificate_der(ca.root.der());
  CHECK(root.subject == "CN=Qaznet Trust Network,C=KZ");
  CHECK(root.self_signed);
  CHECK(root.not_before == "2016-02-02T00:00:00Z");
  CHECK(root.not_after == "2046-02-02T00:00:00Z");
  CHECK(root.key_type == "RSA");
  auto intermediate = measure::describe_certificate_der(ca.intermediate.der());
  CHECK(intermediate.subject == "CN=Security Certificate,C=KZ");
  CHECK(intermediate.issuer == "CN=Qaznet Trust Network,C=KZ");
  CHECK(intermediate.key_bits == 2048);

  auto real_info = measure::describe_certificate_der(real.der());
  auto forged_info = measure::describe_certificate_der(forged.der());
  CHECK(real_info.subject == "CN=*.facebook.com,O=Meta Platforms\\, Inc.,L=Menlo Park,ST=California,C=US");
  CHECK(forged_info.subject == real_info.subject);
  CHECK(forged_info.dns_names == real_info.dns_names);
  CHECK(forged_info.issuer == "CN=Security Certificate,C=KZ");
  CHECK(forged_info.key_type == "RSA");
  CHECK(forged_info.key_bits == 2048);
  CHECK(forged_info.spki_sha256 != real_info.spki_sha256);
  CHECK(forged_info.sha256 != real_info.sha256);
  CHECK(forged_info.not_after < real_info.not_after);  // shifted earlier

  // Exponent 3 and only the subjectAltName extension, checked on the certificate itself.
  BIO* bio = BIO_new_mem_buf(forged.cert_pem.data(), static_cast<int>(forged.cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  REQUIRE(cert);
  CHECK(X509_get_ext_count(cert) == 1);
  BIGNUM* e = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(X509_get0_pubkey(cert), OSSL_PKEY_PARAM_RSA_E, &e) == 1);
  CHECK(BN_is_word(e, 3));
  BN_free(e);
  X509_free(cert);
}

TEST_CASE("describe_certificate_der on bytes that are not a certificate") {
  auto root = test_tls::make_root("Kuzet Test Root");
  const std::string der = root.der();
  for (const std::string& bytes : {std::string(), std::string("not a certificate"), der.substr(0, der.size() / 2),
                                   std::string("\x30\x82\xff\xff", 4)}) {
    auto info = measure::describe_certificate_der(bytes);
    CHECK(info.sha256 == core::sha256_hex(bytes));
    CHECK(info.subject.empty());
    CHECK(info.key_type.empty());
  }
}

TEST_CASE("hostile certificate strings come out printable and JSON-safe") {
  auto root = test_tls::make_root("Kuzet Test Root");
  test_tls::LeafOptions options;
  options.subject = "/O=\xd0\x9a\xd0\xb0\xd0\xb7\xd0\xb0\xd2\x9b/CN=example.kz";  // Cyrillic "Kazaq"
  options.dns_names = {"example.kz"};
  auto leaf = test_tls::make_leaf(root, options);
  auto info = measure::describe_certificate_der(leaf.der());
  CHECK(info.subject.find("CN=example.kz") == 0);
  for (char c : info.subject) CHECK((c >= 0x20 && c < 0x7f));
  nlohmann::json j = info;
  CHECK_NOTHROW((void)j.dump());
}

TEST_CASE("TrustStore::load") {
  SUBCASE("the system store loads without touching the network") {
    auto trust = measure::TrustStore::load("");
    REQUIRE(trust);
    CHECK(trust->store() != nullptr);
    CHECK(trust->source() == "system");
  }
  SUBCASE("a PEM bundle") {
    const auto path = temp_path("bundle.pem");
    test_tls::write_bundle(path, {test_tls::make_root("Root A"), test_tls::make_root("Root B")});
    auto trust = measure::TrustStore::load(path);
    CHECK(trust->source() == path);
    CHECK(trust->store() != nullptr);
    std::filesystem::remove(path);
  }
  SUBCASE("a missing file is a startup error naming the file") {
    const auto path = temp_path("missing.pem");
    try {
      measure::TrustStore::load(path);
      FAIL("no exception");
    } catch (const std::runtime_error& e) {
      CHECK(std::string(e.what()).find(path) != std::string::npos);
      CHECK(std::string(e.what()).find("no such file") != std::string::npos);
    }
  }
  SUBCASE("a file without certificates is a startup error") {
    const auto path = temp_path("empty.pem");
    std::ofstream(path) << "this is not PEM\n";
    CHECK_THROWS_WITH_AS(measure::TrustStore::load(path),
                         doctest::Contains("contains no PEM certificate"), std::runtime_error);
    const auto key_only = temp_path("key.pem");
    std::ofstream(key_only) << test_tls::make_root("Root").key_pem;
    CHECK_THROWS_AS(measure::TrustStore::load(key_only), std::runtime_error);
    std::filesystem::remove(path);
    std::filesystem::remove(key_only);
  }
  SUBCASE("a directory is not a bundle") {
    CHECK_THROWS_AS(measure::TrustStore::load(std::filesystem::temp_directory_path().string()), std::runtime_error);
  }
}

TEST_CASE("TrustStore::load_public: a file, or a directory of PEM certificates as Debian ships Mozilla's set") {
  const auto dir = temp_path("public-dir");
  std::filesystem::create_directories(dir);
  test_tls::write_bundle(dir + "/Root_A.crt", {test_tls::make_root("Root A")});
  test_tls::write_bundle(dir + "/Root_B.crt", {test_tls::make_root("Root B")});
  std::ofstream(dir + "/README") << "not a certificate\n";  // skipped
  auto trust = measure::TrustStore::load_public(dir);
  CHECK(trust->source() == dir);
  CHECK(trust->certificates() == 2);
  // A single bundle file works as with load().
  CHECK(measure::TrustStore::load_public(dir + "/Root_A.crt")->source() == dir + "/Root_A.crt");
  // A directory with no certificate is a startup error.
  const auto empty = temp_path("public-empty");
  std::filesystem::create_directories(empty);
  std::ofstream(empty + "/x.crt") << "nothing\n";
  CHECK_THROWS_WITH_AS(measure::TrustStore::load_public(empty), doctest::Contains("contains no PEM certificate"),
                       std::runtime_error);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(empty);
}

TEST_CASE("binary bytes in a dNSName are escaped, not passed on") {
  // Committed fuzz seed: an Ed25519 certificate whose first SAN name starts with the bytes ff 00.
  std::ifstream in(std::string(KUZET_TLS_CORPUS_DIR) + "/san-binary-byte.der", std::ios::binary);
  REQUIRE(in);
  const std::string der((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto info = measure::describe_certificate_der(der);
  CHECK(info.key_type == "ED25519");
  REQUIRE(info.dns_names.size() == 1);
  CHECK(info.dns_names[0] == "\\xff\\x00ample.kz");
  nlohmann::json j = info;
  CHECK_NOTHROW((void)j.dump());
}
