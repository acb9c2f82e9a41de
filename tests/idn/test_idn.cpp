// idn::convert_host and parse_url with internationalised hosts: the wire form, the readable form, errors.
#include <doctest/doctest.h>

#include <string>

#include "idn/idn.hpp"
#include "measure/http/url.hpp"

using kuzet::idn::convert_host;
using kuzet::measure::http::parse_url;

namespace {
std::string ascii_of(const std::string& host) {
  std::string error;
  auto name = convert_host(host, &error);
  INFO(host << ": " << error);
  REQUIRE(name);
  return name->ascii;
}
std::string unicode_of(const std::string& host) {
  auto name = convert_host(host);
  REQUIRE(name);
  return name->unicode;
}
std::string error_of(const std::string& host) {
  std::string error;
  CHECK_FALSE(convert_host(host, &error));
  return error;
}
}  // namespace

TEST_CASE("Cyrillic and Kazakh names go on the wire as A-labels and read as Unicode") {
  CHECK(ascii_of("пример.рф") == "xn--e1afmkfd.xn--p1ai");
  CHECK(unicode_of("пример.рф") == "пример.рф");
  CHECK(ascii_of("сайт.қаз") == "xn--80aswg.xn--80ao21a");
  CHECK(ascii_of("жаңалықтар.қаз") == "xn--80aaav1a5am5es3bmc.xn--80ao21a");
  CHECK(ascii_of("www.тест.қаз") == "www.xn--e1aybc.xn--80ao21a");
  CHECK(unicode_of("www.тест.қаз") == "www.тест.қаз");
}

TEST_CASE("UTS #46 processing: case folded, NFC, ideographic and fullwidth dots, non-transitional") {
  CHECK(ascii_of("ПРИМЕР.РФ") == "xn--e1afmkfd.xn--p1ai");
  CHECK(unicode_of("ПРИМЕР.РФ") == "пример.рф");
  CHECK(ascii_of("пример\xE3\x80\x82рф") == "xn--e1afmkfd.xn--p1ai");      // U+3002
  CHECK(ascii_of("пример\xEF\xBC\x8E" "рф") == "xn--e1afmkfd.xn--p1ai");  // U+FF0E
  CHECK(ascii_of("пример\xEF\xBD\xA1рф") == "xn--e1afmkfd.xn--p1ai");     // U+FF61
  // IDNA 2008 keeps ß (IDNA 2003 and transitional processing would give "fass.de").
  CHECK(ascii_of("faß.de") == "xn--fa-hia.de");
  // "й" written as "и" + combining breve is normalised to U+0439 first.
  CHECK(ascii_of("\xD0\xB8\xCC\x86.рф") == ascii_of("й.рф"));
}

TEST_CASE("A-labels are accepted and read back as Unicode") {
  CHECK(ascii_of("xn--80aswg.xn--80ao21a") == "xn--80aswg.xn--80ao21a");
  CHECK(unicode_of("XN--80ASWG.xn--80ao21a") == "сайт.қаз");
}

TEST_CASE("ASCII names are kept as written, lower-cased, even when they are not valid IDNA") {
  CHECK(ascii_of("Example.COM") == "example.com");
  CHECK(unicode_of("Example.COM") == "example.com");
  CHECK(ascii_of("r3---sn-abcd.googlevideo.com") == "r3---sn-abcd.googlevideo.com");
  CHECK(ascii_of("a_b.example.com") == "a_b.example.com");
  CHECK(ascii_of("example.com.") == "example.com.");  // a fully qualified name keeps its dot
  CHECK(ascii_of("пример.рф.") == "xn--e1afmkfd.xn--p1ai.");
}

