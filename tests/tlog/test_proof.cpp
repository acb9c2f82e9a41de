// C2SP tlog-proof texts: the spec's example, round trips, strict parsing, and verification against a signed
// checkpoint of an in-memory log.
#include <doctest/doctest.h>

#include <string>

#include "core/crypto/signing.hpp"
#include "tests/tlog/memory_source.hpp"
#include "tlog/proof.hpp"

using namespace kuzet::tlog;

namespace {

// The example of https://c2sp.org/tlog-proof (its signatures are elided there, so only the form is checked).
const std::string kSpecExample =
    "c2sp.org/tlog-proof@v1\n"
    "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n"
    "index 73894\n"
    "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n"
    "B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n"
    "EKNzoDWG8LGC0Yp9o+sv3qllpMP9uHQ9B20KNL+Q1zs=\n"
    "RoopEkOdqkYqMB4MJXrbt/hMjOxsVn0IrWjpz1ZMMes=\n"
    "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=\n"
    "\n"
    "example.com/fancylog\n"
    "109482\n"
    "sFodV/vSp5O8n9a8QpW6PRY97tfOSW5bsc2Xl/EQi08=\n"
    "\n"
    "\xE2\x80\x94 example.com/fancylog hI2DJw==\n";

struct SignedLog {
  testing::MemoryLog log;
  NoteSigner signer = make_signer("kuzet.example.org/log", kuzet::core::ed25519_from_seed(std::string(32, 'p')));
  std::string note;
  explicit SignedLog(int entries) {
    for (int i = 0; i < entries; ++i) log.append("entry " + std::to_string(i));
    Checkpoint c{signer.name, log.frontier.size(), log.frontier.root(), {}};
    note = sign_note(checkpoint_text(c), signer);
  }
  TlogProof proof_of(uint64_t index) {
    return {log.entries[index], index, prove_inclusion(index, log.frontier.size(), log), note};
  }
};

}  // namespace

TEST_CASE("tlog-proof: the spec's example parses and prints back the same") {
  std::string error;
  auto p = parse_tlog_proof(kSpecExample, &error);
  REQUIRE_MESSAGE(p, error);
  CHECK(p->extra == std::string("age-v1.2.1-darwin-arm64.tar.gz"));
  CHECK(p->index == 73894);
  CHECK(p->inclusion.size() == 5);
  CHECK(hash_base64(p->inclusion[4]) == "AHCioX9nLjsrse6YhjRRmk1WUEirVOLLRoOQ6vfO5vk=");
  CHECK(p->checkpoint.rfind("example.com/fancylog\n109482\n", 0) == 0);
  CHECK(format_tlog_proof(*p) == kSpecExample);
}

TEST_CASE("tlog-proof: without extra data, and a proof of no hashes (a tree of one)") {
  SignedLog s(1);
  TlogProof p = s.proof_of(0);
  p.extra.reset();
  CHECK(p.inclusion.empty());
  const std::string text = format_tlog_proof(p);
  CHECK(text.rfind("c2sp.org/tlog-proof@v1\nindex 0\n\nkuzet.example.org/log\n1\n", 0) == 0);
  std::string error;
  auto back = parse_tlog_proof(text, &error);
  REQUIRE_MESSAGE(back, error);
  CHECK(*back == p);
  CHECK(verify_tlog_proof(*back, leaf_hash(s.log.entries[0]), verifier_of(s.signer), &error));
}

