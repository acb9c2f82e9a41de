// extract_title and sanitize_utf8: pure helpers fed with hostile server bytes.
#include <doctest/doctest.h>

#include <string>

#include "measure/http/http.hpp"

using kuzet::measure::http::extract_title;
using kuzet::measure::http::sanitize_utf8;

namespace {
const std::string kFffd = "\xEF\xBF\xBD";

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

TEST_CASE("extract_title finds the title case-insensitively, with attributes") {
  CHECK(extract_title("<html><head><title>Hello</title></head></html>") == "Hello");
  CHECK(extract_title("<HTML><HEAD><TiTlE>Upper</tItLe>") == "Upper");
  CHECK(extract_title("<title lang=\"kk\" dir=ltr>With attributes</title>") == "With attributes");
  CHECK(extract_title("<title\n>Newline in tag</title>") == "Newline in tag");
}

TEST_CASE("extract_title skips tags that only start like title") {
  CHECK(extract_title("<titlebar>no</titlebar><title>yes</title>") == "yes");
  CHECK(extract_title("<titlebar>no</titlebar>") == "");
}

TEST_CASE("extract_title returns empty without a title") {
  CHECK(extract_title("") == "");
  CHECK(extract_title("<html><body>nothing</body></html>") == "");
  CHECK(extract_title("<title") == "");
  CHECK(extract_title("<title ") == "");
  CHECK(extract_title("<title></title>") == "");
  CHECK(extract_title("<title>   \n\t </title>") == "");
}

TEST_CASE("extract_title takes the text to the end when </title> is missing") {
  CHECK(extract_title("<title>Cut off here") == "Cut off here");
}

TEST_CASE("extract_title decodes basic entities") {
  CHECK(extract_title("<title>A &amp; B &lt;c&gt; &quot;d&quot; &apos;e&apos;</title>") == "A & B <c> \"d\" 'e'");
  CHECK(extract_title("<title>&#75;&#97;&#122;</title>") == "Kaz");
  CHECK(extract_title("<title>&#x49A;&#x430;&#X437;</title>") == "\xD2\x9A\xD0\xB0\xD0\xB7");  // "Қаз"
  CHECK(extract_title("<title>&#128512;</title>") == "\xF0\x9F\x98\x80");
  CHECK(extract_title("<title>a&nbsp;b</title>") == "a b");
}

TEST_CASE("extract_title keeps unknown or malformed references and replaces invalid code points") {
  CHECK(extract_title("<title>&copy; &unknown; & alone &#; &#xZZ;</title>") == "&copy; &unknown; & alone &#; &#xZZ;");
  CHECK(extract_title("<title>&#0;</title>") == kFffd);
  CHECK(extract_title("<title>&#xD800;</title>") == kFffd);
  CHECK(extract_title("<title>&#99999999999;</title>") == kFffd);
  CHECK(extract_title("<title>&#x110000;</title>") == kFffd);
}

TEST_CASE("extract_title collapses white space and trims") {
  CHECK(extract_title("<title>\n   Kuzet \t\r\n  test\n\n page  </title>") == "Kuzet test page");
}

TEST_CASE("extract_title caps the title at 256 code points") {
  CHECK(extract_title("<title>" + std::string(1000, 'x') + "</title>") == std::string(256, 'x'));
  std::string cyrillic;
  for (int i = 0; i < 300; ++i) cyrillic += "\xD0\x96";  // Ж
  const std::string title = extract_title("<title>" + cyrillic + "</title>");
  CHECK(code_points(title) == 256);
  CHECK(title.size() == 512);
  CHECK(sanitize_utf8(title) == title);
}

TEST_CASE("extract_title output is valid UTF-8 for invalid input") {
  const std::string title = extract_title("<title>bad \xFF\xFE bytes \xC3</title>");
  CHECK(title == "bad " + kFffd + kFffd + " bytes " + kFffd);
}

TEST_CASE("extract_title stays fast on hostile input") {
  // Quadratic scans would take minutes on these.
  CHECK(extract_title("<title>" + std::string(1 << 20, '&') + "</title>") == std::string(256, '&'));
  std::string many_tags;
  for (int i = 0; i < 100000; ++i) many_tags += "<titlex";
  CHECK(extract_title(many_tags) == "");
  CHECK(extract_title(std::string(1 << 20, '<')) == "");
}

TEST_CASE("sanitize_utf8 keeps valid text and replaces every invalid byte") {
  CHECK(sanitize_utf8("plain ascii") == "plain ascii");
  CHECK(sanitize_utf8("\xD2\x9A\xD0\xB0\xD0\xB7\xF0\x9F\x98\x80") == "\xD2\x9A\xD0\xB0\xD0\xB7\xF0\x9F\x98\x80");
  CHECK(sanitize_utf8("\xC0\xAF") == kFffd + kFffd);             // overlong '/'
  CHECK(sanitize_utf8("\xED\xA0\x80") == kFffd + kFffd + kFffd);  // surrogate
  CHECK(sanitize_utf8("\xF4\x90\x80\x80") == kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
  CHECK(sanitize_utf8("ok\xE2\x82") == "ok" + kFffd + kFffd);   // truncated at the end
  CHECK(sanitize_utf8(std::string("a\0b", 3)) == std::string("a\0b", 3));
}
