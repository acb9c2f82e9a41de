// The TLS step: handshake over a connected non-blocking socket, record what the peer presented, then
// judge the chain ourselves against the run's trust store (so a bad chain is recorded, not refused).
#include "measure/tls.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "core/crypto/crypto.hpp"
#include "core/vocabulary/failure.hpp"
#include "core/time.hpp"
#include "measure/ca_index.hpp"
#include "measure/tcp.hpp"
#include "measure/http/url.hpp"

namespace kuzet::measure {

// ---------------------------------------------------------------------------------------------------------
// Trust store

std::shared_ptr<const TrustStore> TrustStore::load(const std::string& ca_bundle) {
  std::shared_ptr<TrustStore> trust(new TrustStore());
  trust->store_ = X509_STORE_new();
  if (!trust->store_) throw std::runtime_error("trust store: out of memory");
  if (ca_bundle.empty()) {
    // The distribution's public web PKI as X509_STORE_set_default_paths finds it (cert.pem, the hashed
    // certs directory, the same environment variables), but with the file indexed instead of decoded.
    const char* file = secure_getenv(X509_get_default_cert_file_env());  // as OpenSSL reads it
    trust->certificates_ = index_pem_file(trust->store_, file ? file : X509_get_default_cert_file(), kMaxBundleBytes);
    X509_LOOKUP* dir = X509_STORE_add_lookup(trust->store_, X509_LOOKUP_hash_dir());
    X509_LOOKUP* uri = X509_STORE_add_lookup(trust->store_, X509_LOOKUP_store());
    if (!dir || !uri) {
      ERR_clear_error();
      throw std::runtime_error("trust store: cannot use the system's default CA paths");
    }
    X509_LOOKUP_add_dir(dir, nullptr, X509_FILETYPE_DEFAULT);
    X509_LOOKUP_add_store(uri, nullptr);
    ERR_clear_error();
    trust->source_ = "system";
    return trust;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(ca_bundle, ec)) {
    throw std::runtime_error("CA bundle " + ca_bundle + ": no such file");
  }
  if (std::filesystem::file_size(ca_bundle, ec) > kMaxBundleBytes) {
    throw std::runtime_error("CA bundle " + ca_bundle + ": larger than " + std::to_string(kMaxBundleBytes >> 20) +
                             " MiB");
  }
  trust->certificates_ = index_pem_file(trust->store_, ca_bundle, kMaxBundleBytes);
  if (trust->certificates_ == 0) {
    throw std::runtime_error("CA bundle " + ca_bundle + ": contains no PEM certificate");
  }
  trust->source_ = ca_bundle;
  return trust;
}

std::shared_ptr<const TrustStore> TrustStore::load_public(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    auto trust = load(path);  // a single bundle file
    return trust;
  }
  std::shared_ptr<TrustStore> trust(new TrustStore());
  trust->store_ = X509_STORE_new();
  if (!trust->store_) throw std::runtime_error("trust store: out of memory");
  std::vector<fs::path> files;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (files.size() >= kMaxPublicBundleFiles) break;
    std::error_code fe;
    if (it->is_regular_file(fe) && it->file_size(fe) <= kMaxPublicBundleFileBytes) files.push_back(it->path());
  }
  if (ec) throw std::runtime_error("public CA bundle " + path + ": " + ec.message());
  for (const auto& file : files)  // not a certificate: skipped
    trust->certificates_ += index_pem_file(trust->store_, file.string(), kMaxPublicBundleFileBytes);
  if (trust->certificates_ == 0)
    throw std::runtime_error("public CA bundle " + path + ": contains no PEM certificate");
  trust->source_ = path;
  return trust;
}

TrustStore::~TrustStore() {
  if (store_) X509_STORE_free(store_);
}

// ---------------------------------------------------------------------------------------------------------
// Certificate description

