// C2SP tlog-tiles paths and entry bundles; Kuzet log entries.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "core/encoding/jcs.hpp"
#include "tests/tlog/memory_source.hpp"
#include "tlog/entry.hpp"
#include "tlog/tiles.hpp"

using namespace kuzet::tlog;

TEST_CASE("tile paths: the spec's examples and round trips") {
  CHECK(tile_path({false, 0, 1234067, 256}) == "tile/0/x001/x234/067");
  CHECK(tile_path({false, 0, 1234067, 8}) == "tile/0/x001/x234/067.p/8");
  CHECK(tile_path({false, 1, 0, 256}) == "tile/1/000");
  CHECK(tile_path({true, 0, 1234067, 256}) == "tile/entries/x001/x234/067");
  CHECK(tile_path({true, 0, 5, 1}) == "tile/entries/005.p/1");
  std::string error;
  for (const TileId& t : {TileId{false, 0, 1234067, 256}, TileId{false, 7, 0, 255}, TileId{true, 0, 999, 100},
                          TileId{false, 2, 1000, 256}, TileId{true, 0, UINT64_MAX / 256, 256}}) {
    auto back = parse_tile_path(tile_path(t), &error);
    REQUIRE_MESSAGE(back, error);
    CHECK(*back == t);
  }
}

TEST_CASE("tile paths: only the canonical spelling parses") {
  std::string error;
  for (const char* bad : {"tile/0/1", "tile/0/0001", "tile/0/x000/001", "tile/0/001/", "tile/0/x001", "tile/8/000",
                          "tile/-1/000", "tile/00/000", "tile/data/000", "tile/0/000.p/0", "tile/0/000.p/256",
                          "tile/0/000.p/08", "tile/0/000.p/", "tile/0/000.p/1x", "tile/0/000/extra", "tile/0/00a",
                          "tiles/0/000", "tile/0/x018/x446/x744/x073/x709/x551/616", "", "tile/", "tile/0/"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_tile_path(bad, &error));
    CHECK(!error.empty());
  }
}

TEST_CASE("tile widths in a tree and their subtrees") {
  CHECK(tile_width_in_tree({false, 0, 0, 256}, 10) == 10);
  CHECK(tile_width_in_tree({false, 0, 1, 256}, 10) == 0);
  CHECK(tile_width_in_tree({false, 0, 1, 256}, 700) == 256);
  CHECK(tile_width_in_tree({false, 0, 2, 256}, 700) == 700 - 512);
  CHECK(tile_width_in_tree({false, 1, 0, 256}, 700) == 2);  // two complete 256-leaf subtrees
  CHECK(tile_width_in_tree({true, 0, 2, 256}, 700) == 188);
  auto subtrees = tile_subtrees({false, 1, 3, 2});
  REQUIRE(subtrees.size() == 2);
  CHECK(subtrees[0] == Subtree{8, 768});
  CHECK(subtrees[1] == Subtree{8, 769});

  // A level-1 tile's hashes are the roots of consecutive 256-leaf trees.
  kuzet::tlog::testing::MemoryLog log;
  for (int i = 0; i < 600; ++i) log.append(std::to_string(i));
  auto hashes = log.read(tile_subtrees({false, 1, 0, 2}));
  CHECK(hashes[0] == tree_hash(256, log));
  CHECK(decode_hash_tile(encode_hash_tile(hashes)) == hashes);
  CHECK_FALSE(decode_hash_tile("short"));
}

TEST_CASE("entry bundles") {
  const std::vector<std::string> entries = {"", "a", std::string(65535, 'z'), std::string("\x00\x01", 2)};
  const std::string bundle = encode_entry_bundle(entries);
  CHECK(bundle.substr(0, 5) == std::string("\x00\x00\x00\x01" "a", 5));
  std::string error;
  auto back = decode_entry_bundle(bundle, &error);
  REQUIRE_MESSAGE(back, error);
  CHECK(*back == entries);
  CHECK_FALSE(decode_entry_bundle(bundle.substr(0, bundle.size() - 1), &error));
  CHECK_FALSE(decode_entry_bundle(std::string("\x00", 1), &error));
  CHECK_THROWS_AS(encode_entry_bundle({std::string(65536, 'z')}), std::length_error);
  CHECK_FALSE(decode_entry_bundle(encode_entry_bundle(std::vector<std::string>(257, "e")), &error));
  CHECK(decode_entry_bundle(encode_entry_bundle(std::vector<std::string>(256, "e")), &error));
}

