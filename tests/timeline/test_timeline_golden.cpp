// Golden test: the replayed January 2022 dataset yields exactly the incidents the generator put in, each
// starting and ending within one bin of the truth.
#include <doctest/doctest.h>

#include <cstdio>

#include "collector/timeline/api/api.hpp"
#include "core/time.hpp"
#include "tests/timeline/replay_fixture.hpp"

using namespace kuzet;
using namespace kuzet::timeline;
using namespace kuzet::replay;

namespace {

std::string describe(const SeriesKey& k, const std::string& kind, int64_t start, std::optional<int64_t> end) {
  return k.cc + "/" + std::to_string(k.asn) + "/" + k.target + " " + kind + " " + core::format_utc(start) + " - " +
         (end ? core::format_utc(*end) : std::string("ongoing"));
}

}  // namespace

TEST_CASE("replayed January 2022: incidents match the truth within one bin") {
  testing::TempDir dir;
  const auto config = testing::test_config();
  const Replay replay = generate_replay(config);
  testing::IndexedStore indexed(dir);  // SQLite, or PostgreSQL with a fed index (KUZET_TEST_DB)
  auto& store = indexed.store;
  TimelineIndex& index = indexed.index;
  REQUIRE(testing::ingest(*store, replay, 0, replay.envelopes.size()) == replay.envelopes.size());

  TimelineQuery q;
  q.cc = "KZ";
  q.from_ms = config.start_ms;
  q.until_ms = config.start_ms + config.days * 24 * 3600 * 1000LL;
  const auto found = index.incidents(q, IncidentOptions{});
  for (const auto& f : found) MESSAGE("found: ", describe(f.key, f.kind, f.start_ms, f.end_ms), " conf ", f.confidence);

  const int64_t bin = index.base_bin_ms();
  std::vector<bool> matched(found.size(), false);
  for (const auto& t : replay.truth) {
    CAPTURE(describe(t.key, t.kind, t.start_ms, t.end_ms));
    int hits = 0;
    for (size_t i = 0; i < found.size(); ++i) {
      const auto& f = found[i];
      if (!(f.key == t.key) || f.kind != t.kind || std::llabs(f.start_ms - t.start_ms) > bin) continue;
      ++hits;
      matched[i] = true;
      REQUIRE(f.end_ms.has_value());
      CHECK(std::llabs(*f.end_ms - t.end_ms) <= bin);
      CHECK(f.confidence > 0.5);
      CHECK(f.probes >= 1);
    }
    CHECK(hits == 1);
  }
  for (size_t i = 0; i < found.size(); ++i) {
    CAPTURE(describe(found[i].key, found[i].kind, found[i].start_ms, found[i].end_ms));
    CHECK_MESSAGE(matched[i], "an incident the generator did not put in");
  }
  // The truth itself is what the field notes describe: 4 networks x 3 messengers blocked, 5 networks
  // with two shutdowns each.
  CHECK(replay.truth.size() == 4 * 3 + 5 * 2);
}