namespace {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Certificate strings come from hostile peers and end up in JSON: keep them printable ASCII, other bytes as
// \xHH. A backslash is escaped too unless the text already uses backslash escapes (RFC 2253 names).
std::string printable(const unsigned char* data, size_t len, bool escape_backslash = true) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(len);
  for (size_t i = 0; i < len; ++i) {
    unsigned char c = data[i];
    if (c >= 0x20 && c < 0x7f && (c != '\\' || !escape_backslash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

std::string name_rfc2253(const X509_NAME* name) {
  if (!name) return {};
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return {};
  std::string out;
  if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    if (len > 0) out = printable(reinterpret_cast<const unsigned char*>(data), static_cast<size_t>(len), false);
  }
  BIO_free(bio);
  return out;
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  if (!serial) return {};
  BIGNUM* bn = ASN1_INTEGER_to_BN(serial, nullptr);
  if (!bn) return {};
  std::string out;
  if (char* hex = BN_bn2hex(bn)) {
    out = hex;
    OPENSSL_free(hex);
  }
  BN_free(bn);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string time_rfc3339(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string key_type_name(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_RSA_PSS: return "RSA-PSS";
    case EVP_PKEY_EC: return "EC";
    case EVP_PKEY_ED25519: return "ED25519";
    case EVP_PKEY_ED448: return "ED448";
    case EVP_PKEY_DSA: return "DSA";
    default: return "unknown";
  }
}

CertificateInfo describe(X509* cert, const std::string& der) {
  CertificateInfo info;
  info.sha256 = core::sha256_hex(der);
  if (X509_PUBKEY* pub = X509_get_X509_PUBKEY(cert)) {
    unsigned char* spki = nullptr;
    int len = i2d_X509_PUBKEY(pub, &spki);
    if (len > 0) {
      auto digest = core::sha256_raw(std::string_view(reinterpret_cast<const char*>(spki), static_cast<size_t>(len)));
      info.spki_sha256 =
          core::base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
    }
    OPENSSL_free(spki);
  }
  info.subject = name_rfc2253(X509_get_subject_name(cert));
  info.issuer = name_rfc2253(X509_get_issuer_name(cert));
  info.serial = serial_hex(X509_get0_serialNumber(cert));
  info.not_before = time_rfc3339(X509_get0_notBefore(cert));
  info.not_after = time_rfc3339(X509_get0_notAfter(cert));
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
      if (name->type != GEN_DNS || !name->d.dNSName) continue;
      info.dns_names.push_back(printable(ASN1_STRING_get0_data(name->d.dNSName),
                                         static_cast<size_t>(ASN1_STRING_length(name->d.dNSName))));
    }
    GENERAL_NAMES_free(names);
  }
  if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
    info.key_type = key_type_name(key);
    info.key_bits = EVP_PKEY_get_bits(key);
  } else {
    info.key_type = "unknown";
  }
  info.self_signed = X509_self_signed(cert, 1) == 1;
  ERR_clear_error();
  return info;
}

}  // namespace

CertificateInfo describe_certificate_der(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    ERR_clear_error();
    CertificateInfo info;
    info.sha256 = core::sha256_hex(der);  // still a fingerprint of what was presented
    return info;
  }
  return describe(cert.get(), der);
}

// ---------------------------------------------------------------------------------------------------------
// Handshake

namespace {

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};

// One client context for the whole process: SSL_new on a configured SSL_CTX is thread-safe, and building a
// context per handshake is costly. Per-handshake settings (SNI, ALPN, callbacks) go on the SSL object.
SSL_CTX* client_context() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    if (!c) throw std::runtime_error("TLS: cannot create the client context");
    // We observe, we do not protect a session: accept old servers (TLS 1.0+, legacy renegotiation, weak
    // parameters) so that their version and chain get recorded instead of a local refusal.
    SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(c, 0);
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_cipher_list(c, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_options(c, SSL_OP_LEGACY_SERVER_CONNECT);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);  // verified after the handshake, see verify_chain
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    return c;
  }();
  return ctx;
}

// The first alert the peer sent, seen through the info callback (OpenSSL's error queue only names it).
struct AlertSeen {
  int level = -1;
  int description = -1;
};

void on_info(const SSL* ssl, int where, int ret) {
  // SSL_CB_READ_ALERT and SSL_CB_WRITE_ALERT share the SSL_CB_ALERT bit: test both bits.
  if ((where & SSL_CB_READ_ALERT) != SSL_CB_READ_ALERT) return;
  auto* seen = static_cast<AlertSeen*>(SSL_get_app_data(ssl));
  const int level = (ret >> 8) & 0xff;
  const int description = ret & 0xff;
  // Warning alerts (say, TLS 1.2 unrecognized_name) do not stop a handshake; close_notify ends it as a FIN.
  if (!seen || seen->description >= 0) return;
  if (level != SSL3_AL_FATAL && description != SSL_AD_CLOSE_NOTIFY) return;
  seen->level = level;
  seen->description = description;
}

