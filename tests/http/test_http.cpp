// The HTTP(S) step against the fake loopback server: redirects, caps, resets, timeouts, throughput, TLS.
// Host names end in ".test" (reserved, never resolvable): a success proves libcurl used our pinned address.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/crypto/crypto.hpp"
#include "core/vocabulary/failure.hpp"
#include "measure/http/http.hpp"
#include "tests/http/fake_http_server.hpp"

namespace failure = kuzet::core::failure;
using kuzet::measure::DnsObservation;
using kuzet::measure::http::http_get;
using kuzet::measure::HttpObservation;
using kuzet::measure::http::HttpOptions;
using kuzet::measure::HttpRequest;
using kuzet::measure::http::SniMode;
using kuzet::test_http::fake_body;
using kuzet::test_http::FakeConnection;
using kuzet::test_http::FakeHttpServer;
using kuzet::test_http::FakeServerOptions;
using kuzet::test_http::kFakePageTitle;

namespace {

// Maps a few names to loopback; everything else is NXDOMAIN. Counts the lookups.
struct TestResolver {
  std::map<std::string, std::string> names{{"other.test", "127.0.0.1"}, {"third.test", "127.0.0.1"}};
  std::mutex mutex;
  std::vector<std::string> asked;

  kuzet::measure::http::HostResolver callback() {
    return [this](const std::string& host) {
      std::lock_guard lock(mutex);
      asked.push_back(host);
      DnsObservation dns;
      dns.hostname = host;
      dns.resolver = "test";
      if (auto it = names.find(host); it != names.end()) {
        dns.addresses.push_back(it->second);
      } else {
        dns.failure = failure::dns_nxdomain;
      }
      return dns;
    };
  }
};

HttpOptions quick_options() {
  HttpOptions o;
  o.timeout_ms = 15000;  // generous: a loaded 2-core machine
  return o;
}

std::string url(const FakeHttpServer& server, const std::string& host, const std::string& path) {
  return server.base_url(host) + path;
}

std::string header_value(const HttpRequest& hop, const std::string& name) {
  for (const auto& h : hop.headers)
    if (h.name == name) return h.value;
  return {};
}

bool has_header(const HttpRequest& hop, const std::string& name) {
  for (const auto& h : hop.headers)
    if (h.name == name) return true;
  return false;
}

// ----- TLS material made with the OpenSSL API (self-signed, EC P-256) -----

struct SelfSigned {
  std::string cert_pem;
  std::string key_pem;
};

SelfSigned make_self_signed(const std::string& dns_name, long not_before_s, long not_after_s) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  REQUIRE(key != nullptr);
  REQUIRE(x != nullptr);
  X509_set_version(x, 2);
  static std::atomic<long> serial{1000};
  ASN1_INTEGER_set(X509_get_serialNumber(x), ++serial);
  X509_gmtime_adj(X509_getm_notBefore(x), not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(x), not_after_s);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(dns_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_subject_alt_name, "DNS:" + dns_name}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    REQUIRE(ext != nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
  auto to_pem = [](auto write) {
    BIO* bio = BIO_new(BIO_s_mem());
    write(bio);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(bio);
    return out;
  };
  SelfSigned out;
  out.cert_pem = to_pem([x](BIO* b) { PEM_write_bio_X509(b, x); });
  out.key_pem = to_pem([key](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// A PEM file that disappears with the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kuzet-http-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".pem");
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

constexpr long kDay = 24 * 3600;

}  // namespace

TEST_CASE("200 page: status, title, headers, body digest, timings; libcurl used our address") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/page"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  const auto& hop = obs.requests[0];
  CHECK(hop.status == 200);
  CHECK(hop.address == "127.0.0.1");
  CHECK(hop.title == kFakePageTitle);
  CHECK(header_value(hop, "Content-Type") == "text/html; charset=utf-8");
  CHECK(hop.body_length > 0);
  CHECK_FALSE(hop.body_truncated);
  CHECK(hop.body_prefix.find("<title>") != std::string::npos);
  CHECK(hop.body_sha256 == kuzet::core::sha256_hex(hop.body_prefix));  // the whole page fits in the prefix
  CHECK(hop.connect_ms > 0);
  CHECK(hop.tls_ms == 0);
  CHECK(hop.first_byte_ms >= hop.connect_ms);
  CHECK(hop.total_ms >= hop.first_byte_ms);
  CHECK(obs.final_url == url(server, "site.test", "/page"));
  CHECK(obs.sni == "");
  CHECK(resolver.asked.empty());
  const auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].header("Host") == "site.test:" + std::to_string(server.port()));
  CHECK(seen[0].header("User-Agent") == HttpOptions{}.user_agent);
}

