// The volunteer's addresses never reach a signed measurement (probe/privacy/redact.hpp): pure, recorded inputs.
#include "probe/privacy/redact.hpp"

#include <doctest/doctest.h>

#include "core/crypto/crypto.hpp"

using kuzet::probe::MeasurementRecord;
using kuzet::probe::privacy::AddressRedactor;
using kuzet::probe::privacy::redact_record;

TEST_CASE("IPv4: dotted, zero-padded and dashed forms, whole tokens only") {
  const AddressRedactor r({"203.0.113.7"});
  CHECK(r.redact("Your IP: 203.0.113.7.") == "Your IP: [probe-address].");
  CHECK(r.redact("<b>203.0.113.7</b> and 203.0.113.7") == "<b>[probe-address]</b> and [probe-address]");
  CHECK(r.redact("ip=203.000.113.007&x") == "ip=[probe-address]&x");
  CHECK(r.redact("host-203-0-113-7.dsl.example.net") == "host-[probe-address].dsl.example.net");
  CHECK(r.redact("::ffff:203.0.113.7") == "::ffff:[probe-address]");
  // Other addresses that merely contain the text are left alone.
  CHECK(r.redact("203.0.113.71 and 1203.0.113.7 and 203.0.113.70") ==
        "203.0.113.71 and 1203.0.113.7 and 203.0.113.70");
  CHECK(r.redact("") == "");
}

TEST_CASE("IPv6: any compression, padding or case") {
  const AddressRedactor r({"2001:db8:0:0:1:0:0:7"});
  for (const char* form : {"2001:db8::1:0:0:7", "2001:db8:0:0:1::7", "2001:DB8::1:0:0:7", "2001:db8:0:0:1:0:0:7",
                           "2001:0db8:0000:0000:0001:0000:0000:0007", "2001:db8::1:0:0:7"}) {
    CAPTURE(form);
    CHECK(r.redact(std::string("addr=") + form + ";") == "addr=[probe-address];");
    CHECK(r.redact(std::string("[") + form + "]:443") == "[[probe-address]]:443");
  }
  CHECK(r.redact("2001:db8::1:0:0:71") == "2001:db8::1:0:0:71");
  CHECK(r.redact("2001:db8::1:0:0:7a") == "2001:db8::1:0:0:7a");
  CHECK(r.redact("12001:db8::1:0:0:7") == "12001:db8::1:0:0:7");
}

TEST_CASE("IPv4: as an integer, URL-encoded, in a reverse-DNS name (issue 10)") {
  const AddressRedactor r({"203.0.113.7"});
  // 203.0.113.7 = 0xcb007107 = 3405803783
  CHECK(r.redact("ip_num=3405803783;") == "ip_num=[probe-address];");
  CHECK(r.redact("ip=0xCB007107&") == "ip=[probe-address]&");
  CHECK(r.redact("u=203%2E0%2E113%2E7&v=1") == "u=[probe-address]&v=1");
  CHECK(r.redact("q=%20203.0.113.7%20") == "q=%20[probe-address]%20");
  CHECK(r.redact("7.113.0.203.in-addr.arpa. PTR") == "[probe-address]. PTR");
  // Numbers that only contain it, or other numbers, stay.
  CHECK(r.redact("34058037830 13405803783 3405803784 0xcb0071070") == "34058037830 13405803783 3405803784 0xcb0071070");
}

TEST_CASE("IPv6: URL-encoded colons and the ip6.arpa name") {
  const AddressRedactor r({"2001:db8::7"});
  CHECK(r.redact("addr=2001%3Adb8%3A%3A7&x") == "addr=[probe-address]&x");
  CHECK(r.redact("%5B2001%3adb8%3a%3a7%5D") == "%5B[probe-address]%5D");
  CHECK(r.redact("7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa") == "[probe-address]");
  CHECK(r.redact("2001%3Adb8%3A%3A71") == "2001%3Adb8%3A%3A71");
}

