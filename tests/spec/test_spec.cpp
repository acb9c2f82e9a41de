// Spec parser: the shipped specs, every class of broken spec (with its exact file:line: message), merging.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "measure/http/url.hpp"
#include "spec/spec.hpp"
#include "spec/yaml_fields.hpp"

using namespace kuzet::spec;

namespace {

const std::string kSpecDir = std::string(KUZET_SOURCE_DIR) + "/tests-spec/";

std::string error_of(const std::string& yaml, const std::string& source = "t.yaml") {
  try {
    parse_spec(yaml, source);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "(no error)";
}

std::set<std::string> categories_of(const Spec& spec) {
  std::set<std::string> out;
  for (const auto& t : spec.targets) out.insert(t.category);
  return out;
}

void check_shipped(const Spec& spec, const std::set<std::string>& required) {
  CHECK(spec.targets.size() >= 30);
  const auto present = categories_of(spec);
  for (const auto& category : required) {
    INFO("category ", category);
    CHECK(present.count(category) == 1);
  }
  for (const auto& t : spec.targets) {
    INFO(t.url);
    CHECK(kuzet::measure::http::parse_url(t.url).has_value());
    CHECK(is_known_category(t.category));
    CHECK_FALSE(t.name.empty());
  }
}

}  // namespace

TEST_CASE("kz.yaml parses with every required category and the six interception roots") {
  const Spec spec = load_spec_file(kSpecDir + "kz.yaml");
  CHECK(spec.source == kSpecDir + "kz.yaml");
  CHECK(spec.name == "kazakhstan");
  check_shipped(spec, {"egov", "social", "messaging", "petition", "news", "control"});
  REQUIRE(spec.interception_roots.size() == 6);
  CHECK(spec.interception_roots[0].name.find("Qaznet") != std::string::npos);
  CHECK(spec.interception_roots[0].sha256 == "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2");
  CHECK(spec.interception_roots[0].spki_sha256 == "tbqN1/iVZMKInT1kU8hJmMd4JJGbZOoINapimGWRvlA=");
  CHECK(spec.blockpages.empty());
  // The sites the field notes and seeds name must be there.
  for (const char* url : {"https://egov.kz/", "https://www.change.org/", "https://rus.azattyq.org/",
                          "https://www.currenttime.tv/", "https://i.pinimg.com/", "https://web.telegram.org/"}) {
    INFO(url);
    CHECK(std::any_of(spec.targets.begin(), spec.targets.end(), [&](const Target& t) { return t.url == url; }));
  }
}

TEST_CASE("kz.yaml carries the 2019 trigger names and the 2024 findings, and names no path of a machine") {
  const Spec spec = load_spec_file(kSpecDir + "kz.yaml");
  auto has = [&](const std::string& url) {
    return std::any_of(spec.targets.begin(), spec.targets.end(), [&](const Target& t) { return t.url == url; });
  };
  // IMC 2020 (Raman et al.), Table 2: 35 of the 37 trigger names (two adult-content names left out on purpose).
  for (const char* host :
       {"allo.google.com", "android.com", "cdninstagram.com", "dns.google.com", "docs.google.com",
        "encrypted.google.com", "facebook.com", "goo.gl", "google.com", "groups.google.com", "hangouts.google.com",
        "instagram.com", "mail.google.com", "mail.ru", "messages.android.com", "messenger.com", "news.google.com",
        "ok.ru", "picasa.google.com", "plus.google.com", "sites.google.com", "tamtam.chat", "translate.google.com",
        "twitter.com", "video.google.com", "vk.com", "vk.me", "vkuseraudio.net", "vkuservideo.net",
        "www.facebook.com", "www.google.com", "www.instagram.com", "www.messenger.com", "www.youtube.com",
        "youtube.com"}) {
    INFO(host);
    CHECK(has(std::string("https://") + host + "/"));
  }
  // OONI 2024: intercepted Russian-language news sites; blocked petition and circumvention sites.
  for (const char* url : {"https://regnum.ru/", "https://ukraina.ru/", "https://360tv.ru/", "https://knews.kg/",
                          "https://www.ipetitions.com/", "https://www.change.org/", "https://egov.press/",
                          "https://psiphon.ca/"}) {
    INFO(url);
    CHECK(has(url));
  }
  std::ifstream in(kSpecDir + "kz.yaml");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* path : {"/work/", "/home/", "/root/", "/tmp/", "/srv/", "/mnt/", "C:\\"}) {
    INFO(path);
    CHECK(text.find(path) == std::string::npos);
  }
}

