// Unit tests of the pure DNS parts: reply bytes -> DnsQuery, resolver strings.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>

#include "core/vocabulary/failure.hpp"
#include "measure/dns/dns.hpp"
#include "measure/dns/dns_parse.hpp"
#include "tests/dns/fake_dns_server.hpp"

using namespace kuzet;
using kuzet::tests::FakeDnsConfig;
using kuzet::tests::FakeDnsMode;

namespace {

measure::DnsQuery parse(const std::vector<uint8_t>& reply, const std::string& type) {
  measure::DnsQuery query;
  query.query_type = type;
  measure::dns::parse_dns_reply(reply.data(), reply.size(), query);
  return query;
}

std::vector<uint8_t> reply_for(const std::string& name, uint16_t type, const FakeDnsConfig& config) {
  return tests::fake_dns_reply(tests::encode_dns_query(0x1234, name, type), config);
}

}  // namespace

TEST_CASE("resolver strings") {
  using measure::dns::parse_resolver;
  auto v4 = parse_resolver("192.0.2.53");
  REQUIRE(v4);
  CHECK(v4->ip == "192.0.2.53");
  CHECK(v4->port == 53);
  CHECK(measure::dns::format_resolver(*v4) == "192.0.2.53:53");

  auto v4_port = parse_resolver("127.0.0.1:5353");
  REQUIRE(v4_port);
  CHECK(v4_port->port == 5353);
  CHECK(measure::dns::format_resolver(*v4_port) == "127.0.0.1:5353");

  auto bare_v6 = parse_resolver("::1");
  REQUIRE(bare_v6);
  CHECK(bare_v6->port == 53);
  CHECK(measure::dns::format_resolver(*bare_v6) == "[::1]:53");

  auto v6_port = parse_resolver("[2001:DB8:0::1]:853");
  REQUIRE(v6_port);
  CHECK(v6_port->ip == "2001:db8::1");  // canonical form
  CHECK(v6_port->port == 853);
  CHECK(measure::dns::format_resolver(*v6_port) == "[2001:db8::1]:853");

  auto v6_brackets = parse_resolver("[::1]");
  REQUIRE(v6_brackets);
  CHECK(v6_brackets->port == 53);

  CHECK(measure::dns::is_valid_resolver("1.1.1.1"));
  CHECK(measure::dns::is_valid_resolver("1.1.1.1:65535"));
  CHECK(measure::dns::is_valid_resolver("[fe80::1]:53"));
  for (const char* junk : {"", "dns.google", "1.1.1", "1.1.1.1:", "1.1.1.1:0", "1.1.1.1:65536", "1.1.1.1:53x",
                           "1.1.1.1:+53", "1.1.1.1:-1", "1.1.1.1:53:53", "[1.1.1.1]:53", "[::1", "[::1]53",
                           "[::1]:", "[::1]:99999", "::1:53:", " 1.1.1.1", "1.1.1.1 ", "[]:53", "256.0.0.1",
                           "1.1.1.1:0053x", "[::1]:1:2"}) {
    CAPTURE(junk);
    CHECK_FALSE(measure::dns::is_valid_resolver(junk));
  }
}

TEST_CASE("rcode names") {
  CHECK(measure::dns::dns_rcode_name(0) == "NOERROR");
  CHECK(measure::dns::dns_rcode_name(2) == "SERVFAIL");
  CHECK(measure::dns::dns_rcode_name(3) == "NXDOMAIN");
  CHECK(measure::dns::dns_rcode_name(5) == "REFUSED");
  CHECK(measure::dns::dns_rcode_name(4) == "NOTIMP");
  CHECK(measure::dns::dns_rcode_name(15) == "RCODE15");
}

TEST_CASE("parse: addresses with TTLs, CNAME chain") {
  FakeDnsConfig config;
  config.a = {"192.0.2.1", "192.0.2.2"};
  config.aaaa = {"2001:db8::1"};
  config.ttl = 77;
  auto a = parse(reply_for("example.org", 1, config), "A");
  CHECK(a.rcode == "NOERROR");
  CHECK(a.failure == "");
  REQUIRE(a.answers.size() == 2);
  CHECK(a.answers[0].type == "A");
  CHECK(a.answers[0].value == "192.0.2.1");
  CHECK(a.answers[0].ttl == 77);
  CHECK(a.answers[1].value == "192.0.2.2");

  auto aaaa = parse(reply_for("example.org", 28, config), "AAAA");
  REQUIRE(aaaa.answers.size() == 1);
  CHECK(aaaa.answers[0].type == "AAAA");
  CHECK(aaaa.answers[0].value == "2001:db8::1");

  config.cname = "edge.cdn.example.net";
  auto chained = parse(reply_for("www.example.org", 1, config), "A");
  CHECK(chained.failure == "");
  REQUIRE(chained.answers.size() == 3);
  CHECK(chained.answers[0].type == "CNAME");
  CHECK(chained.answers[0].value == "edge.cdn.example.net");
  CHECK(chained.answers[0].ttl == 77);
  CHECK(chained.answers[1].type == "A");
}

