// kuzet-replay-gen: writes the January 2022 replay dataset (collector/replay/replay.hpp) into a collector
// database through the normal ingest checks, and/or as JSON Lines of envelopes plus the keys and the truth.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "collector/ingest/ingest.hpp"
#include "collector/metrics.hpp"
#include "collector/store/store.hpp"
#include "collector/timeline/api/api.hpp"
#include "collector/timeline/index.hpp"
#include "collector/replay/replay.hpp"
#include "core/time.hpp"

using namespace kuzet;

namespace {

const char* kUsage =
    "usage: kuzet-replay-gen [--db FILE] [--jsonl FILE] [--keys FILE] [--truth FILE]\n"
    "                        [--start TIME] [--probes N] [--days N] [--targets N] [--round-minutes N] [--seed N]\n"
    "  --db FILE      register the probe keys and ingest every envelope (arrival order) into this\n"
    "                 collector database, with its timeline index\n"
    "  --jsonl FILE   envelopes as JSON Lines, in arrival order (kuzet-collector import needs the keys\n"
    "                 registered first: use --db, or register the keys of --keys)\n"
    "  --keys FILE    probe public keys, one JSON object per line\n"
    "  --truth FILE   the incidents the generator put in, as JSON\n"
    "Defaults: 40 probes, 11 days from 2022-01-01, 5 targets, a round every 40 minutes, seed 2022.\n";

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  replay::ReplayConfig config;
  std::string db, jsonl, keys, truth;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "kuzet-replay-gen: %s needs a value\n%s", a.c_str(), kUsage);
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&]() -> long long {
      std::string v = value();
      char* end = nullptr;
      long long n = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || n <= 0) {
        std::fprintf(stderr, "kuzet-replay-gen: %s needs a positive number\n", a.c_str());
        std::exit(2);
      }
      return n;
    };
    if (a == "--db") db = value();
    else if (a == "--jsonl") jsonl = value();
    else if (a == "--keys") keys = value();
    else if (a == "--truth") truth = value();
    else if (a == "--probes") config.probes = static_cast<int>(number());
    else if (a == "--days") config.days = static_cast<int>(number());
    else if (a == "--targets") config.targets = static_cast<int>(number());
    else if (a == "--round-minutes") config.round_ms = number() * timeline::kMinuteMs;
    else if (a == "--seed") config.seed = static_cast<uint64_t>(number());
    else if (a == "--start") {
      auto t = core::parse_rfc3339(value());
      if (!t) {
        std::fprintf(stderr, "kuzet-replay-gen: --start needs an RFC 3339 time\n");
        return 2;
      }
      config.start_ms = core::to_unix_ms(*t);
    }
    else if (a == "--help" || a == "-h") {
      std::printf("%s", kUsage);
      return 0;
    } else {
      std::fprintf(stderr, "kuzet-replay-gen: unknown option %s\n%s", a.c_str(), kUsage);
      return 2;
    }
  }
  if (db.empty() && jsonl.empty() && keys.empty() && truth.empty()) {
    std::fprintf(stderr, "kuzet-replay-gen: nothing to write\n%s", kUsage);
    return 2;
  }

  auto replay = replay::generate_replay(config);
  std::fprintf(stderr, "generated %zu measurements from %zu probes\n", replay.envelopes.size(), replay.keys.size());

  if (!jsonl.empty()) {
    std::string text;
    for (const auto& e : replay.envelopes) text += e + "\n";
    if (!write_file(jsonl, text)) return std::fprintf(stderr, "kuzet-replay-gen: cannot write %s\n", jsonl.c_str()), 1;
  }
  if (!keys.empty()) {
    std::string text;
    for (const auto& k : replay.keys) text += nlohmann::json{{"key_id", k.key_id}, {"public_key", k.public_key}}.dump() + "\n";
    if (!write_file(keys, text)) return std::fprintf(stderr, "kuzet-replay-gen: cannot write %s\n", keys.c_str()), 1;
  }
  if (!truth.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : replay.truth)
      list.push_back({{"cc", t.key.cc}, {"asn", t.key.asn}, {"target", t.key.target}, {"kind", t.kind},
                      {"start", core::format_utc(t.start_ms)}, {"end", core::format_utc(t.end_ms)}});
    if (!write_file(truth, nlohmann::json{{"incidents", list}}.dump(1) + "\n"))
      return std::fprintf(stderr, "kuzet-replay-gen: cannot write %s\n", truth.c_str()), 1;
  }
  if (!db.empty()) {
    try {
      auto store = collector::open_sqlite_store(db);
      timeline::TimelineIndex index(db);  // indexes as measurements arrive, as kuzet-collector serve does
      for (const auto& k : replay.keys) store->register_key({k.key_id, k.public_key, config.start_ms});
      collector::Metrics metrics;
      collector::ingest::Ingestor ingestor(*store, metrics, collector::ingest::IngestOptions{});
      size_t stored = 0, other = 0;
      for (size_t i = 0; i < replay.envelopes.size(); i += 500) {
        std::vector<std::string_view> batch;
        std::vector<collector::vantage::UploadSource> sources;
        for (size_t j = i; j < std::min(replay.envelopes.size(), i + 500); ++j) {
          batch.push_back(replay.envelopes[j]);
          sources.push_back(replay.sources[j]);
        }
        for (const auto& item : ingestor.ingest_envelopes(batch, sources).items)
          (item.status == collector::ingest::ItemStatus::rejected ? other : stored)++;
      }
      std::fprintf(stderr, "ingested %zu into %s (%zu rejected)\n", stored, db.c_str(), other);
      if (other) return 1;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kuzet-replay-gen: %s\n", e.what());
      return 1;
    }
  }
  return 0;
}
