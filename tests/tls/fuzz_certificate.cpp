// describe_certificate_der takes whatever a peer presented: it must not crash, and what it returns must be
// serialisable (printable strings), since it goes straight into signed JSON results. The same bytes go to
// certificate_subject, the trust stores' index of CA bundles: when it finds a subject and OpenSSL decodes
// the certificate, both must name the same subject (else a root would be filed under the wrong name).
#include <openssl/x509.h>

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "measure/ca_index.hpp"
#include "measure/observations_json.hpp"
#include "measure/tls.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string der(reinterpret_cast<const char*>(data), size);
  const auto info = kuzet::measure::describe_certificate_der(der);
  if (info.sha256.size() != 64) std::abort();
  nlohmann::json j = info;
  (void)j.dump();  // throws (and so aborts) on invalid UTF-8

  if (X509_NAME* subject = kuzet::measure::certificate_subject(der)) {
    const unsigned char* p = data;
    if (X509* cert = d2i_X509(nullptr, &p, static_cast<long>(size))) {
      if (X509_NAME_cmp(subject, X509_get_subject_name(cert)) != 0) std::abort();
      X509_free(cert);
    }
    X509_NAME_free(subject);
  }
  return 0;
}
