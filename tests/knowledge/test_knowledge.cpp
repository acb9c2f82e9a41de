// The built-in knowledge (lib/knowledge/builtin.json): it parses, every entry is usable and sourced, and it
// merges with a spec's knowledge without duplicates.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "knowledge/knowledge.hpp"

using kuzet::analysis::Knowledge;
namespace knowledge = kuzet::knowledge;

TEST_CASE("the embedded file parses and every entry names its source") {
  const auto j = nlohmann::json::parse(knowledge::builtin_text());  // throws on a broken file
  REQUIRE(j.contains("interception_roots"));
  for (const auto& r : j.at("interception_roots")) {
    CHECK(!r.value("name", "").empty());
    CHECK(r.value("sha256", "").size() == 64);
    CHECK(!r.value("source", "").empty());
  }
  for (const auto& b : j.value("blockpages", nlohmann::json::array())) CHECK(!b.value("source", "").empty());
  CHECK(knowledge::builtin().interception_roots.size() == j.at("interception_roots").size());
}

TEST_CASE("the 2019 Qaznet root ships with the probe") {
  bool found = false;
  for (const auto& r : knowledge::builtin().interception_roots)
    found = found || r.sha256 == "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2";
  CHECK(found);
}

TEST_CASE("merging: a spec's entries first, built-in ones it does not hold after") {
  Knowledge none;
  const auto bare = knowledge::merged_with_builtin(none);
  CHECK(bare.interception_roots.size() == knowledge::builtin().interception_roots.size());

  Knowledge spec;
  spec.interception_roots.push_back({"Qaznet (spec's own name)",
                                     "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2", ""});
  spec.interception_roots.push_back({"Lab root", std::string(64, 'a'), ""});
  spec.blockpages.push_back({"isp page", "blocked", "", "", "", ""});
  const auto merged = knowledge::merged_with_builtin(spec);
  REQUIRE(merged.interception_roots.size() == knowledge::builtin().interception_roots.size() + 1);
  CHECK(merged.interception_roots[0].name == "Qaznet (spec's own name)");  // the spec's wins
  CHECK(merged.interception_roots[1].name == "Lab root");
  CHECK(merged.blockpages.size() == 1 + knowledge::builtin().blockpages.size());
}