TEST_CASE("invalid names give a clear error") {
  CHECK(error_of("☃.net").find("not a valid internationalised domain name") != std::string::npos);
  CHECK(error_of("☃.net").find("disallowed") != std::string::npos);
  CHECK(error_of("xn--zz.com").find("not valid punycode") != std::string::npos);
  CHECK(error_of("bad\xFF.рф").find("not a valid internationalised domain name") != std::string::npos);
  CHECK(error_of("-пример.рф").find("hyphen") != std::string::npos);
  CHECK(error_of("a..рф").find("empty label") != std::string::npos);
  CHECK(error_of(".рф").find("empty label") != std::string::npos);
  CHECK(error_of("").find("empty") != std::string::npos);
  CHECK(error_of("\xE2\x92\x88.com") != "");  // U+2488 "1." would add a label
  CHECK(error_of(std::string(40, 'a') + "ж" + std::string(40, 'a') + ".рф").find("63") != std::string::npos);
  CHECK(error_of(std::string(64, 'a') + ".kz").find("63") != std::string::npos);
  CHECK(ascii_of(std::string(63, 'a') + ".kz") == std::string(63, 'a') + ".kz");
  std::string long_name;
  for (int i = 0; i < 30; ++i) long_name += "пример.";
  long_name += "рф";
  CHECK(error_of(long_name).find("253") != std::string::npos);
  CHECK(error_of(std::string(2000, 'a')).find("longer than") != std::string::npos);
  CHECK(error_of(std::string("a\0b.com", 7)).find("NUL") != std::string::npos);
}

// Found by the url fuzz target: a label UTS #46 maps to nothing, and ASCII bytes no host can hold, were
// accepted, and the result did not convert again.
TEST_CASE("labels that vanish or hold URL syntax or control bytes are refused") {
  CHECK(error_of("\xEF\xB8\x8E.example").find("maps to an empty label") != std::string::npos);  // U+FE0E
  CHECK(error_of("\xE2\x80\x8B\xE2\x80\x8B.kz").find("empty label") != std::string::npos);   // U+200B
  for (const char* bad : {"ab/c.kz", "a:b.kz", "a#b.kz", "a@b.kz", "a b.kz", "a\x1d.kz", "a%2f.kz", "a*.kz"})
    CHECK_MESSAGE(error_of(bad).find("characters a host name cannot") != std::string::npos, bad);
  CHECK(ascii_of("_dmarc.Example.kz") == "_dmarc.example.kz");
}

TEST_CASE("parse_url: the wire URL carries the A-label host; path and query are kept") {
  auto url = parse_url("https://Пример.РФ:8443/путь?q=ы#frag");
  REQUIRE(url);
  CHECK(url->host == "xn--e1afmkfd.xn--p1ai");
  CHECK(url->unicode_host == "пример.рф");
  CHECK(url->port == 8443);
  CHECK(url->path == "/путь?q=ы");
  CHECK(url->wire_url.find("https://xn--e1afmkfd.xn--p1ai:8443/") == 0);
  auto again = parse_url(url->wire_url);
  REQUIRE(again);
  CHECK(again->host == url->host);
  CHECK(again->path == url->path);

  // A percent-encoded host is decoded by libcurl first.
  auto encoded = parse_url("http://%D1%81%D0%B0%D0%B9%D1%82.%D2%9B%D0%B0%D0%B7/");
  REQUIRE(encoded);
  CHECK(encoded->host == "xn--80aswg.xn--80ao21a");
  CHECK(encoded->unicode_host == "сайт.қаз");

  // ASCII and IP hosts: nothing changes.
  auto plain = parse_url("http://Example.com/a");
  REQUIRE(plain);
  CHECK(plain->host == "example.com");
  CHECK(plain->unicode_host == "example.com");
  CHECK(plain->wire_url == "http://Example.com/a");
  auto v6 = parse_url("http://[::1]:8080/");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->unicode_host == "::1");
}

TEST_CASE("parse_url: an invalid internationalised host is refused with the reason") {
  {
    // Found by the url fuzz target: an ideographic dot makes "1.23", which libcurl reads as 1.0.0.23.
    std::string why;
    CHECK_FALSE(parse_url("http://1\xE3\x80\x82" "23/", &why));
    CHECK(why.find("becomes the address '1.0.0.23'") != std::string::npos);
  }
  std::string why;
  CHECK_FALSE(parse_url("http://☃.net/", &why));
  CHECK(why.find("'☃.net' is not a valid internationalised domain name") != std::string::npos);
  CHECK_FALSE(parse_url("https://xn--zz.kz/", &why));
  CHECK(why.find("punycode") != std::string::npos);
}