TEST_CASE("body digest and prefix of a known body") {
  FakeHttpServer server;
  TestResolver resolver;
  auto options = quick_options();
  options.body_prefix_bytes = 100;
  const auto obs = http_get(url(server, "site.test", "/bytes/5000"), "127.0.0.1", options, resolver.callback());
  REQUIRE(obs.requests.size() == 1);
  const auto& hop = obs.requests[0];
  CHECK(obs.failure == "");
  CHECK(hop.body_length == 5000);
  CHECK(hop.body_sha256 == kuzet::core::sha256_hex(fake_body(5000)));
  CHECK(hop.body_prefix == fake_body(100));
  CHECK(hop.title == "");
}

TEST_CASE("relative redirect chain: every hop recorded, same host keeps its address without DNS") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/redirect/3"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 4);
  for (int i = 0; i < 3; ++i) {
    CHECK(obs.requests[i].status == 302);
    CHECK(obs.requests[i].address == "127.0.0.1");
    CHECK(obs.requests[i].location == url(server, "site.test", "/redirect/" + std::to_string(2 - i)));
    CHECK(obs.requests[i + 1].url == obs.requests[i].location);
  }
  CHECK(obs.requests[3].status == 200);
  CHECK(obs.requests[3].location == "");
  CHECK(obs.requests[3].title == kFakePageTitle);
  CHECK(obs.final_url == url(server, "site.test", "/redirect/0"));
  CHECK(resolver.asked.empty());
}

TEST_CASE("absolute redirect") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/absolute/page"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 2);
  CHECK(obs.requests[0].status == 301);
  CHECK(obs.requests[0].location == url(server, "site.test", "/page"));
  CHECK(obs.requests[1].status == 200);
  CHECK(obs.requests[1].title == kFakePageTitle);
}

TEST_CASE("redirect to another host name goes through the resolver, once per host") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/to-host/other.test/to-host/other.test/page"), "127.0.0.1",
                            quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 3);
  CHECK(obs.requests[1].url == url(server, "other.test", "/to-host/other.test/page"));
  CHECK(obs.requests[2].url == url(server, "other.test", "/page"));
  CHECK(obs.requests[2].status == 200);
  CHECK(obs.requests[2].address == "127.0.0.1");
  CHECK(resolver.asked == std::vector<std::string>{"other.test"});
  const auto seen = server.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[1].header("Host") == "other.test:" + std::to_string(server.port()));
  CHECK(seen[2].header("Host") == "other.test:" + std::to_string(server.port()));
}

TEST_CASE("redirect to a host that does not resolve: that hop carries the DNS failure") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/to-host/missing.test/page"), "127.0.0.1", quick_options(),
                            resolver.callback());
  CHECK(obs.failure == failure::dns_nxdomain);
  REQUIRE(obs.requests.size() == 2);
  CHECK(obs.requests[0].status == 302);
  CHECK(obs.requests[1].url == url(server, "missing.test", "/page"));
  CHECK(obs.requests[1].failure == failure::dns_nxdomain);
  CHECK(obs.requests[1].status == 0);
  CHECK(obs.requests[1].address == "");
  CHECK(server.requests().size() == 1);
  CHECK(resolver.asked == std::vector<std::string>{"missing.test"});
}

