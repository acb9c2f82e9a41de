// HTTP(S) step. One libcurl easy handle per request; redirects are followed by hand so that every hop is
// recorded and every new host goes through our resolver. libcurl never resolves names itself: each
// request pins host:port to the chosen address with CURLOPT_RESOLVE (or targets an IP literal).
//
// Error mapping (CURLcode -> failure string), used by classify_curl_error below:
//   CURLE_OK                                  ""  (also CURLE_WRITE_ERROR when we stopped at the body cap)
//   CURLE_OPERATION_TIMEDOUT                  tcp.timeout   when the TCP connect had not finished (no
//                                             connect time and the socket still in SYN_SENT at close)
//                                             tls.timeout   (https) when the TLS handshake had not finished
//                                             http.timeout  otherwise
//   CURLE_COULDNT_CONNECT                     classify_errno(CURLINFO_OS_ERRNO, "tcp"): tcp.refused, ...
//   CURLE_SSL_CONNECT_ERROR                   tls.reset (ECONNRESET), tls.eof (peer closed, "unexpected
//                                             eof"), tls.alert (peer sent an alert), else tls.error
//   CURLE_PEER_FAILED_VERIFICATION            from CURLINFO_SSL_VERIFYRESULT: tls.unknown_authority,
//                                             tls.hostname_mismatch (also X509_V_OK: curl's own host
//                                             check failed), tls.expired, else tls.invalid_certificate
//   CURLE_RECV_ERROR, CURLE_SEND_ERROR        http.reset (ECONNRESET/EPIPE), http.timeout (ETIMEDOUT),
//                                             else http.error
//   CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE     http.eof (a partial body is still recorded)
//   CURLE_SSL_CACERT_BADFILE, CURLE_SSL_*     tls.error
//   anything else (WEIRD_SERVER_REPLY,        http.error
//     UNSUPPORTED_PROTOCOL, ...)
#include "measure/http/http.hpp"

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string_view>

#include "core/crypto/crypto.hpp"
#include "core/vocabulary/failure.hpp"
#include "core/time.hpp"
#include "measure/tcp.hpp"
#include "measure/tls.hpp"
#include "measure/http/url.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::measure::http {

namespace {

CURLcode use_shared_trust_store(CURL*, void* ssl_ctx, void* trust) {
  SSL_CTX_set1_cert_store(static_cast<SSL_CTX*>(ssl_ctx), static_cast<TrustStore*>(trust)->store());
  return CURLE_OK;
}

namespace failure = core::failure;

constexpr size_t kTitleScanBytes = 64 * 1024;  // the title is looked for in the first bytes only
constexpr size_t kMaxHeaders = 100;            // hostile servers may send endless headers
constexpr size_t kMaxHeaderValue = 8 * 1024;
constexpr size_t kMaxHeaderBytes = 64 * 1024;  // per response, names and values
constexpr size_t kMaxTitleChars = 256;
constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";  // U+FFFD

void curl_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// ---------------------------------------------------------------------------------------------------
// Text helpers

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_valid_code_point(uint32_t cp) { return cp > 0 && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF); }