TEST_CASE("global.yaml parses with every required category") {
  const Spec spec = load_spec_file(kSpecDir + "global.yaml");
  CHECK(spec.name == "global");
  check_shipped(spec, {"social", "messaging", "news", "human-rights", "circumvention", "control"});
  CHECK(spec.interception_roots.empty());
}

TEST_CASE("minimal form and optional fields") {
  const Spec spec = parse_spec(
      "targets: [{url: https://egov.kz/, category: egov}, {url: 'http://a.kz:8080/x?y=1', category: news, "
      "name: A, throughput_url: 'https://a.kz/big.bin'}]",
      "m.yaml");
  REQUIRE(spec.targets.size() == 2);
  CHECK(spec.source == "m.yaml");
  CHECK(spec.name.empty());
  CHECK(spec.targets[0].url == "https://egov.kz/");
  CHECK(spec.targets[0].category == "egov");
  CHECK(spec.targets[0].name.empty());
  CHECK(spec.targets[1].name == "A");
  CHECK(spec.targets[1].throughput_url == "https://a.kz/big.bin");
}

TEST_CASE("knowledge sections: roots are normalised to lower-case hex, blockpages keep their matchers") {
  const Spec spec = parse_spec(R"(targets:
  - {url: "https://a.kz/", category: egov}
interception_roots:
  - name: Upper with colons
    sha256: "00:30:9C:73:6D:D6:61:DA:6F:1E:B2:41:73:AA:84:99:44:C1:68:A4:3A:15:BF:FD:19:2E:EC:FD:B6:F8:DB:D2"
blockpages:
  - {name: hijack, address: 10.10.34.34}
  - {name: page, body_contains: "blocked by", title_contains: Access denied, header_name: Server, header_contains: blk}
)",
                               "k.yaml");
  REQUIRE(spec.interception_roots.size() == 1);
  CHECK(spec.interception_roots[0].sha256 == "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2");
  CHECK(spec.interception_roots[0].spki_sha256.empty());
  REQUIRE(spec.blockpages.size() == 2);
  CHECK(spec.blockpages[0].address == "10.10.34.34");
  CHECK(spec.blockpages[1].body_contains == "blocked by");
  CHECK(spec.blockpages[1].title_contains == "Access denied");
  CHECK(spec.blockpages[1].header_name == "Server");
  CHECK(spec.blockpages[1].header_contains == "blk");
}