// A write to a reset socket raises SIGPIPE; keep it from killing the process without touching the
// process-wide disposition: block it on this thread and swallow one that became pending meanwhile.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~SigpipeGuard() {
    if (!blocked_) return;
    if (!was_pending_) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;
 private:
  sigset_t pipe_{}, old_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

// ALPN wire format: length-prefixed protocol names; names that cannot be encoded are skipped.
std::string alpn_wire(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) continue;
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  return wire;
}

// Why the handshake stopped, from the alert seen, OpenSSL's error queue and the socket's errno.
std::string classify_handshake_error(SSL* ssl, int ssl_error, int ret, int saved_errno, const AlertSeen& alert,
                                     std::string& alert_text) {
  if (alert.description >= 0) {
    if (alert.description == SSL_AD_CLOSE_NOTIFY) return std::string(core::failure::tls_eof);
    alert_text = SSL_alert_desc_string_long(alert.description);
    return std::string(core::failure::tls_alert);
  }
  int sys_errno = 0;
  bool unexpected_eof = false;
  int queued_alert = -1;
  while (unsigned long e = ERR_get_error()) {
    const int reason = ERR_GET_REASON(e);
    if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
      // "sslv3/tlsv1 alert ...": an alert received that the info callback did not take as fatal (TLS 1.3
      // treats every alert as fatal whatever its level).
      queued_alert = reason - SSL_AD_REASON_OFFSET;
    } else if (ERR_GET_LIB(e) == ERR_LIB_SYS) {
      sys_errno = ERR_GET_REASON(e);
    } else if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      unexpected_eof = true;
    }
  }
  if (queued_alert >= 0 && queued_alert != SSL_AD_CLOSE_NOTIFY) {
    alert_text = SSL_alert_desc_string_long(queued_alert);
    return std::string(core::failure::tls_alert);
  }
  if (sys_errno == 0 && ssl_error == SSL_ERROR_SYSCALL) sys_errno = saved_errno;
  if (sys_errno == 0) {
    // A reset that OpenSSL did not report itself is still pending on the socket.
    int so_error = 0;
    socklen_t len = sizeof so_error;
    if (getsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_ERROR, &so_error, &len) == 0) sys_errno = so_error;
  }
  if (sys_errno == ECONNRESET || sys_errno == EPIPE) return std::string(core::failure::tls_reset);
  if (unexpected_eof || ssl_error == SSL_ERROR_ZERO_RETURN) return std::string(core::failure::tls_eof);
  if (ssl_error == SSL_ERROR_SYSCALL) {
    if (sys_errno == 0 || ret == 0) return std::string(core::failure::tls_eof);
    return classify_errno(sys_errno, "tls");
  }
  return std::string(core::failure::tls_error);
}

std::string classify_verify_error(int error) {
  switch (error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return std::string(core::failure::tls_unknown_authority);
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return std::string(core::failure::tls_hostname_mismatch);
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return std::string(core::failure::tls_expired);
    default:
      return std::string(core::failure::tls_invalid_certificate);
  }
}

// Verifies the presented chain (leaf first) as a browser would for `verify_host`.
void verify_chain(STACK_OF(X509)* presented, const std::string& verify_host, const TrustStore& trust,
                  TlsHandshake& obs) {
  if (!presented || sk_X509_num(presented) == 0 || !trust.store()) {
    obs.verify_failure = core::failure::tls_invalid_certificate;
    obs.verify_error = "no peer certificate";
    return;
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), trust.store(), sk_X509_value(presented, 0), presented) != 1) {
    ERR_clear_error();
    obs.verify_failure = core::failure::tls_invalid_certificate;
    obs.verify_error = "cannot set up verification";
    return;
  }
  X509_STORE_CTX_set_default(ctx.get(), "ssl_server");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (!verify_host.empty()) {
    if (http::is_ip_literal(verify_host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, verify_host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, verify_host.c_str(), verify_host.size());
    }
  }
  const int ok = X509_verify_cert(ctx.get());
  if (ok != 1) {
    int error = X509_STORE_CTX_get_error(ctx.get());
    if (error == X509_V_OK) error = X509_V_ERR_UNSPECIFIED;
    obs.verify_failure = classify_verify_error(error);
    obs.verify_error = X509_verify_cert_error_string(error);
  }
  ERR_clear_error();
}

}  // namespace

