// The read API's strict parameters: country codes in any case, AS numbers as 9198 or AS9198, times as RFC
// 3339, dates or Unix seconds, unknown or repeated parameters named, CSV cells neutralised.
#include <doctest/doctest.h>

#include "collector/query/query.hpp"

using namespace kuzet::collector::query;

TEST_CASE("cc: two letters, any case") {
  CHECK(parse_cc("kz") == "KZ");
  CHECK(parse_cc("Kz") == "KZ");
  CHECK(parse_cc("KZ") == "KZ");
  CHECK_FALSE(parse_cc("KAZ"));
  CHECK_FALSE(parse_cc("K1"));
  CHECK_FALSE(parse_cc(""));
  CHECK_FALSE(parse_cc("\xd0\x9a"));  // a Cyrillic letter: two bytes, not two letters
}

TEST_CASE("asn: 9198, AS9198 or as9198") {
  CHECK(parse_asn("9198") == 9198u);
  CHECK(parse_asn("AS9198") == 9198u);
  CHECK(parse_asn("as9198") == 9198u);
  CHECK(parse_asn("4294967295") == 4294967295u);
  CHECK_FALSE(parse_asn("4294967296"));
  CHECK_FALSE(parse_asn("AS"));
  CHECK_FALSE(parse_asn("AS-1"));
  CHECK_FALSE(parse_asn("+9198"));
  CHECK_FALSE(parse_asn("9198 "));
  CHECK_FALSE(parse_asn(""));
}

TEST_CASE("time: RFC 3339, a date or Unix seconds") {
  CHECK(parse_time("2022-01-04T14:30:00Z") == 1641306600000);
  CHECK(parse_time("2022-01-04T20:30:00+06:00") == 1641306600000);
  CHECK(parse_time("2022-01-04") == 1641254400000);
  CHECK(parse_time("1641306600") == 1641306600000);
  CHECK(parse_time("0") == 0);
  CHECK_FALSE(parse_time("yesterday"));
  CHECK_FALSE(parse_time("2022-13-01"));
  CHECK_FALSE(parse_time("2022-1-4"));
  CHECK_FALSE(parse_time("1641306600.5"));
  CHECK_FALSE(parse_time("-1"));
  CHECK_FALSE(parse_time("99999999999999"));  // past year 9999
  CHECK_FALSE(parse_time("1500-01-01"));
  CHECK_FALSE(parse_time(""));
}

TEST_CASE("parameter names: unknown or repeated ones are named") {
  Params p{{"cc", "KZ"}, {"asn", "9198"}};
  CHECK(check_names(p, {"cc", "asn", "target"}).empty());
  p.emplace("verdit", "blocked");
  CHECK(check_names(p, {"cc", "asn"}) == "unknown parameter 'verdit'");
  Params twice{{"cc", "KZ"}, {"cc", "RU"}};
  CHECK(check_names(twice, {"cc"}) == "parameter 'cc' given more than once");
  Params hostile{{std::string("a\xff<b>") + std::string(100, 'x'), "1"}};
  const std::string e = check_names(hostile, {"cc"});
  CHECK(e.find('\xff') == std::string::npos);
  CHECK(e.size() < 100);
}

TEST_CASE("CSV cells: quoted when needed, formulas neutralised") {
  CHECK(csv_cell("web.whatsapp.com") == "web.whatsapp.com");
  CHECK(csv_cell("a,b") == "\"a,b\"");
  CHECK(csv_cell("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_cell("=1+1") == "\"'=1+1\"");
  CHECK(csv_cell("+1") == "\"'+1\"");
  CHECK(csv_cell("-1") == "\"'-1\"");
  CHECK(csv_cell("@SUM(A1)") == "\"'@SUM(A1)\"");
  CHECK(csv_cell("\tx") == "\"'\tx\"");
  CHECK(csv_cell("\rx") == "\"'\rx\"");
  CHECK(csv_cell("=HYPERLINK(\"http://x\",\"y\")") == "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  CHECK(csv_cell("").empty());
}

TEST_CASE("source: kuzet, ooni or all (every source), nothing else") {
  CHECK(parse_source("kuzet") == "kuzet");
  CHECK(parse_source("ooni") == "ooni");
  CHECK(parse_source("all") == "");
  for (const char* bad : {"", "Kuzet", "OONI", "any", "kuzet,ooni", " ooni", "ooni\n"})
    CHECK_MESSAGE(!parse_source(bad), bad);
}