TEST_CASE("broken specs: file, line and problem") {
  SUBCASE("not YAML") {
    // yaml-cpp places "end not found" past the end; the message points at the last line.
    CHECK(error_of("targets: [\n  {url: https://a.kz/\n") == "t.yaml:2: YAML syntax error: end of map flow not found");
  }
  SUBCASE("syntax error deep in the file names its line") {
    CHECK(error_of("name: x\ntargets:\n  - {url: \"https://a.kz/\", category: egov}\n  - {url: [}\n")
              .rfind("t.yaml:4: YAML syntax error:", 0) == 0);
  }
  SUBCASE("empty file") { CHECK(error_of("") == "t.yaml:1: empty spec (expected a 'targets' list)"); }
  SUBCASE("comment-only file") {
    CHECK(error_of("# nothing\n\n") == "t.yaml:1: empty spec (expected a 'targets' list)");
  }
  SUBCASE("top level is a list") {
    CHECK(error_of("- url: https://a.kz/\n") == "t.yaml:1: spec must be a mapping of key: value");
  }
  SUBCASE("top level is a scalar") {
    CHECK(error_of("just some text\n") == "t.yaml:1: spec must be a mapping of key: value");
  }
  SUBCASE("targets missing") { CHECK(error_of("\nname: x\n") == "t.yaml:2: missing 'targets' list"); }
  SUBCASE("targets not a list") {
    CHECK(error_of("name: x\ntargets: https://a.kz/\n") == "t.yaml:2: 'targets' must be a list");
    CHECK(error_of("name: x\ntargets: {url: https://a.kz/}\n") == "t.yaml:2: 'targets' must be a list");
  }
  SUBCASE("targets without a value") {
    CHECK(error_of("name: x\ntargets:\n") == "t.yaml:2: 'targets' must be a list");
  }
  SUBCASE("empty target list") { CHECK(error_of("name: x\n\ntargets: []\n") == "t.yaml:3: empty target list"); }
  SUBCASE("unknown top-level key (typo)") {
    CHECK(error_of("name: x\ntargets:\n  - {url: \"https://a.kz/\", category: egov}\ninterception_root: []\n") ==
          "t.yaml:4: unknown key 'interception_root' in spec (expected one of: name, targets, interception_roots, "
          "blockpages)");
  }
  SUBCASE("unknown target key (typo)") {
    CHECK(error_of("targets:\n  - url: https://a.kz/\n    category: egov\n    catgory: news\n") ==
          "t.yaml:4: unknown key 'catgory' in target (expected one of: url, category, name, throughput_url)");
  }
  SUBCASE("duplicate key") {
    CHECK(error_of("targets:\n  - url: https://a.kz/\n    category: egov\n    url: https://b.kz/\n") ==
          "t.yaml:4: duplicate key 'url' in target");
  }
  SUBCASE("target is not a mapping") {
    CHECK(error_of("targets:\n  - {url: \"https://a.kz/\", category: egov}\n  - https://b.kz/\n") ==
          "t.yaml:3: target must be a mapping of key: value");
  }
  SUBCASE("missing url") {
    CHECK(error_of("targets:\n  - {url: \"https://a.kz/\", category: egov}\n  - {category: news}\n") ==
          "t.yaml:3: target is missing 'url'");
  }
  SUBCASE("url without a value") {
    CHECK(error_of("targets:\n  - category: news\n    url:\n") == "t.yaml:3: 'url' has no value");
  }
  SUBCASE("url is a list") {
    CHECK(error_of("targets:\n  - category: news\n    url: [a, b]\n") == "t.yaml:3: 'url' must be a string");
  }
  SUBCASE("url without scheme") {
    CHECK(error_of("targets:\n  - category: egov\n    url: egov.kz\n") ==
          "t.yaml:3: 'url' is not an absolute http(s) URL: 'egov.kz' (not a valid URL)");
  }
  SUBCASE("url with another scheme") {
    CHECK(error_of("targets:\n  - {url: \"ftp://egov.kz/\", category: egov}\n") ==
          "t.yaml:2: 'url' is not an absolute http(s) URL: 'ftp://egov.kz/' (scheme must be http or https)");
  }
  SUBCASE("bad throughput_url") {
    CHECK(error_of("targets:\n  - url: https://a.kz/\n    category: egov\n    throughput_url: /big.bin\n") ==
          "t.yaml:4: 'throughput_url' is not an absolute http(s) URL: '/big.bin' (not a valid URL)");
  }
  SUBCASE("unprintable category on line 12") {
    std::string yaml = "name: x\ntargets:\n";
    for (int i = 0; i < 9; ++i) yaml += "  - {url: \"https://s" + std::to_string(i) + ".kz/\", category: egov}\n";
    yaml += "  - {url: \"https://s9.kz/\", category: \"eg\\u0001v\"}\n";  // line 12
    CHECK(error_of(yaml, "tests-spec/kz.yaml") ==
          "tests-spec/kz.yaml:12: category contains a control character (Kuzet's names: egov, social, messaging, "
          "petition, news, control, human-rights, circumvention, search, video, other, political-criticism, "
          "religion, lgbt, culture, hosting, file-sharing, e-commerce, economics, environment, public-health, "
          "sex-education, hate-speech, militants, gambling, dating, gaming, hacking, alcohol-drugs, pornography, "
          "provocative-attire, intergovernmental)");
  }
  SUBCASE("a category Kuzet does not know is kept") {
    CHECK(parse_spec("targets:\n  - {url: \"https://a.kz/\", category: egv}\n", "t.yaml").targets[0].category ==
          "egv");
  }
  SUBCASE("missing category") {
    CHECK(error_of("targets:\n  - {url: \"https://a.kz/\", category: egov}\n  - {url: \"https://b.kz/\"}\n")
              .rfind("t.yaml:3: target 'https://b.kz/' is missing 'category' (expected one of: egov,", 0) == 0);
  }
  SUBCASE("duplicate url, also in another spelling") {
    CHECK(error_of("targets:\n  - {url: \"https://a.kz/\", category: egov}\n  - {url: \"https://a.kz/\", category: "
                   "news}\n") == "t.yaml:3: duplicate url 'https://a.kz/' (first at line 2)");
    CHECK(error_of("targets:\n  - {url: \"https://a.kz/\", category: egov}\n\n  - url: \"HTTPS://A.KZ\"\n"
                   "    category: news\n") == "t.yaml:4: duplicate url 'HTTPS://A.KZ' (first at line 2)");
  }
  SUBCASE("http and https of one host are different targets") {
    CHECK(parse_spec("targets:\n  - {url: \"https://a.kz/\", category: egov}\n  - {url: \"http://a.kz/\", category: "
                     "egov}\n",
                     "t.yaml")
              .targets.size() == 2);
  }
  const std::string ok_target = "targets:\n  - {url: \"https://a.kz/\", category: egov}\n";  // lines 1-2
  SUBCASE("sha256 not 64 hex characters") {
    CHECK(error_of(ok_target + "interception_roots:\n  - name: r\n    sha256: 00309c73\n") ==
          "t.yaml:5: 'sha256' must be 64 hex characters (SHA-256 of the DER certificate), got '00309c73'");
    const std::string not_hex(64, 'g');
    CHECK(error_of(ok_target + "interception_roots:\n  - {name: r, sha256: " + not_hex + "}\n")
              .rfind("t.yaml:4: 'sha256' must be 64 hex characters", 0) == 0);
  }
  SUBCASE("root without sha256") {
    CHECK(error_of(ok_target + "interception_roots:\n  - name: r\n") ==
          "t.yaml:4: interception root is missing 'sha256'");
  }
  SUBCASE("duplicate root") {
    const std::string digest(64, 'a');
    CHECK(error_of(ok_target + "interception_roots:\n  - {name: a, sha256: " + digest + "}\n  - {name: b, sha256: " +
                   std::string(64, 'A') + "}\n") ==
          "t.yaml:5: duplicate interception root sha256 (first at line 4)");
  }
  SUBCASE("bad spki") {
    CHECK(error_of(ok_target + "interception_roots:\n  - {name: a, sha256: " + std::string(64, 'a') +
                   ", spki_sha256: abc}\n") ==
          "t.yaml:4: 'spki_sha256' must be the base64 of a SHA-256 digest (44 characters), got 'abc'");
  }
  SUBCASE("blockpage without a matcher") {
    CHECK(error_of(ok_target + "blockpages:\n  - name: nothing\n") ==
          "t.yaml:4: blockpage 'nothing' needs at least one matcher (body_contains, title_contains, header_name, "
          "address)");
  }
  SUBCASE("blockpage header_contains without header_name") {
    CHECK(error_of(ok_target + "blockpages:\n  - name: h\n    body_contains: x\n    header_contains: y\n") ==
          "t.yaml:6: 'header_contains' needs 'header_name'");
  }
  SUBCASE("blockpage address is not an IP") {
    CHECK(error_of(ok_target + "blockpages:\n  - {name: a, address: blockpage.kz}\n") ==
          "t.yaml:4: 'address' must be an IP address, got 'blockpage.kz'");
  }
  SUBCASE("knowledge sections must be lists") {
    CHECK(error_of(ok_target + "blockpages: {name: a}\n") == "t.yaml:3: 'blockpages' must be a list");
  }
}

