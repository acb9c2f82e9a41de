// Golden cases for the verdict engine: every tests/analysis/golden/*.json holds a run (targets with their
// observations and control, run facts, knowledge) and the verdicts a careful human expects. The expected
// verdicts were written by hand from the case's story, never copied from the engine's output.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/analysis.hpp"
#include "analysis/analysis_json.hpp"

namespace fs = std::filesystem;
using kuzet::analysis::Knowledge;
using kuzet::analysis::RunFacts;
using kuzet::analysis::TargetInput;
using kuzet::analysis::Verdict;

namespace {

struct GoldenCase {
  std::string name;
  std::string description;
  std::vector<TargetInput> targets;
  RunFacts facts;
  Knowledge knowledge;
  std::vector<std::pair<std::string, std::string>> expected;  // verdict, method
};

GoldenCase load_case(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot read " << path);
  const auto j = nlohmann::json::parse(in);
  GoldenCase c;
  c.name = path.stem().string();
  c.description = j.at("description").get<std::string>();
  c.targets = j.at("targets").get<std::vector<TargetInput>>();
  if (j.contains("facts")) c.facts = j.at("facts").get<RunFacts>();
  if (j.contains("knowledge")) c.knowledge = j.at("knowledge").get<Knowledge>();
  for (const auto& e : j.at("expected")) c.expected.emplace_back(e.at("verdict"), e.value("method", ""));
  return c;
}

std::string describe(const Verdict& v) {
  std::ostringstream out;
  out << v.verdict << " / \"" << v.method << "\": " << v.explanation << "\n      evidence:";
  for (const auto& e : v.evidence) out << " " << e.key << "=" << e.value << ";";
  return out.str();
}

std::vector<fs::path> golden_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(KUZET_ANALYSIS_GOLDEN_DIR))
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

TEST_CASE("golden verdict cases") {
  const auto files = golden_files();
  REQUIRE(files.size() >= 20);
  size_t mismatches = 0;
  for (const auto& file : files) {
    const GoldenCase c = load_case(file);
    CAPTURE(c.name);
    REQUIRE_MESSAGE(c.expected.size() == c.targets.size(), c.name << ": one expected verdict per target");
    const auto got = kuzet::analysis::analyze_run(c.targets, c.facts, c.knowledge);
    REQUIRE(got.size() == c.targets.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const auto& [want_verdict, want_method] = c.expected[i];
      // Every verdict explains itself in one sentence and names its evidence.
      CHECK_MESSAGE(!got[i].explanation.empty(), c.name << "[" << i << "] has no explanation");
      CHECK_MESSAGE(!got[i].evidence.empty(), c.name << "[" << i << "] has no evidence");
      // KUZET_GOLDEN_VERBOSE=1 prints every verdict, for reading the explanations.
      if (std::getenv("KUZET_GOLDEN_VERBOSE"))
        std::cout << c.name << "[" << i << "] " << describe(got[i]) << "\n";
      if (got[i].verdict == want_verdict && got[i].method == want_method) continue;
      ++mismatches;
      FAIL_CHECK("golden case " << c.name << " target " << i << " (" << c.targets[i].observations.url << ")\n"
                                << "    story:    " << c.description << "\n"
                                << "    expected: " << want_verdict << " / \"" << want_method << "\"\n"
                                << "    got:      " << describe(got[i]));
    }
  }
  MESSAGE(files.size() << " golden cases, " << mismatches << " mismatching verdicts");
}

TEST_CASE("every explanation the golden cases produce renders in every language") {
  for (const auto& file : golden_files()) {
    const GoldenCase c = load_case(file);
    CAPTURE(c.name);
    for (const auto& v : kuzet::analysis::analyze_run(c.targets, c.facts, c.knowledge)) {
      CAPTURE(v.explanation);
      // The stored (English) sentence is the message rendered from i18n/verdicts/en.json.
      CHECK(kuzet::analysis::explain(v.message, "en") == v.explanation);
      for (const char* lang : {"ru", "kk"}) {
        CAPTURE(lang);
        const std::string text = kuzet::analysis::explain(v.message, lang);
        CHECK(text.find('{') == std::string::npos);  // every placeholder filled
        CHECK(text != v.explanation);                 // translated, not the English fallback
        CHECK(text.size() > 20);
      }
    }
  }
}

TEST_CASE("golden inputs survive a JSON round trip unchanged in judgement") {
  for (const auto& file : golden_files()) {
    const GoldenCase c = load_case(file);
    CAPTURE(c.name);
    const nlohmann::json again = c.targets;
    const auto reloaded = again.get<std::vector<TargetInput>>();
    const nlohmann::json knowledge = c.knowledge;
    const auto a = kuzet::analysis::analyze_run(c.targets, c.facts, c.knowledge);
    const auto b = kuzet::analysis::analyze_run(reloaded, c.facts, knowledge.get<Knowledge>());
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      CHECK(nlohmann::json(a[i]) == nlohmann::json(b[i]));
    }
  }
}
