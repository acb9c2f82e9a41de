// CLI contract: exit 2 with a message on usage/config errors, exit 0 when a run completes.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "probe/cli.hpp"

namespace {
int run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "kuzet-probe");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return kuzet::probe::main_cli(static_cast<int>(args.size()), argv.data());
}
}  // namespace

TEST_CASE("usage errors exit 2") {
  CHECK(run_cli({}) == 2);
  CHECK(run_cli({"frobnicate"}) == 2);
  CHECK(run_cli({"run"}) == 2);                                   // nothing to measure
  CHECK(run_cli({"run", "--bogus"}) == 2);
  CHECK(run_cli({"run", "--target"}) == 2);                       // missing value
  CHECK(run_cli({"run", "--target", "ftp://example.org/"}) == 2);  // not http(s)
  CHECK(run_cli({"run", "--target", "https://x.test/", "--resolver", "not-an-ip"}) == 2);
  CHECK(run_cli({"run", "--target", "https://x.test/", "--concurrency", "0"}) == 2);
  CHECK(run_cli({"run", "--target", "https://x.test/", "--ca-bundle", "/nonexistent.pem"}) == 2);
  CHECK(run_cli({"run", "--target", "https://x.test/", "--out", "/nonexistent-dir/r.jsonl"}) == 2);
  CHECK(run_cli({"run", "--spec", "/nonexistent/spec.yaml"}) == 2);
}

TEST_CASE("a broken spec exits 2") {
  const auto path = std::filesystem::temp_directory_path() / "kuzet-broken-spec.yaml";
  std::ofstream(path) << "targets:\n  - url: https://egov.kz/\n    category: [oops\n";
  CHECK(run_cli({"run", "--spec", path.string()}) == 2);
  std::filesystem::remove(path);
}

TEST_CASE("help and version exit 0") {
  CHECK(run_cli({"--help"}) == 0);
  CHECK(run_cli({"--version"}) == 0);
}