TEST_CASE("redirect loop is detected") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/loop/a"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == failure::http_redirect_loop);
  REQUIRE(obs.requests.size() == 2);
  CHECK(obs.requests[0].failure == "");
  CHECK(obs.requests[1].url == url(server, "site.test", "/loop/b"));
  CHECK(obs.final_url == url(server, "site.test", "/loop/b"));
  CHECK(server.requests().size() == 2);
}

TEST_CASE("max_redirects: 10 redirects are followed, 11 are too many") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto ten = http_get(url(server, "site.test", "/redirect/10"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(ten.failure == "");
  CHECK(ten.requests.size() == 11);
  CHECK(ten.requests.back().status == 200);

  const auto eleven = http_get(url(server, "site.test", "/redirect/11"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(eleven.failure == failure::http_too_many_redirects);
  CHECK(eleven.requests.size() == 11);
  CHECK(eleven.requests.back().status == 302);
  CHECK(eleven.final_url == url(server, "site.test", "/redirect/1"));

  auto none = quick_options();
  none.max_redirects = 0;
  const auto zero = http_get(url(server, "site.test", "/redirect/1"), "127.0.0.1", none, resolver.callback());
  CHECK(zero.failure == failure::http_too_many_redirects);
  CHECK(zero.requests.size() == 1);
}

TEST_CASE("oversized body stops at the cap: truncated, not a failure, digest of the kept bytes") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/bytes/2097152"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  const auto& hop = obs.requests[0];
  CHECK(hop.status == 200);
  CHECK(hop.body_truncated);
  CHECK(hop.body_length == 512 * 1024);
  CHECK(hop.body_sha256 == kuzet::core::sha256_hex(fake_body(2 * 1024 * 1024).substr(0, 512 * 1024)));
  REQUIRE_FALSE(hop.samples.empty());
  CHECK(hop.samples.size() <= HttpOptions{}.max_samples);
  CHECK(hop.samples.back().bytes == 512 * 1024);
}

TEST_CASE("a body exactly at the cap is not truncated") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/bytes/524288"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  CHECK_FALSE(obs.requests[0].body_truncated);
  CHECK(obs.requests[0].body_length == 524288);
}

TEST_CASE("reset in the middle of the body -> http.reset") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/reset-mid-body"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == failure::http_reset);
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 200);
  CHECK(obs.requests[0].body_length <= 64 * 1024);
}

TEST_CASE("reset instead of a response -> http.reset") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/reset"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == failure::http_reset);
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 0);
}

TEST_CASE("close without a response -> http.eof") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/close"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == failure::http_eof);
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 0);
  CHECK(obs.requests[0].body_sha256 == "");
}

TEST_CASE("body shorter than Content-Length -> http.eof, the partial body still recorded") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/short-body"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == failure::http_eof);
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 200);
  CHECK(obs.requests[0].body_length == 500);
  CHECK(obs.requests[0].body_sha256 == kuzet::core::sha256_hex(fake_body(500)));
}

TEST_CASE("server that accepts and says nothing -> http.timeout") {
  FakeHttpServer server;
  TestResolver resolver;
  auto options = quick_options();
  options.timeout_ms = 500;
  const auto obs = http_get(url(server, "site.test", "/silent"), "127.0.0.1", options, resolver.callback());
  CHECK(obs.failure == failure::http_timeout);
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].connect_ms > 0);
  CHECK(obs.requests[0].total_ms >= 450);  // libcurl stops at about timeout_ms (its clock is coarse)
}

TEST_CASE("garbage instead of HTTP -> http.error") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/garbage"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == failure::http_error);
  REQUIRE(obs.requests.size() == 1);
}

TEST_CASE("nothing listening -> tcp.refused") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  const int port = ntohs(sa.sin_port);
  ::close(fd);  // bound, never listened: the port refuses
  TestResolver resolver;
  const auto obs = http_get("http://site.test:" + std::to_string(port) + "/", "127.0.0.1", quick_options(),
                            resolver.callback());
  CHECK(obs.failure == failure::tcp_refused);
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 0);
}