TEST_CASE("parse: rcodes and failures") {
  FakeDnsConfig config;
  config.mode = FakeDnsMode::nxdomain;
  auto q = parse(reply_for("x.example", 1, config), "A");
  CHECK(q.rcode == "NXDOMAIN");
  CHECK(q.failure == core::failure::dns_nxdomain);

  config.mode = FakeDnsMode::servfail;
  CHECK(parse(reply_for("x.example", 1, config), "A").failure == core::failure::dns_servfail);
  config.mode = FakeDnsMode::refused;
  CHECK(parse(reply_for("x.example", 1, config), "A").failure == core::failure::dns_refused);
  config.mode = FakeDnsMode::no_answer;
  q = parse(reply_for("x.example", 1, config), "A");
  CHECK(q.rcode == "NOERROR");
  CHECK(q.failure == core::failure::dns_no_answer);

  config.mode = FakeDnsMode::malformed;
  q = parse(reply_for("x.example", 1, config), "A");
  CHECK(q.rcode == "NOERROR");
  CHECK(q.failure == core::failure::dns_error);

  // NOTIMP and other rcodes are not an answer about the name.
  FakeDnsConfig empty;
  empty.mode = FakeDnsMode::no_answer;
  auto notimp = reply_for("x.example", 1, empty);
  notimp[3] = static_cast<uint8_t>((notimp[3] & 0xF0) | 4);
  q = parse(notimp, "A");
  CHECK(q.rcode == "NOTIMP");
  CHECK(q.failure == core::failure::dns_error);

  // A CNAME with no address of the queried type is "no answer".
  FakeDnsConfig cname_only;
  cname_only.cname = "target.example";
  cname_only.a = {};
  q = parse(reply_for("alias.example", 1, cname_only), "A");
  CHECK(q.failure == core::failure::dns_no_answer);
  REQUIRE(q.answers.size() == 1);
  CHECK(q.answers[0].type == "CNAME");

  // An A reply handed to the AAAA parser has no AAAA records.
  CHECK(parse(reply_for("x.example", 1, FakeDnsConfig{}), "AAAA").failure == core::failure::dns_no_answer);
}

TEST_CASE("parse: TTL with the top bit set counts as zero (RFC 2181)") {
  FakeDnsConfig config;
  config.ttl = 0x80000001u;
  auto q = parse(reply_for("x.example", 1, config), "A");
  REQUIRE(q.answers.size() == 1);
  CHECK(q.answers[0].ttl == 0);
  config.ttl = 0x7fffffffu;
  CHECK(parse(reply_for("x.example", 1, config), "A").answers.at(0).ttl == 0x7fffffffu);
}

TEST_CASE("parse: every truncation and every single-byte corruption of real replies is handled") {
  FakeDnsConfig config;
  config.a = {"192.0.2.1", "192.0.2.2"};
  config.aaaa = {"2001:db8::1"};
  config.cname = "edge.example.net";
  for (uint16_t type : {uint16_t{1}, uint16_t{28}}) {
    const std::string type_name = type == 1 ? "A" : "AAAA";
    const auto reply = reply_for("www.example.org", type, config);
    for (size_t cut = 0; cut < reply.size(); ++cut) {
      std::vector<uint8_t> prefix(reply.begin(), reply.begin() + static_cast<long>(cut));
      auto q = parse(prefix, type_name);
      CAPTURE(cut);
      // The header's counts promise records that are no longer there.
      CHECK(q.failure != "");
      if (cut < 12) CHECK(q.rcode == "");
    }
    for (size_t at = 0; at < reply.size(); ++at) {
      for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{0xc0}, uint8_t{0x3f}}) {
        auto corrupt = reply;
        corrupt[at] = value;
        auto q = parse(corrupt, type_name);  // must not crash; any outcome is data
        for (const auto& answer : q.answers) CHECK(!answer.type.empty());
      }
    }
  }
  measure::DnsQuery nothing;
  measure::dns::parse_dns_reply(nullptr, 0, nothing);
  CHECK(nothing.failure == core::failure::dns_error);
}

TEST_CASE("parse: compression pointer loop in a CNAME is rejected, not followed") {
  FakeDnsConfig config;
  config.cname = "t.example";
  auto reply = reply_for("a.example", 1, config);
  // The CNAME's rdata starts after: header 12 + question (a.example = 11 bytes + 4) + owner 2 + 10.
  const size_t rdata = 12 + 11 + 4 + 2 + 10;
  reply[rdata] = 0xC0;
  reply[rdata + 1] = static_cast<uint8_t>(rdata);  // points at itself
  auto q = parse(reply, "A");
  for (const auto& answer : q.answers) CHECK(answer.type != "CNAME");
}

