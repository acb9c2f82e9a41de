#pragma once
// CA bundles held undecoded and indexed by subject: OpenSSL 3 spends ~0.2 ms decoding each certificate (its
// public key above all), so loading a 142-root bundle cost a one-target run ~30 ms per store before any
// measurement (bench_trust_store). A chain asks for a handful of issuers; only those are decoded.
#include <cstddef>
#include <string>
#include <string_view>

typedef struct X509_name_st X509_NAME;
typedef struct x509_store_st X509_STORE;

namespace kuzet::measure {

// The subject of a DER certificate, read with OpenSSL's bounded TLV reader without decoding the rest.
// nullptr when the bytes do not start like a DER certificate (then decode the whole certificate instead).
// The caller frees the name (X509_NAME_free).
X509_NAME* certificate_subject(std::string_view der);

// Makes the certificates of a PEM file available to `store`'s chain building, decoded on first use. A file
// with trusted-certificate (X509_AUX) or CRL blocks is loaded the usual, eager way, so that nothing is lost.
// Other blocks (keys, text) are skipped. Returns how many certificates the file holds; 0 when it cannot be
// read, is larger than max_bytes or holds none.
size_t index_pem_file(X509_STORE* store, const std::string& path, size_t max_bytes);

}  // namespace kuzet::measure