TEST_CASE("base64: the address's text at any alignment, standard and URL-safe alphabets") {
  const AddressRedactor r({"203.0.113.7", "2001:db8::7"});
  for (const std::string address : {"203.0.113.7", "2001:db8::7"}) {
    for (const std::string before : {"", "{", "ip:", "{\"ip\":\""}) {
      const std::string blob = kuzet::core::base64_encode(before + address + "\",\"country\":\"KZ\"}");
      CAPTURE(blob);
      const std::string redacted = r.redact("Set-Cookie: session=" + blob + "; Path=/");
      CHECK(redacted != "Set-Cookie: session=" + blob + "; Path=/");
      CHECK(redacted.find("[probe-address]") != std::string::npos);
      std::string url_safe = blob;
      for (char& c : url_safe) c = c == '+' ? '-' : c == '/' ? '_' : c;
      CHECK(r.redact(url_safe).find("[probe-address]") != std::string::npos);
    }
  }
  // Base64 of other text is left alone.
  const std::string other = kuzet::core::base64_encode("{\"ip\":\"203.0.113.8\",\"country\":\"KZ\"}");
  CHECK(r.redact(other) == other);
}

TEST_CASE("IPv4-mapped IPv6 also removes the IPv4 form; junk addresses are ignored") {
  const AddressRedactor r({"::ffff:198.51.100.9", "not an address", ""});
  CHECK_FALSE(r.empty());
  CHECK(r.redact("you are 198.51.100.9") == "you are [probe-address]");
  CHECK(AddressRedactor({"nope", "1.2.3"}).empty());
  CHECK(AddressRedactor().redact("203.0.113.7") == "203.0.113.7");
}

TEST_CASE("a record: headers, URLs, titles, body prefixes and http evidence; the body hash is dropped") {
  MeasurementRecord record;
  record.input = "http://example.org/";
  kuzet::measure::HttpObservation http;
  kuzet::measure::HttpRequest first;
  first.url = "http://example.org/";
  first.address = "192.0.2.10";
  first.status = 302;
  first.headers = {{"Location", "http://portal.example/?ip=203.0.113.7"}, {"X-Client-IP", "203.0.113.7"},
                   {"Server", "nginx"}};
  first.location = "http://portal.example/?ip=203.0.113.7";
  kuzet::measure::HttpRequest second;
  second.url = "http://portal.example/?ip=203.0.113.7";
  second.status = 200;
  second.title = "Hello 203.0.113.7";
  second.body_prefix = "<html><title>Hello 203.0.113.7</title>your address is 203.0.113.7</html>";
  second.body_length = second.body_prefix.size();
  second.body_sha256 = "0123";
  http.requests = {first, second};
  http.final_url = second.url;
  record.observations.http = http;
  record.observations.dns.addresses = {"192.0.2.10"};
  record.verdict.explanation = "Following the redirect to http://portal.example/?ip=203.0.113.7 failed";
  record.verdict.evidence = {{"http.title", "Hello 203.0.113.7"}, {"dns.local", "203.0.113.7"}};

  const size_t changed = redact_record(record, AddressRedactor({"203.0.113.7", "fe80::1"}));
  CHECK(changed == 9);
  const auto& out = record.observations.http->requests;
  CHECK(out[0].headers[0].value == "http://portal.example/?ip=[probe-address]");
  CHECK(out[0].headers[1].value == "[probe-address]");
  CHECK(out[0].headers[2].value == "nginx");
  CHECK(out[0].location == "http://portal.example/?ip=[probe-address]");
  CHECK(out[0].address == "192.0.2.10");
  CHECK(out[1].url == "http://portal.example/?ip=[probe-address]");
  CHECK(out[1].title == "Hello [probe-address]");
  CHECK(out[1].body_prefix == "<html><title>Hello [probe-address]</title>your address is [probe-address]</html>");
  CHECK(out[1].body_sha256 == "");  // the hash of a short page would give the address away
  CHECK(out[0].body_sha256 == "");  // untouched: it had none
  CHECK(record.observations.http->final_url == "http://portal.example/?ip=[probe-address]");
  CHECK(record.verdict.explanation == "Following the redirect to http://portal.example/?ip=[probe-address] failed");
  CHECK(record.verdict.evidence[0].value == "Hello [probe-address]");
  CHECK(record.verdict.evidence[1].value == "203.0.113.7");  // DNS evidence names the target's answers

  // A record without the addresses is left exactly as it was.
  MeasurementRecord clean;
  clean.observations.http = kuzet::measure::HttpObservation{};
  kuzet::measure::HttpRequest page;
  page.body_prefix = "nothing here 203.0.113.8";
  page.body_sha256 = "abcd";
  clean.observations.http->requests = {page};
  CHECK(redact_record(clean, AddressRedactor({"203.0.113.7"})) == 0);
  CHECK(clean.observations.http->requests[0].body_sha256 == "abcd");
}