TEST_CASE("load_spec_file on a missing file or a directory") {
  const std::string missing = "/nonexistent-kuzet/spec.yaml";
  CHECK_THROWS_WITH_AS(load_spec_file(missing), "/nonexistent-kuzet/spec.yaml: cannot read: No such file or directory",
                       SpecError);
  const std::string dir = std::filesystem::temp_directory_path().string();
  CHECK_THROWS_WITH_AS(load_spec_file(dir), (dir + ": cannot read: is a directory").c_str(), SpecError);
}

TEST_CASE("merge_specs: first target per URL wins, roots deduplicated, blockpages concatenated") {
  const std::string root_a = std::string(64, 'a');
  const std::string root_b = std::string(64, 'b');
  const Spec first = parse_spec("name: kz\ntargets:\n  - {url: \"https://a.kz/\", category: egov, name: first}\n"
                                "  - {url: \"https://b.kz/\", category: news}\n"
                                "interception_roots: [{name: A1, sha256: " + root_a + "}]\n"
                                "blockpages: [{name: p1, body_contains: x}]\n",
                                "kz.yaml");
  const Spec second = parse_spec("name: global\ntargets:\n  - {url: \"https://A.KZ\", category: social, name: second}\n"
                                 "  - {url: \"https://c.org/\", category: control}\n"
                                 "interception_roots: [{name: A2, sha256: " + root_a + "}, {name: B, sha256: " +
                                     root_b + "}]\n"
                                 "blockpages: [{name: p2, title_contains: y}]\n",
                                 "global.yaml");
  const Spec merged = merge_specs({first, second});
  REQUIRE(merged.targets.size() == 3);
  CHECK(merged.targets[0].url == "https://a.kz/");
  CHECK(merged.targets[0].name == "first");
  CHECK(merged.targets[0].category == "egov");
  CHECK(merged.targets[1].url == "https://b.kz/");
  CHECK(merged.targets[2].url == "https://c.org/");
  REQUIRE(merged.interception_roots.size() == 2);
  CHECK(merged.interception_roots[0].name == "A1");
  CHECK(merged.interception_roots[1].name == "B");
  REQUIRE(merged.blockpages.size() == 2);
  CHECK(merged.blockpages[0].name == "p1");
  CHECK(merged.blockpages[1].name == "p2");
  CHECK(merged.source == "kz.yaml,global.yaml");
  CHECK(merged.name == "kz + global");
  CHECK(merge_specs({}).targets.empty());
}