TEST_CASE("SYN never answered -> tcp.timeout") {
  // A listener with a full accept queue that never accepts: Linux drops further SYNs.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(::listen(listener, 0) == 0);
  socklen_t len = sizeof sa;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&sa), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {  // fill the queue; connects beyond it stay in SYN_SENT (non-blocking)
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    fillers.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  TestResolver resolver;
  auto options = quick_options();
  options.timeout_ms = 500;
  const auto obs = http_get("http://site.test:" + std::to_string(ntohs(sa.sin_port)) + "/", "127.0.0.1", options,
                            resolver.callback());
  CHECK(obs.failure == failure::tcp_timeout);
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].connect_ms == 0);
  for (int fd : fillers) ::close(fd);
  ::close(listener);
}

TEST_CASE("slow drip: increasing samples, plausible throughput") {
  FakeHttpServer server;
  TestResolver resolver;
  // 12 chunks of 4000 bytes, 50 ms apart: the last 44000 bytes take at least 550 ms -> at most ~640 kbit/s.
  const auto obs = http_get(url(server, "site.test", "/drip/12/4000/50"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  const auto& samples = obs.requests[0].samples;
  REQUIRE(samples.size() >= 2);
  for (size_t i = 1; i < samples.size(); ++i) {
    CHECK(samples[i].bytes > samples[i - 1].bytes);
    CHECK(samples[i].t_ms >= samples[i - 1].t_ms);
  }
  CHECK(samples.back().bytes == 48000);
  CHECK(samples.back().t_ms - samples.front().t_ms >= 500);
  CHECK(obs.throughput_bps > 20000);    // loose: a loaded machine is slow, not 30 times slower
  CHECK(obs.throughput_bps < 2000000);  // the server cannot send faster than ~640 kbit/s
}

TEST_CASE("samples are thinned to max_samples, keeping the first and the last") {
  FakeHttpServer server;
  TestResolver resolver;
  auto options = quick_options();
  options.max_samples = 4;
  const auto obs = http_get(url(server, "site.test", "/drip/20/1000/10"), "127.0.0.1", options, resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  const auto& samples = obs.requests[0].samples;
  CHECK(samples.size() >= 2);
  CHECK(samples.size() <= 4);
  CHECK(samples.front().bytes <= 2000);
  CHECK(samples.back().bytes == 20000);
}

TEST_CASE("only the final response's headers are kept (after 100 Continue)") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/continue"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 200);
  CHECK(has_header(obs.requests[0], "X-Final"));
  CHECK_FALSE(has_header(obs.requests[0], "X-Interim"));
}

TEST_CASE("a flood of headers is capped") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/headers/2000"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 200);
  CHECK(obs.requests[0].headers.size() == 100);
}

TEST_CASE("hostile header bytes: valid UTF-8, values capped, folded lines joined, no follow without 3xx") {
  FakeHttpServer server;
  server.route("/hostile-headers", [](FakeConnection& c, const kuzet::test_http::FakeRequest&) {
    c.send("HTTP/1.1 200 OK\r\n"
           "X-Bad: \xff\xfe\xc3(\r\n"
           "X-Long: " + std::string(20000, 'a') + "\r\n"
           "X-Folded: first\r\n  second\r\n"
           "Location: /page\r\n"
           "Content-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/hostile-headers"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  const auto& hop = obs.requests[0];
  CHECK(hop.status == 200);
  CHECK(hop.location == "");
  CHECK(header_value(hop, "X-Bad") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD(");
  CHECK(header_value(hop, "X-Long") == std::string(8 * 1024, 'a'));
  CHECK(header_value(hop, "X-Folded") == "first second");
  for (const auto& h : hop.headers) {
    CHECK(kuzet::measure::http::sanitize_utf8(h.name) == h.name);
    CHECK(kuzet::measure::http::sanitize_utf8(h.value) == h.value);
  }
}

TEST_CASE("non-redirect statuses are recorded without failure") {
  FakeHttpServer server;
  TestResolver resolver;
  const auto obs = http_get(url(server, "site.test", "/status/451"), "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 451);
}

TEST_CASE("invalid URL -> http.error without any request") {
  TestResolver resolver;
  const auto obs = http_get("ftp://site.test/", "127.0.0.1", quick_options(), resolver.callback());
  CHECK(obs.failure == failure::http_error);
  CHECK(obs.requests.empty());
}

TEST_CASE("IPv6 address is pinned in brackets") {
  std::unique_ptr<FakeHttpServer> server;
  try {
    FakeServerOptions v6;
    v6.bind_address = "::1";
    server = std::make_unique<FakeHttpServer>(v6);
  } catch (const std::exception& e) {
    MESSAGE("no IPv6 loopback here, skipped: " << e.what());
    return;
  }
  TestResolver resolver;
  const auto obs = http_get(url(*server, "v6.test", "/page"), "::1", quick_options(), resolver.callback());
  CHECK(obs.failure == "");
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].status == 200);
  CHECK(obs.requests[0].address == "::1");
}

TEST_CASE("16 requests at once from 16 threads") {
  FakeHttpServer server;
  TestResolver resolver;
  std::vector<HttpObservation> results(16);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] {
      results[i] = http_get(url(server, "site.test", i % 2 ? "/page" : "/redirect/2"), "127.0.0.1", quick_options(),
                            resolver.callback());
    });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < results.size(); ++i) {
    CHECK(results[i].failure == "");
    REQUIRE_FALSE(results[i].requests.empty());
    CHECK(results[i].requests.back().status == 200);
    CHECK(results[i].requests.back().title == kFakePageTitle);
  }
}

// ----- HTTPS -----

TEST_CASE("HTTPS with a trusted certificate: SNI sent, page fetched") {
  const auto cert = make_self_signed("secure.test", -kDay, 30 * kDay);
  FakeHttpServer server(FakeServerOptions{.tls_cert_pem = cert.cert_pem, .tls_key_pem = cert.key_pem});
  TempFile ca(cert.cert_pem);
  TestResolver resolver;
  auto options = quick_options();
  options.ca_bundle = ca.path();
  const auto obs = http_get(url(server, "secure.test", "/redirect/1"), "127.0.0.1", options, resolver.callback());
  CHECK(obs.failure == "");
  CHECK(obs.sni == "secure.test");
  REQUIRE(obs.requests.size() == 2);
  CHECK(obs.requests[0].location == url(server, "secure.test", "/redirect/0"));
  CHECK(obs.requests[1].status == 200);
  CHECK(obs.requests[1].title == kFakePageTitle);
  CHECK(obs.requests[1].tls_ms >= obs.requests[1].connect_ms);
  CHECK(obs.requests[1].tls_ms > 0);
  const auto seen = server.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].sni == "secure.test");
}

