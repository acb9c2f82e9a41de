#include "measure/ca_index.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "core/read_capped.hpp"

namespace kuzet::measure {

namespace {

// One TLV read with ASN1_get_object, which checks the length against what is left.
struct Tlv {
  const unsigned char* start = nullptr;    // the tag
  const unsigned char* content = nullptr;  // after the header
  long length = 0;
  int tag = 0;
  int cls = 0;
  bool constructed = false;
};

// Reads the TLV at p (before end) and moves p past it. DER only: an indefinite length is refused.
bool read_tlv(const unsigned char*& p, const unsigned char* end, Tlv& out) {
  if (p >= end) return false;
  out.start = p;
  const int flags = ASN1_get_object(&p, &out.length, &out.tag, &out.cls, end - p);
  if ((flags & 0x80) || (flags & 1)) return false;  // an error, or an indefinite length
  out.content = p;
  out.constructed = (flags & V_ASN1_CONSTRUCTED) != 0;
  p += out.length;
  return true;
}

bool is_sequence(const Tlv& t) {
  return t.cls == V_ASN1_UNIVERSAL && t.tag == V_ASN1_SEQUENCE && t.constructed;
}

// A certificate of a bundle, kept as DER until a chain asks for its subject.
struct Entry {
  X509_NAME* subject = nullptr;
  std::string der;
  X509* decoded = nullptr;  // the index's reference; the store holds its own
  bool tried = false;
};

struct SubjectIndex {
  std::mutex mutex;
  std::vector<Entry> entries;
  ~SubjectIndex() {
    for (auto& e : entries) {
      X509_NAME_free(e.subject);
      X509_free(e.decoded);
    }
  }
};

int index_new(X509_LOOKUP* lookup) {
  auto* index = new (std::nothrow) SubjectIndex();
  if (!index) return 0;
  X509_LOOKUP_set_method_data(lookup, index);
  return 1;
}

void index_free(X509_LOOKUP* lookup) {
  delete static_cast<SubjectIndex*>(X509_LOOKUP_get_method_data(lookup));
  X509_LOOKUP_set_method_data(lookup, nullptr);
}

// Decodes every certificate of the index with this subject, adds them all to the store (OpenSSL's chain
// building then finds the others of the same name there, as with its directory lookup) and returns one.
int index_by_subject(X509_LOOKUP* lookup, X509_LOOKUP_TYPE type, const X509_NAME* name, X509_OBJECT* ret) {
  auto* index = static_cast<SubjectIndex*>(X509_LOOKUP_get_method_data(lookup));
  X509_STORE* store = X509_LOOKUP_get_store(lookup);
  if (type != X509_LU_X509 || !name || !index || !store) return 0;
  X509* found = nullptr;
  std::lock_guard lock(index->mutex);
  for (auto& e : index->entries) {
    if (X509_NAME_cmp(e.subject, name) != 0) continue;
    if (!e.tried) {
      e.tried = true;
      const auto* p = reinterpret_cast<const unsigned char*>(e.der.data());
      e.decoded = d2i_X509(nullptr, &p, static_cast<long>(e.der.size()));
      if (e.decoded) X509_STORE_add_cert(store, e.decoded);
      ERR_clear_error();
      std::string().swap(e.der);  // decoded or not, not needed again
    }
    if (e.decoded && !found) found = e.decoded;
  }
  if (!found || !ret) return 0;
  // OpenSSL's caller takes its own reference to what a lookup returns (the built-in ones lend theirs too):
  // lend ours, which lives as long as the store.
  if (X509_OBJECT_set1_X509(ret, found) != 1) return 0;
  X509_free(found);
  return 1;
}

X509_LOOKUP_METHOD* index_method() {
  static X509_LOOKUP_METHOD* method = [] {
    X509_LOOKUP_METHOD* m = X509_LOOKUP_meth_new("kuzet certificates by subject");
    if (m) {
      X509_LOOKUP_meth_set_new_item(m, index_new);
      X509_LOOKUP_meth_set_free(m, index_free);
      X509_LOOKUP_meth_set_get_by_subject(m, index_by_subject);
    }
    return m;
  }();
  return method;
}

// Up to max_bytes of the file; false when it cannot be read or is larger.
bool read_bounded(const std::string& path, size_t max_bytes, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  return in && core::read_capped(in, max_bytes, out) && out.size() <= max_bytes;
}

size_t eager_load(X509_STORE* store, const std::string& path) {
  // The count of what this file added: the store may hold others already.
  auto count = [store] {
    size_t n = 0;
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i)
      if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objects, i)) == X509_LU_X509) ++n;
    return n;
  };
  const size_t before = count();
  X509_STORE_load_file(store, path.c_str());
  ERR_clear_error();
  return count() - before;
}