// Length of the valid UTF-8 sequence starting at s[i], 0 when invalid.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t cp, min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    len = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool is_html_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Decodes the basic HTML character references; anything unknown stays as written.
std::string decode_entities(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  while (i < raw.size()) {
    if (raw[i] != '&') {
      out += raw[i++];
      continue;
    }
    // Look for the ';' only a few bytes ahead: a page full of '&' must stay linear.
    const size_t near = raw.substr(i + 1, 32).find(';');
    const size_t semi = near == std::string_view::npos ? near : i + 1 + near;
    if (semi == std::string_view::npos) {
      out += raw[i++];
      continue;
    }
    const std::string_view name = raw.substr(i + 1, semi - i - 1);
    bool decoded = true;
    if (name == "amp") out += '&';
    else if (name == "lt") out += '<';
    else if (name == "gt") out += '>';
    else if (name == "quot") out += '"';
    else if (name == "apos") out += '\'';
    else if (name == "nbsp") out += ' ';
    else if (name.size() >= 2 && name[0] == '#') {
      const bool hex = name[1] == 'x' || name[1] == 'X';
      const std::string_view digits = name.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      bool well_formed = !digits.empty(), too_big = false;
      for (char c : digits) {
        int v = -1;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (hex && c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F') v = c - 'A' + 10;
        if (v < 0) {
          well_formed = false;
          break;
        }
        if (!too_big) cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        too_big = too_big || cp > 0x10FFFF;  // checked every digit, so cp never overflows
      }
      if (!well_formed) decoded = false;
      else if (too_big || !is_valid_code_point(cp)) out += kReplacementChar;
      else append_utf8(out, cp);
    } else {
      decoded = false;
    }
    if (decoded) {
      i = semi + 1;
    } else {
      out += raw[i++];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// One request

struct Sha256 {
  Sha256() : ctx(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const char* data, size_t len) { EVP_DigestUpdate(ctx, data, len); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    return core::to_hex(md, len);
  }
  EVP_MD_CTX* ctx;
};

// Throughput samples, thinned while the transfer runs so a slow drip of tiny writes stays small in memory:
// a write is kept when its index is a multiple of `stride`, which doubles whenever the list fills up.
class SampleRecorder {
 public:
  explicit SampleRecorder(size_t max_samples) : max_(std::max<size_t>(2, max_samples)) {}
  void add(double t_ms, uint64_t bytes) {
    last_ = ThroughputSample{t_ms, bytes};
    if (writes_++ % stride_ == 0) {
      kept_.push_back(last_);
      if (kept_.size() >= 2 * max_) {
        std::vector<ThroughputSample> half;
        for (size_t i = 0; i < kept_.size(); i += 2) half.push_back(kept_[i]);
        kept_ = std::move(half);
        stride_ *= 2;
      }
    }
  }
  // At most max_samples, evenly spread, always the first and the last write.
  std::vector<ThroughputSample> finish() {
    if (writes_ == 0) return {};
    if (kept_.back().bytes != last_.bytes || kept_.back().t_ms != last_.t_ms) kept_.push_back(last_);
    if (kept_.size() <= max_) return kept_;
    std::vector<ThroughputSample> out;
    for (size_t i = 0; i < max_; ++i) out.push_back(kept_[i * (kept_.size() - 1) / (max_ - 1)]);
    return out;
  }

 private:
  size_t max_;
  size_t writes_ = 0;
  size_t stride_ = 1;
  ThroughputSample last_;
  std::vector<ThroughputSample> kept_;
};

struct Transfer {
  Transfer(HttpRequest& h, const HttpOptions& o) : hop(h), options(o), samples(o.max_samples) {}
  HttpRequest& hop;
  const HttpOptions& options;
  core::Stopwatch clock;
  Sha256 sha;
  SampleRecorder samples;
  std::string head;  // first kTitleScanBytes of the body
  size_t header_bytes = 0;
  bool body_started = false;
  bool stopped_at_cap = false;
  bool tcp_established = false;  // seen when libcurl closes the socket (libcurl 7.88 reports no connect
                                 // time when the TLS handshake fails)
};

// Closes libcurl's socket, noting first whether the TCP handshake had completed: a timeout then belongs to
// TLS or HTTP, not to TCP.
int on_close_socket(void* user, curl_socket_t fd) {
  auto& t = *static_cast<Transfer*>(user);
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state != TCP_SYN_SENT &&
      info.tcpi_state != TCP_CLOSE)
    t.tcp_established = true;
  return ::close(fd);
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t total = size * count;
  add_header_line(std::string_view(data, total), t.body_started, t.hop.headers, t.header_bytes);
  return total;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t total = size * count;
  t.body_started = true;
  const size_t room = t.options.body_cap > t.hop.body_length ? t.options.body_cap - t.hop.body_length : 0;
  const size_t take = std::min(total, room);
  if (take > 0) {
    t.sha.update(data, take);
    if (t.head.size() < kTitleScanBytes) t.head.append(data, std::min(take, kTitleScanBytes - t.head.size()));
    t.hop.body_length += take;
    t.samples.add(t.clock.elapsed_ms(), t.hop.body_length);
  }
  if (take < total) {  // over the cap: stop here (libcurl reports CURLE_WRITE_ERROR, which we expect)
    t.stopped_at_cap = true;
    t.hop.body_truncated = true;
    return 0;
  }
  return total;
}

std::string verify_failure(long verify_result) {
  switch (verify_result) {
    case X509_V_OK:  // libcurl checks the host name itself, after OpenSSL's chain verification passed,
    case X509_V_ERR_UNSPECIFIED:  // and then leaves the result at OK or at its initial "unspecified"
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return std::string(failure::tls_hostname_mismatch);
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return std::string(failure::tls_unknown_authority);
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return std::string(failure::tls_expired);
    default:
      return std::string(failure::tls_invalid_certificate);
  }
}

std::string classify_curl_error(CURLcode rc, CURL* curl, bool https, bool tcp_established, const char* error_text) {
  long os_errno = 0;
  curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
  const std::string_view message(error_text);
  switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connect_us = 0, appconnect_us = 0;
      curl_easy_getinfo(curl, CURLINFO_CONNECT_TIME_T, &connect_us);
      curl_easy_getinfo(curl, CURLINFO_APPCONNECT_TIME_T, &appconnect_us);
      if (connect_us == 0 && !tcp_established) return std::string(failure::tcp_timeout);
      if (https && appconnect_us == 0) return std::string(failure::tls_timeout);
      return std::string(failure::http_timeout);
    }
    case CURLE_COULDNT_CONNECT:
      return os_errno != 0 ? classify_errno(static_cast<int>(os_errno), "tcp") : std::string(failure::tcp_error);
    case CURLE_SSL_CONNECT_ERROR:
      if (os_errno == ECONNRESET || ascii::contains_ignoring_case(message, "connection reset"))
        return std::string(failure::tls_reset);
      if (ascii::contains_ignoring_case(message, "unexpected eof") ||
          ascii::contains_ignoring_case(message, "ssl_error_syscall"))
        return std::string(failure::tls_eof);
      if (ascii::contains_ignoring_case(message, " alert ")) return std::string(failure::tls_alert);
      return std::string(failure::tls_error);
    case CURLE_PEER_FAILED_VERIFICATION: {
      long verify_result = X509_V_OK;
      curl_easy_getinfo(curl, CURLINFO_SSL_VERIFYRESULT, &verify_result);
      return verify_failure(verify_result);
    }
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      if (os_errno == ECONNRESET || os_errno == EPIPE || ascii::contains_ignoring_case(message, "connection reset"))
        return std::string(failure::http_reset);
      if (os_errno == ETIMEDOUT) return std::string(failure::http_timeout);
      return std::string(failure::http_error);
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return std::string(failure::http_eof);
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return std::string(failure::tls_error);
    default:
      return std::string(failure::http_error);
  }
}

bool is_followed_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string bracketed(const std::string& address) {
  return address.find(':') != std::string::npos ? "[" + address + "]" : address;
}

uint16_t default_port(const std::string& scheme) { return scheme == "https" ? 443 : 80; }

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// One GET of `url_text` (already parsed as `url`) on `address`; never follows redirects.
HttpRequest fetch_one(const std::string& url_text, const Url& url, const std::string& address,
                      const HttpOptions& options) {
  HttpRequest hop;
  hop.url = url_text;
  hop.address = address;
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) {
    hop.failure = failure::http_error;
    return hop;
  }
  CURL* c = curl.get();
  const bool https = url.scheme == "https";
  const bool neutral_sni = options.sni_mode == SniMode::none;

  std::unique_ptr<curl_slist, SlistDeleter> resolve, extra_headers;
  std::string request_url = url.wire_url;
  if (neutral_sni) {
    // An IP literal in the URL: libcurl sends no SNI for it. The Host header names the real site.
    request_url = url.scheme + "://" + bracketed(address) + ":" + std::to_string(url.port) + url.path;
    std::string host_header = "Host: " + bracketed(url.host);
    if (url.port != default_port(url.scheme)) host_header += ":" + std::to_string(url.port);
    extra_headers.reset(curl_slist_append(nullptr, host_header.c_str()));
  } else if (!is_ip_literal(url.host)) {
    const std::string pin = url.host + ":" + std::to_string(url.port) + ":" + bracketed(address);
    resolve.reset(curl_slist_append(nullptr, pin.c_str()));
  }

  Transfer t(hop, options);
  char error_text[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c, CURLOPT_URL, request_url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_PROXY, "");  // ignore http_proxy & co: we talk to the address we chose
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  if (extra_headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, extra_headers.get());
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_ms));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.timeout_ms));
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, &t);
  curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);  // close the socket inside perform, before we classify
  // libcurl sends even a GET's request through a 64 KiB upload buffer of its own; its minimum, 16 KiB, holds
  // any request the probe makes (a 40-target run's peak RSS: -0.3 to -0.5 MB, docs/benchmarks.md)
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
  // And its receive buffer: 4 KiB instead of 16 per transfer in flight (a 40-target run: -0.4 MB of peak RSS).
  // OpenSSL still reads whole TLS records; the body just arrives in more, smaller calls of on_body.
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 4096L);
  const bool verify = options.verify_peer && !neutral_sni;
  if (options.trust && verify) {
    // Share the run's trust store instead of letting every request parse the CA bundle again: that
    // parse costs ~1 MB and milliseconds per request (measured in bench/probe).
    curl_easy_setopt(c, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, use_shared_trust_store);
    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, const_cast<TrustStore*>(options.trust.get()));
  } else if (!verify) {
    curl_easy_setopt(c, CURLOPT_CAINFO, nullptr);  // nothing to verify against: do not load a bundle
    curl_easy_setopt(c, CURLOPT_CAPATH, nullptr);
  } else if (!options.ca_bundle.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_bundle.c_str());
  }
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);

  const CURLcode rc = curl_easy_perform(c);

  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  hop.status = static_cast<int>(status);
  auto ms = [c](CURLINFO info) {
    curl_off_t us = 0;
    curl_easy_getinfo(c, info, &us);
    return static_cast<double>(us) / 1000.0;
  };
  hop.connect_ms = ms(CURLINFO_CONNECT_TIME_T);
  hop.tls_ms = ms(CURLINFO_APPCONNECT_TIME_T);
  hop.first_byte_ms = ms(CURLINFO_STARTTRANSFER_TIME_T);
  hop.total_ms = ms(CURLINFO_TOTAL_TIME_T);

  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.stopped_at_cap))
    hop.failure = classify_curl_error(rc, c, https, t.tcp_established, error_text);

  if (hop.status != 0 || hop.body_length > 0) hop.body_sha256 = t.sha.hex();
  hop.body_prefix = sanitize_utf8(std::string_view(t.head).substr(0, options.body_prefix_bytes));
  hop.title = extract_title(t.head);
  hop.samples = t.samples.finish();
  if (hop.status >= 300 && hop.status < 400) hop.location = redirect_location(url_text, hop.headers);
  return hop;
}

