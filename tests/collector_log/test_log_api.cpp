// The log's read API on loopback: upload answers carry log indexes; /log/checkpoint, /log/key, tiles,
// entry bundles, inclusion and consistency proofs verify with lib/tlog; untrusted query input gets 400s.
#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "collector/network/asn_db.hpp"
#include "collector/log/checkpointer.hpp"
#include "collector/log/routes.hpp"
#include "collector/server.hpp"
#include "tests/collector/support/server_fixture.hpp"
#include "tlog/entry.hpp"
#include "tlog/tiles.hpp"

using namespace kuzet;
using namespace kuzet::collector;
using namespace kuzet::collector::testing;
using nlohmann::json;

namespace {

// A collector Server with the log routes, in-process.
struct LogCollector {
  tlog::NoteSigner signer = tlog::make_signer("kuzet.test/log", core::generate_ed25519());
  std::unique_ptr<log::Checkpointer> checkpointer;
  RunningCollector running{{}, nullptr, [this](Server& server, Store& store) {
                             checkpointer = std::make_unique<log::Checkpointer>(store, signer, std::chrono::seconds(3600));
                             log::register_log_routes(server.http_server(), store, *checkpointer);
                           }};  // last: stopped before the checkpointer goes
  httplib::Client client() const { return running.client(); }
};

std::vector<std::string> envelopes(const core::KeyPair& key, int first, int count) {
  std::vector<std::string> out;
  for (int i = first; i < first + count; ++i) {
    MeasurementSpec s;
    s.uid = "20220105T103000Z_KZ_9198_" + std::to_string(100000 + i);
    out.push_back(signed_envelope(s, key));
  }
  return out;
}

int status_of(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path);
  return r ? r->status : -1;
}

std::string uid_of(int i) { return "20220105T103000Z_KZ_9198_" + std::to_string(100000 + i); }

std::vector<tlog::Hash> hashes_of(const json& list) {
  std::vector<tlog::Hash> out;
  for (const auto& item : list) {
    tlog::Hash h;
    REQUIRE(tlog::hash_from_base64(item.get<std::string>(), &h));
    out.push_back(h);
  }
  return out;
}

tlog::Checkpoint fetch_checkpoint(httplib::Client& c, const tlog::NoteVerifier& verifier) {
  auto r = c.Get("/log/checkpoint");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  std::string error;
  auto cp = tlog::open_checkpoint(r->body, verifier, &error);
  REQUIRE_MESSAGE(cp, error);
  return *cp;
}

}  // namespace