TEST_CASE("the shipped specs merge without losing knowledge") {
  const Spec kz = load_spec_file(kSpecDir + "kz.yaml");
  const Spec global = load_spec_file(kSpecDir + "global.yaml");
  const Spec merged = merge_specs({kz, global});
  std::set<std::string> keys;
  for (const auto& t : merged.targets) CHECK(keys.insert(url_key(t.url)).second);
  CHECK(merged.targets.size() > kz.targets.size());
  CHECK(merged.targets.size() < kz.targets.size() + global.targets.size());  // they share some sites
  CHECK(merged.interception_roots.size() == 6);
}

TEST_CASE("hostile YAML is an error, not a crash") {
  const std::string deep(5000, '[');
  CHECK(error_of(deep).rfind("t.yaml:1: YAML syntax error", 0) == 0);
  CHECK(error_of("targets:\n\t- url: x\n").rfind("t.yaml:", 0) == 0);
  CHECK(error_of(std::string("targets: [\0]", 12)).rfind("t.yaml:", 0) == 0);
  CHECK(error_of("name: &x [1, 2]\ntargets: *x\n") == "t.yaml:1: 'name' must be a string");
  CHECK(error_of("targets:\n  - &t {url: \"https://a.kz/\", category: egov}\n  - *t\n")
            .find("duplicate url 'https://a.kz/'") != std::string::npos);
  CHECK(error_of(std::string(kMaxYamlBytes + 1, '#')).rfind("t.yaml:1: file too large", 0) == 0);
}