double body_throughput_bps(const std::vector<ThroughputSample>& samples) {
  if (samples.size() < 2) return 0;
  const auto& first = samples.front();
  const auto& last = samples.back();
  const double seconds = (last.t_ms - first.t_ms) / 1000.0;
  if (seconds <= 0 || last.bytes <= first.bytes) return 0;
  return static_cast<double>(last.bytes - first.bytes) * 8.0 / seconds;
}

}  // namespace

void add_header_line(std::string_view line, bool body_started, std::vector<HttpHeader>& headers,
                     size_t& header_bytes) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    headers.clear();  // a new response (after 1xx): keep only the final one's headers
    header_bytes = 0;
    return;
  }
  if (line.empty() || body_started) return;  // end of headers; trailers are ignored
  if (header_bytes >= kMaxHeaderBytes) return;
  if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
    if (!headers.empty() && headers.back().value.size() < kMaxHeaderValue) {
      auto& value = headers.back().value;
      const size_t before = value.size();
      const std::string_view folded = ascii::trim(line, ascii::kBlanksAndLineEnds);
      value = sanitize_utf8(value + " " + std::string(folded.substr(0, kMaxHeaderValue - before - 1)));
      header_bytes += value.size() - before;
    }
    return;
  }
  if (headers.size() >= kMaxHeaders) return;
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;
  HttpHeader h;
  h.name = sanitize_utf8(ascii::trim(line.substr(0, std::min(colon, kMaxHeaderValue)), ascii::kBlanksAndLineEnds));
  h.value = sanitize_utf8(ascii::trim(line.substr(colon + 1), ascii::kBlanksAndLineEnds).substr(0, kMaxHeaderValue));
  header_bytes += h.name.size() + h.value.size();
  headers.push_back(std::move(h));
}