TEST_CASE("parse: the committed seed replies (compression into rdata, EDNS OPT, SOA authority)") {
  auto seed = [](const std::string& file, const std::string& type) {
    std::ifstream in(std::string(KUZET_DNS_CORPUS) + "/" + file, std::ios::binary);
    REQUIRE(in);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return parse(bytes, type);
  };
  auto chain = seed("cname_chain", "A");
  CHECK(chain.failure == "");
  REQUIRE(chain.answers.size() == 2);
  CHECK(chain.answers[0].type == "CNAME");
  CHECK(chain.answers[0].value == "star-mini.c10r.facebook.com");
  CHECK(chain.answers[0].ttl == 1800);
  CHECK(chain.answers[1].value == "157.240.1.35");
  CHECK(chain.answers[1].ttl == 60);

  auto edns = seed("a_single_edns", "A");
  REQUIRE(edns.answers.size() == 1);
  CHECK(edns.answers[0].value == "93.184.215.14");
  CHECK(edns.answers[0].ttl == 3600);

  CHECK(seed("aaaa_single", "AAAA").answers.at(0).value == "2606:2800:21f:cb07:6820:80da:af6b:8b2c");
  CHECK(seed("a_round_robin", "A").answers.size() == 4);
  CHECK(seed("nxdomain_soa", "A").failure == core::failure::dns_nxdomain);
  CHECK(seed("nodata_soa", "AAAA").failure == core::failure::dns_no_answer);
  CHECK(seed("servfail", "A").failure == core::failure::dns_servfail);
  CHECK(seed("refused", "A").failure == core::failure::dns_refused);
  CHECK(seed("notimp", "A").rcode == "NOTIMP");
  CHECK(seed("truncated_tc", "A").failure == core::failure::dns_no_answer);
  auto bogon = seed("injected_bogon", "A");
  REQUIRE(bogon.answers.size() == 1);
  CHECK(bogon.answers[0].value == "10.10.34.35");
  CHECK(bogon.answers[0].ttl == 0);
}

TEST_CASE("reply question: ID, lower-cased name, type and class; queries and broken bytes are refused") {
  FakeDnsConfig config;
  auto reply = reply_for("WWW.Example.ORG", 28, config);
  auto question = measure::dns::dns_reply_question(reply.data(), reply.size());
  REQUIRE(question);
  CHECK(question->id == 0x1234);
  CHECK(question->name == "www.example.org");
  CHECK(question->type == 28);
  CHECK(question->dns_class == 1);

  auto query = tests::encode_dns_query(0x1234, "www.example.org", 28);
  CHECK_FALSE(measure::dns::dns_reply_question(query.data(), query.size()));  // QR clear: not a reply
  CHECK_FALSE(measure::dns::dns_reply_question(nullptr, 0));
  for (size_t cut = 0; cut < reply.size(); ++cut) {
    // Every prefix that ends inside the question is refused; longer ones still name the question.
    auto partial = measure::dns::dns_reply_question(reply.data(), cut);
    if (cut < 12 + 17 + 4) CHECK_FALSE(partial);
    else CHECK(partial == question);
  }
  auto two_questions = reply;
  two_questions[5] = 2;
  CHECK_FALSE(measure::dns::dns_reply_question(two_questions.data(), two_questions.size()));
}

TEST_CASE("same reply: TTL and order do not matter, rcode and addresses do") {
  FakeDnsConfig config;
  config.a = {"192.0.2.1", "192.0.2.2"};
  auto first = parse(reply_for("example.org", 1, config), "A");
  config.ttl = 299;
  config.a = {"192.0.2.2", "192.0.2.1"};
  CHECK(measure::dns::same_dns_reply(first, parse(reply_for("example.org", 1, config), "A")));
  config.a = {"192.0.2.2", "203.0.113.66"};
  CHECK_FALSE(measure::dns::same_dns_reply(first, parse(reply_for("example.org", 1, config), "A")));
  config.a = {"192.0.2.2"};
  CHECK_FALSE(measure::dns::same_dns_reply(first, parse(reply_for("example.org", 1, config), "A")));
  config.mode = FakeDnsMode::nxdomain;
  auto nx = parse(reply_for("example.org", 1, config), "A");
  config.mode = FakeDnsMode::servfail;
  CHECK_FALSE(measure::dns::same_dns_reply(nx, parse(reply_for("example.org", 1, config), "A")));
  CHECK(measure::dns::same_dns_reply(nx, nx));
}
