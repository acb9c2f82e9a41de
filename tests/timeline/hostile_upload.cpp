// Test helper for dashboard_chromium.py: registers two probe keys with the collector on 127.0.0.1:PORT and
// uploads signed measurements whose target names, category and page title are HTML/JS payloads or CSV
// formulas, enough of them to make an incident per target. Prints {"cc", "asn", "targets"} as JSON.
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "tests/collector/support/helpers.hpp"

using namespace kuzet;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: hostile_upload PORT\n");
    return 2;
  }
  httplib::Client client("127.0.0.1", std::stoi(argv[1]));
  client.set_read_timeout(60, 0);
  // Each payload would leave a mark (document.title or a data attribute) if the page ever ran it.
  const std::vector<std::string> targets = {
      "<img src=x onerror=\"document.title='pwned-img';document.body.dataset.pwned='img'\">",
      "<script>document.title='pwned-script';document.body.dataset.pwned='script'</script>",
      "=HYPERLINK(\"http://127.0.0.1/x\",\"click\")",
  };
  const std::string category = "<svg onload=\"document.body.dataset.pwned='category'\">";
  const std::string title = "<script>document.body.dataset.pwned='title'</script>";
  const auto start = std::chrono::system_clock::now() - std::chrono::minutes(55);
  for (int k = 0; k < 2; ++k) {
    auto key = core::generate_ed25519();
    auto r = client.Post("/api/v1/probes/register", collector::testing::register_body(key), "application/json");
    if (!r || r->status != 200) return std::fprintf(stderr, "hostile_upload: registration failed\n"), 1;
    std::vector<std::string> envelopes;
    for (const auto& target : targets)
      for (int i = 0; i < 6; ++i) {
        collector::testing::MeasurementSpec s;
        s.uid = "hostile-" + core::random_hex(8);
        s.started_at = core::format_rfc3339(start + std::chrono::minutes(10 * i) + std::chrono::seconds(k));
        s.asn = 64512;
        s.target = target;
        s.category = category;
        auto m = collector::testing::make_measurement(s);
        m["observations"]["http"]["requests"][0]["title"] = title;
        envelopes.push_back(envelope::sign(m, key).dump());
      }
    r = client.Post("/api/v1/measurements", collector::testing::upload_body(envelopes), "application/json");
    if (!r || r->status != 200)
      return std::fprintf(stderr, "hostile_upload: upload failed: %s\n", r ? r->body.c_str() : "no answer"), 1;
  }
  std::printf("%s\n", nlohmann::json{{"cc", "KZ"}, {"asn", 64512}, {"targets", targets}}.dump().c_str());
  return 0;
}