TEST_CASE("HTTPS certificate failures map to tls.* verification failures") {
  const auto cert = make_self_signed("secure.test", -kDay, 30 * kDay);
  const auto stranger = make_self_signed("stranger.test", -kDay, 30 * kDay);
  FakeHttpServer server(FakeServerOptions{.tls_cert_pem = cert.cert_pem, .tls_key_pem = cert.key_pem});
  TempFile trusted(cert.cert_pem);
  TempFile untrusted(stranger.cert_pem);
  TestResolver resolver;
  auto options = quick_options();

  SUBCASE("unknown authority") {
    options.ca_bundle = untrusted.path();
    const auto obs = http_get(url(server, "secure.test", "/page"), "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == failure::tls_unknown_authority);
    REQUIRE(obs.requests.size() == 1);
    CHECK(obs.requests[0].status == 0);
  }
  SUBCASE("host name mismatch") {
    options.ca_bundle = trusted.path();
    const auto obs = http_get(url(server, "wrong.test", "/page"), "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == failure::tls_hostname_mismatch);
  }
  SUBCASE("verification off accepts anything") {
    options.ca_bundle = untrusted.path();
    options.verify_peer = false;
    const auto obs = http_get(url(server, "wrong.test", "/page"), "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == "");
    REQUIRE(obs.requests.size() == 1);
    CHECK(obs.requests[0].status == 200);
  }
}

TEST_CASE("HTTPS with an expired certificate -> tls.expired") {
  const auto cert = make_self_signed("secure.test", -30 * kDay, -kDay);
  FakeHttpServer server(FakeServerOptions{.tls_cert_pem = cert.cert_pem, .tls_key_pem = cert.key_pem});
  TempFile ca(cert.cert_pem);
  TestResolver resolver;
  auto options = quick_options();
  options.ca_bundle = ca.path();
  const auto obs = http_get(url(server, "secure.test", "/page"), "127.0.0.1", options, resolver.callback());
  CHECK(obs.failure == failure::tls_expired);
}

TEST_CASE("neutral SNI: no SNI sent, Host header keeps the real name") {
  const auto cert = make_self_signed("secure.test", -kDay, 30 * kDay);
  FakeHttpServer server(FakeServerOptions{.tls_cert_pem = cert.cert_pem, .tls_key_pem = cert.key_pem});
  TestResolver resolver;
  auto options = quick_options();
  options.sni_mode = SniMode::none;
  const auto target = url(server, "secure.test", "/bytes/3000");
  const auto obs = http_get(target, "127.0.0.1", options, resolver.callback());
  CHECK(obs.failure == "");
  CHECK(obs.sni == "");
  REQUIRE(obs.requests.size() == 1);
  CHECK(obs.requests[0].url == target);
  CHECK(obs.requests[0].status == 200);
  CHECK(obs.requests[0].body_sha256 == kuzet::core::sha256_hex(fake_body(3000)));
  const auto seen = server.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].sni == "");
  CHECK(seen[0].header("Host") == "secure.test:" + std::to_string(server.port()));
}

TEST_CASE("TLS handshake misbehaviour -> tls.timeout / tls.reset / tls.eof / tls.alert / tls.error") {
  FakeHttpServer server;  // plain TCP; the raw handler plays the censor after the ClientHello
  TestResolver resolver;
  auto options = quick_options();
  const std::string target = "https://secure.test:" + std::to_string(server.port()) + "/";

  SUBCASE("ClientHello swallowed") {
    server.set_raw_handler([](FakeConnection& c) {
      c.read_some(10000);
      c.wait_for_peer_close(60000);
    });
    options.timeout_ms = 500;
    const auto obs = http_get(target, "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == failure::tls_timeout);
    REQUIRE(obs.requests.size() == 1);
    CHECK(obs.requests[0].tls_ms == 0);
  }
  SUBCASE("RST after the ClientHello") {
    server.set_raw_handler([](FakeConnection& c) {
      c.read_some(10000);
      c.reset();
    });
    const auto obs = http_get(target, "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == failure::tls_reset);
  }
  SUBCASE("FIN after the ClientHello") {
    server.set_raw_handler([](FakeConnection& c) {
      c.read_some(10000);
      c.close();
    });
    const auto obs = http_get(target, "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == failure::tls_eof);
  }
  SUBCASE("fatal alert after the ClientHello") {
    server.set_raw_handler([](FakeConnection& c) {
      c.read_some(10000);
      c.send(std::string_view("\x15\x03\x03\x00\x02\x02\x28", 7));  // alert: fatal, handshake_failure
      c.close();
    });
    const auto obs = http_get(target, "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == failure::tls_alert);
  }
  SUBCASE("not TLS at all") {
    server.set_raw_handler([](FakeConnection& c) {
      c.read_some(10000);
      c.send("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      c.close();
    });
    const auto obs = http_get(target, "127.0.0.1", options, resolver.callback());
    CHECK(obs.failure == failure::tls_error);
  }
}