TlsHandshake tls_handshake(int fd, const std::string& address, uint16_t port, const std::string& sni,
                           const std::string& verify_host, const TlsOptions& options) {
  TlsHandshake obs;
  obs.address = address;
  obs.port = port;
  obs.sni = sni;
  core::Stopwatch sw;
  SigpipeGuard sigpipe;
  ERR_clear_error();

  std::unique_ptr<SSL, SslFree> ssl(SSL_new(client_context()));
  AlertSeen alert;
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1) {
    ERR_clear_error();
    obs.failure = core::failure::tls_error;
    return obs;
  }
  SSL_set_app_data(ssl.get(), &alert);
  SSL_set_info_callback(ssl.get(), on_info);
  if (!sni.empty() && SSL_set_tlsext_host_name(ssl.get(), sni.c_str()) != 1) {
    ERR_clear_error();
    obs.failure = core::failure::tls_error;  // a name OpenSSL refuses to send (e.g. too long)
    return obs;
  }
  const std::string alpn = alpn_wire(options.alpn);
  if (!alpn.empty()) {
    SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned>(alpn.size()));
  }
  SSL_set_connect_state(ssl.get());

  while (true) {
    ERR_clear_error();
    const int ret = SSL_do_handshake(ssl.get());
    const int saved_errno = errno;
    if (ret == 1) break;
    const int ssl_error = SSL_get_error(ssl.get(), ret);
    if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE) {
      obs.failure = classify_handshake_error(ssl.get(), ssl_error, ret, saved_errno, alert, obs.alert);
      obs.duration_ms = sw.elapsed_ms();
      ERR_clear_error();
      return obs;  // no close_notify after a failed handshake: the caller closes the socket
    }
    const int remaining = options.timeout_ms - static_cast<int>(sw.elapsed_ms());
    if (remaining <= 0) {
      obs.failure = core::failure::tls_timeout;
      obs.duration_ms = sw.elapsed_ms();
      return obs;
    }
    pollfd pfd{fd, static_cast<short>(ssl_error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    const int pr = ::poll(&pfd, 1, remaining);
    if (pr < 0 && errno != EINTR) {
      obs.failure = core::failure::tls_error;
      obs.duration_ms = sw.elapsed_ms();
      return obs;
    }
    // pr == 0 (deadline) is caught at the top of the next round; POLLERR/POLLHUP are read by OpenSSL.
  }
  obs.duration_ms = sw.elapsed_ms();

  obs.version = SSL_get_version(ssl.get());
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl.get())) obs.cipher = SSL_CIPHER_get_name(cipher);
  const unsigned char* selected = nullptr;
  unsigned selected_len = 0;
  SSL_get0_alpn_selected(ssl.get(), &selected, &selected_len);
  if (selected && selected_len > 0) obs.alpn = printable(selected, selected_len);

  STACK_OF(X509)* presented = SSL_get_peer_cert_chain(ssl.get());
  for (int i = 0; presented && i < sk_X509_num(presented); ++i) {
    X509* cert = sk_X509_value(presented, i);
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    if (len > 0) obs.chain.push_back(describe(cert, std::string(reinterpret_cast<char*>(der), static_cast<size_t>(len))));
    OPENSSL_free(der);
  }
  if (options.trust) {
    verify_chain(presented, verify_host, *options.trust, obs);
  } else {
    obs.verify_failure = core::failure::tls_invalid_certificate;
    obs.verify_error = "no trust store configured";
  }
  if (options.public_trust && options.public_trust != options.trust) {
    TlsHandshake against_public;
    verify_chain(presented, verify_host, *options.public_trust, against_public);
    obs.public_trust = options.public_trust->source();
    obs.public_verify_failure = against_public.verify_failure;
  }

  // Polite close_notify, sent once without waiting for the peer's: the socket is non-blocking.
  SSL_shutdown(ssl.get());
  ERR_clear_error();
  return obs;
}

}  // namespace kuzet::measure
