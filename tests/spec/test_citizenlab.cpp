// Categories (any string; Citizen Lab codes mapped to Kuzet's names), the bounded CSV reader, and Citizen
// Lab test lists read as specs, with file:line errors.
#include <doctest/doctest.h>

#include <string>

#include "csv/csv.hpp"
#include "spec/categories.hpp"
#include "spec/citizenlab.hpp"
#include "spec/spec.hpp"

using namespace kuzet;
using namespace kuzet::spec;

namespace {

const std::string kDataDir = std::string(KUZET_SOURCE_DIR) + "/tests/spec/data/";
const std::string kHeader = "url,category_code,category_description,date_added,source,notes\n";

std::string csv_error(const std::string& text, const std::string& source = "kz.csv") {
  try {
    parse_citizenlab_csv(text, source);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string yaml_error(const std::string& yaml) {
  try {
    parse_spec(yaml, "t.yaml");
  } catch (const SpecError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("every Citizen Lab code maps to one of Kuzet's names") {
  CHECK(citizenlab_codes().size() >= 31);  // the 31 codes of the current legend, plus the old ones
  for (const auto& c : citizenlab_codes()) {
    INFO(c.code);
    CHECK(is_known_category(std::string(c.category)));
    CHECK(normalize_category(c.code) == c.category);
  }
  CHECK(normalize_category("GOVT") == "egov");
  CHECK(normalize_category("NEWS") == "news");
  CHECK(normalize_category("POLR") == "political-criticism");
  CHECK(normalize_category("HUMR") == "human-rights");
  CHECK(normalize_category("COMT") == "messaging");
  CHECK(normalize_category("ANON") == "circumvention");
  CHECK(normalize_category("CTRL") == "control");  // the verdicts' connectivity anchors
  CHECK(normalize_category("MISC") == "other");
  CHECK(normalize_category("FEXP") == "news");  // an old code still found in lists
  CHECK(normalize_category(" govt ") == "egov");
}

TEST_CASE("any other category string is kept as written; only unprintable or huge ones are refused") {
  CHECK(normalize_category("gov") == "gov");
  CHECK(normalize_category("  Local media ") == "Local media");
  CHECK(normalize_category("жаңалықтар") == "жаңалықтар");
  CHECK(category_problem("gov") == "");
  CHECK(category_problem("жаңалықтар") == "");
  CHECK(category_problem("") == "empty category");
  CHECK(category_problem(std::string(65, 'a')).find("longer than 64") != std::string::npos);
  CHECK(category_problem("a\x01") == "category contains a control character");
  CHECK(category_problem("a\xFF") == "category is not valid UTF-8");
}

TEST_CASE("YAML specs accept any category and map Citizen Lab codes") {
  const Spec spec = parse_spec(
      "targets:\n  - {url: \"https://a.kz/\", category: gov}\n  - {url: \"https://b.kz/\", category: GOVT}\n"
      "  - {url: \"https://c.kz/\", category: POLR}\n",
      "t.yaml");
  REQUIRE(spec.targets.size() == 3);
  CHECK(spec.targets[0].category == "gov");
  CHECK(spec.targets[1].category == "egov");
  CHECK(spec.targets[2].category == "political-criticism");
  CHECK(yaml_error("targets:\n  - {url: \"https://a.kz/\", category: egov}\n  - {url: \"https://b.kz/\", category: \"  \"}\n")
            .rfind("t.yaml:3: empty category (Kuzet's names: egov, social,", 0) == 0);
  CHECK(yaml_error("targets:\n  - {url: \"https://a.kz/\", category: \"x\\ty\"}\n")
            .rfind("t.yaml:2: category contains a control character", 0) == 0);
}

TEST_CASE("csv: quoted fields, doubled quotes, line breaks inside quotes, CRLF, BOM, blank lines") {
  const auto records = csv::parse("\xEF\xBB\xBF" "a,b,c\r\n\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\"\n,,\nlast,1,2");
  REQUIRE(records.size() == 4);
  CHECK(records[0].line == 1);
  CHECK(records[0].fields == std::vector<std::string>{"a", "b", "c"});
  CHECK(records[1].line == 3);
  CHECK(records[1].fields == std::vector<std::string>{"x, y", "say \"hi\"", "two\nlines"});
  CHECK(records[2].line == 5);
  CHECK(records[2].fields == std::vector<std::string>{"", "", ""});
  CHECK(records[3].line == 6);
  CHECK(records[3].fields == std::vector<std::string>{"last", "1", "2"});
  CHECK(csv::parse("").empty());
  CHECK(csv::parse("\n\n").empty());
}

TEST_CASE("csv: syntax errors and limits name the line") {
  auto error_of = [](const std::string& text, const csv::Limits& limits = {}) -> std::string {
    try {
      csv::parse(text, limits);
    } catch (const csv::Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  CHECK(error_of("a,b\n1,\"open\n2,3\n") == "line 2: quoted field never closed (no matching '\"')");
  CHECK(error_of("a,b\nx\"y,2\n") ==
        "line 2: a quote inside an unquoted field (quote the whole field and write \"\")");
  CHECK(error_of("a,b\n\"x\"y,2\n").rfind("line 2: unexpected text after a closing quote", 0) == 0);
  CHECK(error_of(std::string("a,b\n1,2\n3,\0", 11)) == "line 3: NUL byte");
  CHECK(error_of("a,b,c\n", {.max_fields = 2}) == "line 1: more than 2 fields");
  CHECK(error_of("a\nb\nc\n", {.max_records = 2}) == "line 3: more than 2 records");
  CHECK(error_of("abcdef\n", {.max_field_bytes = 5}) == "line 1: field longer than 5 bytes");
  CHECK(error_of("a,b\nc,d\n", {.max_total_fields = 3}) == "line 2: more than 3 fields in the file");
  CHECK(error_of("abcdef", {.max_bytes = 5}) == "file larger than 5 bytes");
}

TEST_CASE("a Citizen Lab test list is a spec: codes mapped, extra columns ignored, repeats skipped") {
  const std::string text = kHeader +
                           "https://egov.kz/,GOVT,Government,2019-05-30,kuzet,\n"
                           "https://vlast.kz/,NEWS,News Media,2019-05-25,kuzet,\"independent, Almaty\"\n"
                           "http://пример.рф/,POLR,Political Criticism,2024-01-01,kuzet,\"note on\ntwo lines\"\n"
                           "https://vlast.kz/#!/,NEWS,News Media,2019-05-25,kuzet,same page as line 3\n"
                           "https://www.wikipedia.org/,CTRL,Control content,2014-04-15,kuzet,\n"
                           "https://x.kz/,XYZ,Something new,2024-01-01,kuzet,\n";
  const Spec spec = parse_citizenlab_csv(text, "lists/kz.csv");
  CHECK(spec.source == "lists/kz.csv");
  CHECK(spec.name == "kz");
  CHECK(spec.interception_roots.empty());
  REQUIRE(spec.targets.size() == 5);
  CHECK(spec.targets[0].url == "https://egov.kz/");
  CHECK(spec.targets[0].category == "egov");
  CHECK(spec.targets[1].category == "news");
  CHECK(spec.targets[2].url == "http://пример.рф/");
  CHECK(spec.targets[2].category == "political-criticism");
  CHECK(spec.targets[3].category == "control");
  CHECK(spec.targets[4].category == "XYZ");

  // Columns are found by name, in any order; unknown columns are ignored.
  const Spec reordered = parse_citizenlab_csv("notes,Category_Code,extra,URL\nn,HUMR,e,https://a.kz/\n", "r.csv");
  REQUIRE(reordered.targets.size() == 1);
  CHECK(reordered.targets[0].url == "https://a.kz/");
  CHECK(reordered.targets[0].category == "human-rights");
}

TEST_CASE("a broken test list: file, line and problem") {
  CHECK(csv_error("") == "kz.csv:1: empty test list (expected the header url,category_code,...)");
  CHECK(csv_error(kHeader) == "kz.csv:1: no targets after the header");
  CHECK(csv_error("address,category\nhttps://a.kz/,NEWS\n").rfind("kz.csv:1: not a Citizen Lab test list", 0) == 0);
  CHECK(csv_error(kHeader + "https://a.kz/,NEWS,News Media,2019-05-25,kuzet,\nhttps://b.kz/,NEWS,News\n") ==
        "kz.csv:3: 3 fields where the header has 6 (a field with ',' or a line break must be in double quotes)");
  CHECK(csv_error(kHeader + "https://a.kz/,NEWS,News Media,2019-05-25,kuzet,\"never closed\n\nx\n") ==
        "kz.csv:2: quoted field never closed (no matching '\"')");
  CHECK(csv_error(kHeader + "https://a.kz/,NEWS,News Media,2019-05-25,kuzet,\n"
                            "a.kz,NEWS,News Media,2019-05-25,kuzet,\n") ==
        "kz.csv:3: 'url' is not an absolute http(s) URL: 'a.kz' (not a valid URL)");
  CHECK(csv_error(kHeader + "http://☃.kz/,NEWS,News Media,2019-05-25,kuzet,\n")
            .rfind("kz.csv:2: 'url' is not an absolute http(s) URL: 'http://☃.kz/' ('☃.kz' is not a valid "
                   "internationalised domain name",
                   0) == 0);
  CHECK(csv_error(kHeader + ",NEWS,News Media,2019-05-25,kuzet,\n") == "kz.csv:2: empty url");
  CHECK(csv_error(kHeader + "https://a.kz/\xFF,NEWS,News Media,2019-05-25,kuzet,\n") ==
        "kz.csv:2: url is not valid UTF-8");
  CHECK(csv_error(kHeader + "https://a.kz/,,News Media,2019-05-25,kuzet,\n") == "kz.csv:2: category_code: empty category");
  CHECK(csv_error(kHeader + "https://a.kz/,\"NE\nWS\",News Media,2019-05-25,kuzet,\n") ==
        "kz.csv:2: category_code: category contains a control character");
}

TEST_CASE("load_spec_file reads a .csv file as a Citizen Lab test list") {
  const Spec spec = load_spec_file(kDataDir + "citizenlab-sample.csv");
  CHECK(spec.name == "citizenlab-sample");
  REQUIRE(spec.targets.size() >= 5);
  CHECK(spec.targets[0].category == "egov");
  bool has_idn = false, has_control = false;
  for (const auto& t : spec.targets) {
    has_idn = has_idn || t.url.find("қаз") != std::string::npos;
    has_control = has_control || t.category == "control";
  }
  CHECK(has_idn);
  CHECK(has_control);
}