std::string redirect_location(const std::string& url, const std::vector<HttpHeader>& headers) {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
    if (!ascii::equals_ignoring_case(it->name, "location")) continue;
    if (auto target = resolve_redirect(url, it->value)) return sanitize_utf8(*target);
    break;
  }
  return "";
}

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t len = utf8_sequence_length(text, i);
    if (len == 0) {
      out += kReplacementChar;
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string extract_title(const std::string& body) {
  const std::string_view html(body);
  size_t open = ascii::find_ignoring_case(html, "<title", 0);
  // "<titlex>" is another tag: the name must end with '>', '/' or white space.
  while (open != std::string_view::npos && open + 6 < html.size() && html[open + 6] != '>' &&
         html[open + 6] != '/' && !is_html_space(html[open + 6]))
    open = ascii::find_ignoring_case(html, "<title", open + 6);
  if (open == std::string_view::npos) return {};
  const size_t gt = html.find('>', open + 6);
  if (gt == std::string_view::npos) return {};
  const size_t close = ascii::find_ignoring_case(html, "</title", gt + 1);
  const std::string_view raw = html.substr(gt + 1, close == std::string_view::npos ? close : close - gt - 1);

  const std::string text = sanitize_utf8(decode_entities(raw));
  // Collapse white space, trim, and keep at most kMaxTitleChars code points.
  std::string out;
  size_t chars = 0;
  bool pending_space = false;
  for (size_t i = 0; i < text.size() && chars < kMaxTitleChars;) {
    if (is_html_space(text[i])) {
      pending_space = !out.empty();
      ++i;
      continue;
    }
    if (pending_space) {
      out += ' ';
      pending_space = false;
      if (++chars == kMaxTitleChars) break;
    }
    const size_t len = std::max<size_t>(1, utf8_sequence_length(text, i));  // text is valid UTF-8 here
    out.append(text, i, len);
    i += len;
    ++chars;
  }
  out.resize(ascii::trim_end(out, " ").size());
  return out;
}

HttpObservation http_get(const std::string& url, const std::string& address, const HttpOptions& options,
                         const HostResolver& resolve_host) {
  curl_init_once();
  core::Stopwatch clock;
  HttpObservation obs;
  obs.url = url;
  obs.final_url = url;
  const auto first = parse_url(url);
  if (!first || address.empty()) {
    obs.failure = failure::http_error;
    return obs;
  }
  if (first->scheme == "https" && options.sni_mode == SniMode::normal && !is_ip_literal(first->host))
    obs.sni = first->host;

  std::map<std::string, std::string> address_of_host{{first->host, address}};  // same host, same address
  std::set<std::string> seen;
  std::string current = url;
  int redirects = 0;
  while (true) {
    seen.insert(current);
    const auto parsed = parse_url(current);  // valid: the first was checked, resolve_redirect checks the rest
    if (!parsed) {
      obs.failure = failure::http_error;
      break;
    }
    auto known = address_of_host.find(parsed->host);
    if (known == address_of_host.end()) {
      std::string new_address;
      if (is_ip_literal(parsed->host)) {
        new_address = parsed->host;
      } else {
        DnsObservation dns;
        if (resolve_host) dns = resolve_host(parsed->host);
        if (dns.addresses.empty()) {
          HttpRequest hop;
          hop.url = current;
          hop.failure = dns.failure.empty() ? std::string(failure::dns_no_answer) : dns.failure;
          obs.requests.push_back(std::move(hop));
          obs.failure = obs.requests.back().failure;
          break;
        }
        new_address = dns.addresses.front();
      }
      known = address_of_host.emplace(parsed->host, new_address).first;
    }
    obs.requests.push_back(fetch_one(current, *parsed, known->second, options));
    const HttpRequest& hop = obs.requests.back();
    if (!hop.failure.empty()) {
      obs.failure = hop.failure;
      break;
    }
    if (!is_followed_redirect(hop.status) || hop.location.empty()) break;
    if (seen.count(hop.location) > 0) {
      obs.failure = failure::http_redirect_loop;
      break;
    }
    if (++redirects > options.max_redirects) {
      obs.failure = failure::http_too_many_redirects;
      break;
    }
    current = hop.location;
  }
  if (!obs.requests.empty()) {
    obs.final_url = obs.requests.back().url;
    obs.throughput_bps = body_throughput_bps(obs.requests.back().samples);
  }
  obs.duration_ms = clock.elapsed_ms();
  return obs;
}

}  // namespace kuzet::measure::http