TEST_CASE("tlog-proof: every entry of a log verifies; a changed byte anywhere does not") {
  SignedLog s(21);
  const NoteVerifier verifier = verifier_of(s.signer);
  std::string error;
  for (uint64_t i = 0; i < 21; ++i) {
    auto p = parse_tlog_proof(format_tlog_proof(s.proof_of(i)), &error);
    REQUIRE_MESSAGE(p, error);
    auto cp = verify_tlog_proof(*p, leaf_hash(*p->extra), verifier, &error);
    REQUIRE_MESSAGE(cp, error);
    CHECK(cp->size == 21);
  }
  TlogProof p = s.proof_of(7);
  SUBCASE("another index") {
    p.index = 8;
    CHECK_FALSE(verify_tlog_proof(p, leaf_hash(*p.extra), verifier, &error));
    CHECK(error == "inclusion proof (index 8) does not lead to the checkpoint's root");
  }
  SUBCASE("an index past the tree") {
    p.index = 21;
    CHECK_FALSE(verify_tlog_proof(p, leaf_hash(*p.extra), verifier, &error));
    CHECK(error == "index 21 is not below the checkpoint's size 21");
  }
  SUBCASE("a hash") {
    p.inclusion[2][0] ^= 1;
    CHECK_FALSE(verify_tlog_proof(p, leaf_hash(*p.extra), verifier, &error));
    CHECK(error.find("does not lead to the checkpoint's root") != std::string::npos);
  }
  SUBCASE("another entry") {
    CHECK_FALSE(verify_tlog_proof(p, leaf_hash("entry 8"), verifier, &error));
  }
  SUBCASE("the checkpoint's size") {
    const size_t at = p.checkpoint.find("\n21\n");
    p.checkpoint[at + 2] = '2';
    CHECK_FALSE(verify_tlog_proof(p, leaf_hash(*p.extra), verifier, &error));
    CHECK(error.rfind("checkpoint: ", 0) == 0);
  }
  SUBCASE("another log's key") {
    auto other = verifier_of(make_signer("kuzet.example.org/log", kuzet::core::ed25519_from_seed(std::string(32, 'q'))));
    CHECK_FALSE(verify_tlog_proof(p, leaf_hash(*p.extra), other, &error));
    CHECK(error.rfind("checkpoint: ", 0) == 0);
  }
}

TEST_CASE("tlog-proof: only the form of the spec parses") {
  const std::string h = "gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n";
  const std::string cp = "example.com/log\n1\n" + h + "\n\xE2\x80\x94 example.com/log hI2DJw==\n";
  std::string error;
  CHECK(parse_tlog_proof("c2sp.org/tlog-proof@v1\nindex 0\n\n" + cp, &error));
  for (const std::string& bad :
       {std::string(""), "c2sp.org/tlog-proof@v2\nindex 0\n\n" + cp, "c2sp.org/tlog-proof@v1\nindex 00\n\n" + cp,
        "c2sp.org/tlog-proof@v1\nindex -1\n\n" + cp, "c2sp.org/tlog-proof@v1\nindex \n\n" + cp,
        "c2sp.org/tlog-proof@v1\nindex 1x\n\n" + cp, "c2sp.org/tlog-proof@v1\nindex 18446744073709551616\n\n" + cp,
        "c2sp.org/tlog-proof@v1\nextra !!\nindex 0\n\n" + cp, "c2sp.org/tlog-proof@v1\nextra YQ\nindex 0\n\n" + cp,
        "c2sp.org/tlog-proof@v1\n\nindex 0\n\n" + cp, "c2sp.org/tlog-proof@v1\nindex 0\n" + h + "\n",
        "c2sp.org/tlog-proof@v1\nindex 0\n" + h, "c2sp.org/tlog-proof@v1\nindex 0\nAAAA\n\n" + cp,
        "c2sp.org/tlog-proof@v1\nindex 0\n" + h.substr(0, 43) + "\n\n" + cp,
        "c2sp.org/tlog-proof@v1\nextra YQ==\nextra YQ==\nindex 0\n\n" + cp,
        "c2sp.org/tlog-proof@v1\r\nindex 0\n\n" + cp}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(parse_tlog_proof(bad, &error));
    CHECK(!error.empty());
  }
  std::string many = "c2sp.org/tlog-proof@v1\nindex 0\n";
  for (int i = 0; i < 65; ++i) many += h;
  CHECK_FALSE(parse_tlog_proof(many + "\n" + cp, &error));
  CHECK(error == "tlog-proof has more than 64 inclusion hashes");
  CHECK_FALSE(parse_tlog_proof("c2sp.org/tlog-proof@v1\nindex 0\n\n" + std::string(kMaxTlogProofBytes, 'a'), &error));
  CHECK(error == "tlog-proof larger than 256 KiB");
}