TEST_CASE("log API: indexes, checkpoint, key, proofs and tiles") {
  LogCollector lc;
  auto c = lc.client();
  auto key = registered_key(c);

  // The published key is the checkpointer's.
  auto k = c.Get("/log/key");
  REQUIRE(k);
  std::string error;
  auto verifier = tlog::parse_verifier_key(k->body.substr(0, k->body.size() - 1), &error);
  REQUIRE_MESSAGE(verifier, error);
  CHECK(verifier->public_key == lc.signer.key.public_key);
  CHECK(fetch_checkpoint(c, *verifier).size == 0);

  // Upload answers carry each item's log index; a re-upload answers the same index.
  std::vector<std::string> all;
  for (int b = 0; b < 3; ++b) {
    auto batch = envelopes(key, b * 100, 100);
    auto r = c.Post("/api/v1/measurements", upload_body(batch), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto answer = json::parse(r->body);
    for (int i = 0; i < 100; ++i) CHECK(answer["results"][i]["index"] == b * 100 + i);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  auto again = c.Post("/api/v1/measurements", upload_body({all[42]}), "application/json");
  REQUIRE(again);
  CHECK(json::parse(again->body)["results"][0]["status"] == "duplicate");
  CHECK(json::parse(again->body)["results"][0]["index"] == 42);

  // Logged but not yet in a signed checkpoint: retry later.
  auto pending = c.Get("/api/v1/measurements/" + uid_of(7) + "/proof");
  REQUIRE(pending);
  CHECK(pending->status == 503);
  CHECK(pending->has_header("Retry-After"));

  REQUIRE(lc.checkpointer->sign_if_grown());
  const auto cp300 = fetch_checkpoint(c, *verifier);
  CHECK(cp300.size == 300);

  SUBCASE("inclusion proofs commit to the stored envelope") {
    for (int i : {0, 7, 255, 256, 299}) {
      auto r = c.Get("/api/v1/measurements/" + uid_of(i) + "/proof");
      REQUIRE(r);
      REQUIRE(r->status == 200);
      auto p = json::parse(r->body);
      CHECK(p["index"] == i);
      CHECK(p["tree_size"] == 300);
      auto cp = tlog::open_checkpoint(p["checkpoint"].get<std::string>(), *verifier, &error);
      REQUIRE_MESSAGE(cp, error);
      const std::string entry_bytes = p["entry"];
      auto entry = tlog::parse_entry(entry_bytes, &error);
      REQUIRE_MESSAGE(entry, error);
      CHECK(entry->measurement_uid == uid_of(i));
      CHECK(entry->envelope_sha256 == core::sha256_hex(all[static_cast<size_t>(i)]));
      CHECK(entry->key_id == core::key_id(key.public_key));
      const auto proof = hashes_of(p["inclusion"]);
      CHECK(tlog::verify_inclusion(tlog::leaf_hash(entry_bytes), static_cast<uint64_t>(i), cp->size, proof, cp->root));
      CHECK_FALSE(tlog::verify_inclusion(tlog::leaf_hash(entry_bytes + " "), static_cast<uint64_t>(i), cp->size, proof,
                                         cp->root));
    }
    auto missing = c.Get("/api/v1/measurements/no-such-uid/proof");
    REQUIRE(missing);
    CHECK(missing->status == 404);
  }

  SUBCASE("tiles and entry bundles rebuild the signed tree") {
    auto t0 = c.Get("/log/tile/0/000");
    REQUIRE(t0);
    REQUIRE(t0->status == 200);
    CHECK(t0->body.size() == 256 * 32);
    auto t1 = c.Get("/log/tile/0/001.p/44");
    REQUIRE(t1);
    REQUIRE(t1->status == 200);
    CHECK(t1->body.size() == 44 * 32);
    auto top = c.Get("/log/tile/1/000.p/1");
    REQUIRE(top);
    REQUIRE(top->status == 200);
    // The level-1 hash is the root of the first 256 leaves; with the 44 leaves after it, the signed root.
    auto first = tlog::decode_hash_tile(t0->body), second = tlog::decode_hash_tile(t1->body);
    REQUIRE(first);
    REQUIRE(second);
    auto level0 = *first;
    level0.insert(level0.end(), second->begin(), second->end());
    tlog::Frontier rebuilt;
    for (const auto& h : level0) rebuilt.append(h);
    CHECK(rebuilt.root() == cp300.root);
    auto bundle = c.Get("/log/tile/entries/001.p/44");
    REQUIRE(bundle);
    REQUIRE(bundle->status == 200);
    auto entries = tlog::decode_entry_bundle(bundle->body, &error);
    REQUIRE(entries);
    REQUIRE(entries->size() == 44);
    for (size_t i = 0; i < 44; ++i) CHECK(tlog::leaf_hash((*entries)[i]) == level0[256 + i]);
    // Not there yet, or nonsense.
    for (const char* path : {"/log/tile/0/001", "/log/tile/0/001.p/45", "/log/tile/1/000", "/log/tile/0/002.p/1",
                             "/log/tile/entries/001"})
      CHECK_MESSAGE(status_of(c, path) == 404, path);
    for (const char* path : {"/log/tile/0/1", "/log/tile/9/000", "/log/tile/0/x000/001", "/log/tile/0/000.p/0",
                             "/log/tile/0/000.p/256", "/log/tile/entries/000.p/abc"})
      CHECK_MESSAGE(status_of(c, path) == 400, path);
  }

  SUBCASE("consistency proofs across growth; query input is checked") {
    const auto before = cp300;
    auto more = envelopes(key, 300, 150);
    REQUIRE(c.Post("/api/v1/measurements", upload_body(more), "application/json")->status == 200);
    REQUIRE(lc.checkpointer->sign_if_grown());
    const auto after = fetch_checkpoint(c, *verifier);
    CHECK(after.size == 450);
    auto r = c.Get("/log/consistency?from=300&to=450");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    const auto proof = hashes_of(json::parse(r->body)["proof"]);
    CHECK(tlog::verify_consistency(300, 450, before.root, after.root, proof));
    auto same = c.Get("/log/consistency?from=450&to=450");
    CHECK(json::parse(same->body)["proof"].empty());
    for (const char* q : {"", "?from=1", "?to=3", "?from=abc&to=3", "?from=-1&to=3", "?from=01&to=3", "?from=4&to=3",
                          "?from=1&to=451", "?from=1&to=99999999999999999999", "?from=1&to=3x", "?from=+1&to=3"}) {
      auto bad = c.Get(std::string("/log/consistency") + q);
      REQUIRE(bad);
      CHECK_MESSAGE(bad->status == 400, q);
    }
  }
}