X509_NAME* subject_of(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  Tlv certificate, tbs, field;
  if (!read_tlv(p, end, certificate) || !is_sequence(certificate)) return nullptr;
  p = certificate.content;
  end = certificate.content + certificate.length;
  if (!read_tlv(p, end, tbs) || !is_sequence(tbs)) return nullptr;
  p = tbs.content;
  end = tbs.content + tbs.length;
  // TBSCertificate: [0] version (optional), serialNumber, signature, issuer, validity, subject (RFC 5280).
  if (!read_tlv(p, end, field)) return nullptr;
  if (field.cls == V_ASN1_CONTEXT_SPECIFIC && field.tag == 0 && !read_tlv(p, end, field)) return nullptr;
  if (field.cls != V_ASN1_UNIVERSAL || field.tag != V_ASN1_INTEGER) return nullptr;
  for (int i = 0; i < 4; ++i) {  // signature, issuer, validity; the fourth is the subject
    if (!read_tlv(p, end, field) || !is_sequence(field)) return nullptr;
  }
  const unsigned char* name = field.start;
  return d2i_X509_NAME(nullptr, &name, (field.content + field.length) - field.start);
}

}  // namespace

X509_NAME* certificate_subject(std::string_view der) {
  X509_NAME* subject = subject_of(der);
  if (!subject) ERR_clear_error();  // OpenSSL's readers queue their complaints; a caller may read the queue
  return subject;
}

size_t index_pem_file(X509_STORE* store, const std::string& path, size_t max_bytes) {
  std::string text;
  if (!store || !read_bounded(path, max_bytes, text)) return 0;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())),
                                                BIO_free);
  if (!bio) return 0;
  std::vector<std::string> certificates;
  bool eager = false;
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    unsigned char* data = nullptr;
    long length = 0;
    if (PEM_read_bio(bio.get(), &name, &header, &data, &length) != 1) break;  // the end, or a broken block
    if (std::strcmp(name, PEM_STRING_X509) == 0 || std::strcmp(name, PEM_STRING_X509_OLD) == 0)
      certificates.emplace_back(reinterpret_cast<const char*>(data), static_cast<size_t>(length));
    else if (std::strcmp(name, PEM_STRING_X509_TRUSTED) == 0 || std::strcmp(name, PEM_STRING_X509_CRL) == 0)
      eager = true;
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(data);
  }
  ERR_clear_error();
  if (eager) return eager_load(store, path);
  if (certificates.empty()) return 0;
  X509_LOOKUP* lookup = index_method() ? X509_STORE_add_lookup(store, index_method()) : nullptr;
  auto* index = lookup ? static_cast<SubjectIndex*>(X509_LOOKUP_get_method_data(lookup)) : nullptr;
  if (!index) return eager_load(store, path);
  size_t count = 0;
  std::lock_guard lock(index->mutex);
  for (auto& der : certificates) {
    if (X509_NAME* subject = certificate_subject(der)) {
      index->entries.push_back(Entry{subject, std::move(der)});
      ++count;
      continue;
    }
    // Not plain DER (OpenSSL also reads some BER): decoded now, as OpenSSL's own loader would.
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    if (X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()))) {
      if (X509_STORE_add_cert(store, x) == 1) ++count;
      X509_free(x);
    }
    ERR_clear_error();
  }
  return count;
}

}  // namespace kuzet::measure
