// Unit tests of the pure helpers behind the verdicts (lib/analysis/rules.hpp).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <regex>
#include <set>

#include "analysis/analysis.hpp"
#include "analysis/rules.hpp"
#include "i18n/embedded_verdicts.hpp"

using namespace kuzet::analysis;

TEST_CASE("bogon ranges: IPv4") {
  for (const char* a : {"0.0.0.0", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1",
                        "127.1.2.3", "169.254.1.1", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1",
                        "192.168.1.1", "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.1",
                        "239.255.255.250", "240.0.0.1", "255.255.255.255"}) {
    CAPTURE(a);
    CHECK(is_bogon_address(a));
  }
  // Neighbours of the ranges are public.
  for (const char* a : {"1.1.1.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255",
                        "128.0.0.1", "169.253.255.255", "172.15.255.255", "172.32.0.0", "192.0.3.1", "192.167.255.255",
                        "192.169.0.0", "198.17.255.255", "198.20.0.0", "203.0.114.1", "223.255.255.255",
                        "89.218.5.70", "92.46.53.17"}) {
    CAPTURE(a);
    CHECK_FALSE(is_bogon_address(a));
  }
}

TEST_CASE("bogon ranges: IPv6") {
  for (const char* a : {"::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "ff02::1", "2001:db8::1",
                        "100::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "[::1]", "3fff::1"}) {
    CAPTURE(a);
    CHECK(is_bogon_address(a));
  }
  for (const char* a : {"2a03:2880:f12f:83:face:b00c::25de", "2001:4860:4860::8888", "::ffff:8.8.8.8",
                        "64:ff9b::8.8.8.8", "2001:db9::1"}) {
    CAPTURE(a);
    CHECK_FALSE(is_bogon_address(a));
  }
}

TEST_CASE("bogon check ignores text that is not an address") {
  for (const char* a : {"", "example.com", "10.0.0", "10.0.0.1.5", "1.2.3.4:80", "::g", "999.1.1.1"}) {
    CAPTURE(a);
    CHECK_FALSE(is_bogon_address(a));
  }
}

TEST_CASE("median") {
  CHECK_FALSE(median({}).has_value());
  CHECK(*median({5}) == 5);
  CHECK(*median({3, 1, 2}) == 2);
  CHECK(*median({4, 1, 3, 2}) == doctest::Approx(2.5));
  CHECK(*median({1e6, 1e6, 1e3}) == 1e6);  // one slow outlier does not move the baseline
}

TEST_CASE("effective throughput: step value first, else from the samples") {
  kuzet::measure::HttpObservation http;
  CHECK(effective_throughput_bps(http) == 0);
  http.requests.emplace_back();
  http.requests.back().samples = {{100, 0}, {1100, 125000}};  // 125 kB in 1 s = 1 Mbit/s
  CHECK(effective_throughput_bps(http) == doctest::Approx(1e6));
  http.throughput_bps = 5e6;
  CHECK(effective_throughput_bps(http) == 5e6);
  http.throughput_bps = 0;
  http.requests.back().samples = {{100, 1000}};  // one sample: no rate
  CHECK(effective_throughput_bps(http) == 0);
  http.requests.back().samples = {{100, 1000}, {100, 2000}};  // no time elapsed
  CHECK(effective_throughput_bps(http) == 0);
}

TEST_CASE("method vocabulary is closed") {
  CHECK(dns_method("dns.nxdomain") == "dns.nxdomain");
  CHECK(dns_method("dns.no_answer") == "dns.nxdomain");
  CHECK(dns_method("dns.refused") == "dns.nxdomain");
  CHECK(dns_method("dns.timeout") == "dns.timeout");
  CHECK(dns_method("dns.servfail") == "dns.timeout");
  CHECK(dns_method("dns.error") == "dns.timeout");
  CHECK(tcp_method("tcp.timeout") == "tcp.timeout");
  CHECK(tcp_method("tcp.unreachable") == "tcp.timeout");
  CHECK(tcp_method("tcp.reset") == "tcp.reset");
  CHECK(tcp_method("tcp.refused") == "tcp.refused");
  CHECK(tcp_method("tcp.error") == "tcp.timeout");
  CHECK(tls_method("tls.timeout") == "tls.timeout");
  CHECK(tls_method("tls.eof") == "tls.eof");
  CHECK(tls_method("tls.reset") == "tls.reset");
  CHECK(tls_method("tls.alert") == "tls.reset");
  CHECK(tls_method("tls.error") == "tls.reset");
  CHECK(http_method("http.timeout") == "http.timeout");
  CHECK(http_method("tcp.timeout") == "http.timeout");
  CHECK(http_method("tls.timeout") == "http.timeout");
  CHECK(http_method("http.reset") == "http.reset");
  CHECK(http_method("tcp.reset") == "http.reset");
  CHECK(http_method("http.eof") == "http.eof");
  CHECK(http_method("http.error") == "http.eof");
  CHECK(http_method("http.redirect_loop") == "");
  CHECK(http_method("tls.unknown_authority") == "");
  CHECK(method_for_failure("dns.nxdomain") == "dns.nxdomain");
  CHECK(method_for_failure("tcp.refused") == "tcp.refused");
  CHECK(method_for_failure("tls.alert") == "tls.reset");
  CHECK(method_for_failure("tls.hostname_mismatch") == "");
  CHECK(method_for_failure("http.eof") == "http.eof");
  CHECK(method_for_failure("something.else") == "");
}

TEST_CASE("url host and site") {
  CHECK(url_host("https://www.Example.com/path?q=1") == "www.example.com");
  CHECK(url_host("http://example.com:8080") == "example.com");
  CHECK(url_host("http://user@example.com/") == "example.com");
  CHECK(url_host("http://[2001:db8::1]:80/") == "2001:db8::1");
  CHECK(url_host("not a url") == "");
  CHECK(site_of_host("www.Example.com.") == "example.com");
  CHECK(site_of_host("example.com") == "example.com");
  CHECK(site_of_host("www2.example.com") == "www2.example.com");
}

TEST_CASE("blockpage fingerprints") {
  kuzet::measure::HttpRequest r;
  r.status = 200;
  r.title = "Доступ ограничен";
  r.body_prefix = "<html><body>Access to this RESOURCE is restricted";
  r.headers = {{"X-Blocked-By", "FortiGuard Web Filtering"}};
  kuzet::spec::BlockpageFingerprint fp;
  CHECK_FALSE(fingerprint_matches(fp, r));  // an empty fingerprint matches nothing
  fp.address = "1.2.3.4";
  CHECK_FALSE(fingerprint_matches(fp, r));  // address-only: judged on DNS answers, not here
  fp = {};
  fp.body_contains = "resource is restricted";
  CHECK(fingerprint_matches(fp, r));
  fp.title_contains = "ограничен";
  CHECK(fingerprint_matches(fp, r));
  fp.title_contains = "Forbidden";
  CHECK_FALSE(fingerprint_matches(fp, r));  // every set field must match
  fp = {};
  fp.header_name = "x-blocked-by";
  CHECK(fingerprint_matches(fp, r));
  fp.header_contains = "fortiguard";
  CHECK(fingerprint_matches(fp, r));
  fp.header_contains = "Squid";
  CHECK_FALSE(fingerprint_matches(fp, r));
}

TEST_CASE("known interception roots by certificate or key hash") {
  kuzet::spec::InterceptionRoot qaznet{"Qaznet Trust Network",
                                       "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2",
                                       "tbqN1/iVZMKInT1kU8hJmMd4JJGbZOoINapimGWRvlA="};
  kuzet::measure::CertificateInfo leaf, root_by_sha, root_by_key;
  leaf.sha256 = "aa";
  leaf.spki_sha256 = "bb";
  root_by_sha.sha256 = "00309C736DD661DA6F1EB24173AA849944C168A43A15BFFD192EECFDB6F8DBD2";  // case-insensitive hex
  root_by_key.sha256 = "cc";
  root_by_key.spki_sha256 = qaznet.spki_sha256;
  CHECK(known_root_in_chain({leaf}, {qaznet}) == "");
  CHECK(known_root_in_chain({leaf, root_by_sha}, {qaznet}) == "Qaznet Trust Network");
  CHECK(known_root_in_chain({leaf, root_by_key}, {qaznet}) == "Qaznet Trust Network");
  CHECK(known_root_in_chain({leaf, root_by_key}, {}) == "");
  kuzet::spec::InterceptionRoot no_spki{"x", "dd", ""};
  kuzet::measure::CertificateInfo empty_spki;
  empty_spki.sha256 = "ee";
  CHECK(known_root_in_chain({empty_spki}, {no_spki}) == "");  // empty fields never match each other
}

TEST_CASE("final response of a redirect chain") {
  kuzet::measure::HttpObservation http;
  CHECK(final_response(http) == nullptr);
  http.requests.resize(2);
  http.requests[0].status = 302;
  CHECK(final_response(http) == nullptr);  // the last hop got no response
  http.requests[1].status = 200;
  CHECK(final_response(http) == &http.requests[1]);
}

TEST_CASE("throttling suspects need a baseline, a big body and a 10x gap") {
  auto make = [](double bps, uint64_t body) {
    TargetInput t;
    t.category = "other";
    auto& o = t.observations;
    o.url = "http://site.example/big";
    o.scheme = "http";
    o.host = "site.example";
    o.dns.addresses = {"93.184.216.34"};
    o.tcp.push_back({"93.184.216.34", 80, "", 30});
    kuzet::measure::HttpObservation http;
    http.url = o.url;
    http.final_url = o.url;
    http.requests.emplace_back();
    http.requests.back().url = o.url;
    http.requests.back().status = 200;
    http.requests.back().body_length = body;
    http.throughput_bps = bps;
    o.http = http;
    return t;
  };
  std::vector<TargetInput> run{make(30e6, 300000), make(20e6, 300000), make(40e6, 300000), make(1e6, 300000)};
  CHECK(throttling_suspects(run) == std::vector<size_t>{3});
  run[3] = make(3e6, 300000);  // 1/10 of the 30 Mbit/s median of the others, not less
  CHECK(throttling_suspects(run) == std::vector<size_t>{3});
  run[3] = make(3.5e6, 300000);
  CHECK(throttling_suspects(run).empty());
  run[3] = make(1e6, 20000);  // too small to judge
  CHECK(throttling_suspects(run).empty());
  std::vector<TargetInput> alone{make(1e6, 300000)};
  CHECK(throttling_suspects(alone).empty());  // nothing to compare with
  // The control's own rate, when it fetched enough, must also be >= 10x.
  run[3] = make(1e6, 300000);
  kuzet::measure::ControlObservations control;
  control.target = make(5e6, 300000).observations;
  run[3].control = control;
  CHECK(throttling_suspects(run).empty());
  run[3].control->target.http->throughput_bps = 100e6;
  CHECK(throttling_suspects(run) == std::vector<size_t>{3});
}

TEST_CASE("degenerate inputs give inconclusive verdicts, never a crash") {
  CHECK(analyze_run({}, {}, {}).empty());
  std::vector<TargetInput> run(3);
  run[1].observations.scheme = "https";
  run[1].observations.dns.addresses = {"not an address"};
  run[2].observations.dns.addresses = {"93.184.216.34"};
  run[2].observations.http.emplace();  // an HTTP observation without requests
  run[2].observations.tcp.push_back({"93.184.216.34", 80, "", 1});
  run[2].control.emplace();
  run[2].control->target.dns.addresses = {"93.184.216.34"};
  RunFacts facts;
  facts.collector_reachable = true;
  const auto verdicts = analyze_run(run, facts, {});
  REQUIRE(verdicts.size() == 3);
  for (const auto& v : verdicts) {
    CAPTURE(v.explanation);
    CHECK(v.verdict != "ok");
    CHECK_FALSE(v.explanation.empty());
  }
  CHECK(verdicts[0].verdict == "inconclusive");
}

TEST_CASE("common name of a distinguished name") {
  CHECK(common_name("C=KZ, CN=Security Certificate") == "Security Certificate");
  CHECK(common_name("CN=www.example.com,O=Example\\, Inc.,C=US") == "www.example.com");
  CHECK(common_name("O=Example\\, Inc., CN=Example CA") == "Example CA");
  CHECK(common_name("/C=KZ/CN=Qaznet Trust Network") == "Qaznet Trust Network");
  CHECK(common_name("C=US, O=No Common Name") == "");
  CHECK(common_name("") == "");
}

TEST_CASE("known interception roots by the issuer name of a presented certificate") {
  const std::vector<kuzet::spec::InterceptionRoot> roots{{"Qaznet Trust Network (2019)", "00", ""}, {"ISCA", "11", ""}};
  kuzet::measure::CertificateInfo leaf, intermediate, public_leaf;
  leaf.subject = "CN=www.facebook.com";
  leaf.issuer = "C=KZ, CN=Security Certificate";
  intermediate.subject = "C=KZ, CN=Security Certificate";
  intermediate.issuer = "C=KZ, CN=qaznet trust network";
  public_leaf.subject = "CN=www.qaznet-trust-network-fan-club.org";
  public_leaf.issuer = "C=US, O=Let's Encrypt, CN=R11";
  CHECK(known_root_named_in_chain({leaf, intermediate}, roots) == "Qaznet Trust Network (2019)");
  CHECK(known_root_named_in_chain({leaf}, roots) == "");
  CHECK(known_root_named_in_chain({public_leaf}, roots) == "");  // whole CN only, not a substring
  kuzet::measure::CertificateInfo short_name;
  short_name.issuer = "CN=ISCA";
  CHECK(known_root_named_in_chain({short_name}, roots) == "ISCA");
  CHECK(known_root_named_in_chain({short_name}, {{"ISC", "", ""}}) == "");  // names under 4 characters never match
}

TEST_CASE("a URL naming an address has no DNS to judge: a private address there is not a bogon answer") {
  TargetInput t;
  t.category = "other";
  auto& o = t.observations;
  o.url = "http://127.0.0.1:8080/";
  o.scheme = "http";
  o.host = "127.0.0.1";
  o.port = 8080;
  o.dns.hostname = "127.0.0.1";
  o.dns.addresses = {"127.0.0.1"};
  o.tcp.push_back({"127.0.0.1", 8080, "", 1});
  kuzet::measure::HttpObservation http;
  http.url = o.url;
  http.final_url = o.url;
  http.requests.emplace_back();
  http.requests.back().url = o.url;
  http.requests.back().status = 200;
  http.requests.back().body_length = 500;
  o.http = http;
  auto verdicts = analyze_run({t}, RunFacts{}, Knowledge{});
  REQUIRE(verdicts.size() == 1);
  CHECK(verdicts[0].method != "dns.bogon");
  CHECK(verdicts[0].verdict != "blocked");
  // The same address given by a resolver is a bogon answer.
  t.observations.host = "news.example";
  t.observations.dns.hostname = "news.example";
  t.observations.dns.queries.push_back({"A", "NOERROR", {{"A", "127.0.0.1", 300}}, "", 5});
  verdicts = analyze_run({t}, RunFacts{}, Knowledge{});
  CHECK(verdicts[0].method == "dns.bogon");
}

TEST_CASE("verdict texts: every language has every English key with the same placeholders") {
  auto placeholders = [](const std::string& text) {
    std::multiset<std::string> out;
    static const std::regex re(R"(\{(\w+)\})");
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) out.insert((*it)[1]);
    return out;
  };
  const auto en = nlohmann::json::parse(kuzet::i18n::embedded::verdicts("en"));
  REQUIRE(en.size() > 40);
  for (const char* lang : {"ru", "kk"}) {
    CAPTURE(lang);
    const auto texts = nlohmann::json::parse(kuzet::i18n::embedded::verdicts(lang));
    CHECK(texts.size() == en.size());
    for (auto it = en.begin(); it != en.end(); ++it) {
      CAPTURE(it.key());
      REQUIRE(texts.contains(it.key()));
      CHECK(placeholders(texts[it.key()].get<std::string>()) == placeholders(it.value().get<std::string>()));
    }
  }
  CHECK_THROWS_AS(explain(Message{"", "ok.matches", {{"status", "200"}}, {}}, "de"), std::invalid_argument);
  CHECK(explain(Message{"", "ok.matches", {{"status", "200"}}, {}}, "ru") ==
        "Все шаги удались, и страница совпадает с контрольной (HTTP 200).");
}