TEST_CASE("log entries: canonical bytes, round trip, refusals") {
  LogEntry e;
  e.measurement_uid = "20220105T103000Z_KZ_9198_abc";
  e.envelope_sha256 = std::string(64, 'a');
  e.key_id = "0123456789abcdef";
  e.started_at_ms = 1641378600123;
  e.received_at_ms = 1641378601000;
  e.vantage_point = "00ff00ff00ff00ff";
  e.network_check = "match";
  const std::string bytes = encode_entry(e);
  CHECK(bytes ==
        R"({"envelope_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","key_id":"0123456789abcdef",)"
        R"("measurement_uid":"20220105T103000Z_KZ_9198_abc","network_check":"match","received_at":"2022-01-05T10:30:01.000Z",)"
        R"("schema":"kuzet.log-entry/2","started_at":"2022-01-05T10:30:00.123Z","vantage_point":"00ff00ff00ff00ff"})");
  std::string error;
  auto back = parse_entry(bytes, &error);
  REQUIRE_MESSAGE(back, error);
  CHECK(*back == e);
  std::string spaced = bytes;
  spaced.insert(1, " ");
  CHECK_FALSE(parse_entry(spaced, &error));
  CHECK_FALSE(parse_entry("[]", &error));
  CHECK_FALSE(parse_entry(R"({"a":{"b":1}})", &error));
  std::string other_schema = bytes;
  other_schema.replace(other_schema.find("entry/2"), 7, "entry/3");
  CHECK_FALSE(parse_entry(other_schema, &error));

  // The collector's word must be a tag and a known check; an empty tag ("supports none") is fine.
  auto with = [&](const std::string& tag, const std::string& check) {
    LogEntry x = e;
    x.vantage_point = tag;
    x.network_check = check;
    return encode_entry(x);
  };
  CHECK(parse_entry(with("", ""), &error));
  CHECK(parse_entry(with("", "mismatch"), &error));
  CHECK_FALSE(parse_entry(with("00FF00FF00FF00FF", "match"), &error));
  CHECK(parse_entry(with("replay-0123abcd", "match"), &error));
  CHECK_FALSE(parse_entry(with("00ff 00ff", "match"), &error));
  CHECK_FALSE(parse_entry(with(std::string(65, 'a'), "match"), &error));
  CHECK_FALSE(parse_entry(with("00ff00ff00ff00ff", "maybe"), &error));
  CHECK(error == "log entry network_check is not a known word");
  // /2 without its fields, or /1 with them, is not an entry.
  std::string missing = bytes;
  missing.erase(missing.find(R"(,"vantage_point")"), std::string(R"(,"vantage_point":"00ff00ff00ff00ff")").size());
  CHECK_FALSE(parse_entry(missing, &error));
  std::string v1_with_fields = bytes;
  v1_with_fields.replace(v1_with_fields.find("entry/2"), 7, "entry/1");
  CHECK_FALSE(parse_entry(v1_with_fields, &error));
}

TEST_CASE("log entries: /1 entries, written before the vantage fields, still read and re-encode byte for byte") {
  const std::string v1 =
      R"({"envelope_sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","key_id":"0123456789abcdef",)"
      R"("measurement_uid":"u1","received_at":"2022-01-05T10:30:01.000Z","schema":"kuzet.log-entry/1",)"
      R"("started_at":"2022-01-05T10:30:00.123Z"})";
  std::string error;
  auto e = parse_entry(v1, &error);
  REQUIRE_MESSAGE(e, error);
  CHECK(e->version == 1);
  CHECK(e->vantage_point.empty());
  CHECK(e->measurement_uid == "u1");
  CHECK(encode_entry(*e) == v1);
}

TEST_CASE("TileHashSource: proofs and tree hashes from tiles equal those from the stored hashes") {
  testing::MemoryLog log;
  for (int i = 0; i < 70000; ++i) log.append("e" + std::to_string(i));
  for (uint64_t size : {1ull, 2ull, 255ull, 256ull, 257ull, 511ull, 65536ull, 65537ull, 70000ull}) {
    CAPTURE(size);
    std::vector<TileId> asked;
    // The tiles a collector would serve for a tree of `size`: every stored hash of the tile's positions.
    TileHashSource tiles(size, [&](const TileId& t) {
      asked.push_back(t);
      CHECK(t.width == tile_width_in_tree(t, size));
      return encode_hash_tile(log.read(tile_subtrees(t)));
    });
    // The stored hashes hold the tree at 70,000; a tree of `size` is its prefix.
    CHECK(tree_hash(size, tiles) == tree_hash(size, log));
    for (uint64_t index : {uint64_t{0}, size / 2, size - 1}) {
      CHECK(prove_inclusion(index, size, tiles) == prove_inclusion(index, size, log));
    }
    // Each tile once.
    std::set<std::pair<int, uint64_t>> distinct;
    for (const auto& t : asked) distinct.insert({t.level, t.index});
    CHECK(distinct.size() == asked.size());
    CHECK(tiles.tiles_fetched() == asked.size());
    CHECK_THROWS_AS(tiles.read({{0, size}}), std::invalid_argument);
  }
  TileHashSource short_tile(300, [](const TileId&) { return std::string(64, 'x'); });
  CHECK_THROWS_AS(tree_hash(300, short_tile), std::runtime_error);
}

TEST_CASE("log entries: encode_entry writes what canonicalize writes from the entry's JSON") {
  for (const int version : {1, 2}) {
    LogEntry e;
    e.version = version;
    e.measurement_uid = "u\"\\\x01\x7f é😀";  // any string encode_entry may be handed
    e.envelope_sha256 = std::string(64, 'b');
    e.key_id = "k";
    e.started_at_ms = 1;
    e.received_at_ms = 1641378601000;
    if (version == 2) e.vantage_point = "replay-0a", e.network_check = "unknown";
    nlohmann::json j{{"measurement_uid", e.measurement_uid},
                     {"envelope_sha256", e.envelope_sha256},
                     {"key_id", e.key_id},
                     {"started_at", "1970-01-01T00:00:00.001Z"},
                     {"received_at", "2022-01-05T10:30:01.000Z"},
                     {"schema", version == 1 ? kEntrySchemaV1 : kEntrySchema}};
    if (version == 2) j["vantage_point"] = e.vantage_point, j["network_check"] = e.network_check;
    CHECK(encode_entry(e) == kuzet::core::canonicalize(j));
  }
}
