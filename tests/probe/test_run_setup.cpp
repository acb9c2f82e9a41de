// From the probe config to the collector client's options (shared by `run` and `daemon`).
#include <doctest/doctest.h>

#include "probe/run_setup.hpp"

using kuzet::probe::collector_client_options;
using kuzet::probe::ProbeConfig;

TEST_CASE("the collector connection is bounded by the configured TCP timeout") {
  ProbeConfig config;
  CHECK(collector_client_options(config).connect_timeout_ms == 10000);  // default: OONI's TCP timeout

  // A blackholed collector during a shutdown costs what a blackholed site costs, not a fixed 10 s.
  config.timeouts.tcp_ms = 3000;
  config.upload.proxy = "socks5h://127.0.0.1:9050";
  config.upload.batch_size = 7;
  const auto o = collector_client_options(config);
  CHECK(o.connect_timeout_ms == 3000);
  CHECK(o.timeout_ms == 30000);  // the whole request keeps its own bound
  CHECK(o.proxy == "socks5h://127.0.0.1:9050");
  CHECK(o.batch_size == 7);
}

TEST_CASE("a Citizen Lab test list given as a spec becomes the run's targets, codes mapped") {
  ProbeConfig config;
  config.specs = {"tests/spec/data/citizenlab-sample.csv"};  // the test runs in the source directory
  const auto options = kuzet::probe::run_options_from(config, {"https://extra.kz/"});
  REQUIRE(options.targets.size() == 9);
  CHECK(options.targets[0].target.url == "https://egov.kz/");
  CHECK(options.targets[0].target.category == "egov");
  CHECK(options.targets[0].spec_source == "tests/spec/data/citizenlab-sample.csv");
  CHECK(options.targets[7].target.category == "control");
  CHECK(options.targets[8].target.url == "https://extra.kz/");
  CHECK(options.targets[8].target.category == "other");
}
