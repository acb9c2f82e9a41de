// C2SP signed notes and checkpoints: the spec's test vector (also Go's sumdb/note example), round trips,
// and the refusals of a parser of untrusted notes.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "core/crypto/crypto.hpp"
#include "core/crypto/signing.hpp"
#include "tlog/note.hpp"

using namespace kuzet;
using namespace kuzet::tlog;

namespace {

// From https://c2sp.org/signed-note and golang.org/x/mod/sumdb/note.
const std::string kVectorSigner = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const std::string kVectorVerifier = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const std::string kVectorText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
const std::string kVectorNote = kVectorText +
    "\n\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

NoteSigner test_signer(const std::string& name) { return make_signer(name, core::generate_ed25519()); }

}  // namespace

TEST_CASE("the C2SP signed-note test vector") {
  std::string error;
  auto signer = parse_signer_key(kVectorSigner, &error);
  REQUIRE_MESSAGE(signer, error);
  CHECK(signer->name == "PeterNeumann");
  CHECK(signer->key_hash == 0xc74f20a3);
  CHECK(signer_key_text(*signer) == kVectorSigner);
  CHECK(verifier_key_text(verifier_of(*signer)) == kVectorVerifier);
  auto verifier = parse_verifier_key(kVectorVerifier, &error);
  REQUIRE_MESSAGE(verifier, error);
  CHECK(verifier->public_key == signer->key.public_key);
  // Ed25519 is deterministic: our signature is the spec's, byte for byte.
  CHECK(sign_note(kVectorText, *signer) == kVectorNote);
  auto opened = open_note(kVectorNote, {*verifier}, &error);
  REQUIRE_MESSAGE(opened, error);
  CHECK(opened->text == kVectorText);
  REQUIRE(opened->verified.size() == 1);
  CHECK(opened->verified[0].name == "PeterNeumann");
}

TEST_CASE("verifier keys: malformed or mismatched keys are refused with a reason") {
  std::string error;
  CHECK_FALSE(parse_verifier_key("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &error));
  CHECK(error.find("key hash") != std::string::npos);
  CHECK_FALSE(parse_verifier_key("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T", &error));
  CHECK_FALSE(parse_verifier_key("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &error));
  CHECK_FALSE(parse_verifier_key("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &error));
  CHECK_FALSE(parse_verifier_key("PeterNeumann+c74f20a3", &error));
  CHECK_FALSE(parse_verifier_key("", &error));
  // Type byte 0x02 is not Ed25519.
  std::string key(1, '\x02');
  key += std::string(32, 'k');
  CHECK_FALSE(parse_verifier_key("x+00000000+" + core::base64_encode(key), &error));
  CHECK(error.find("Ed25519") != std::string::npos);
  CHECK_FALSE(parse_signer_key(kVectorVerifier, &error));
  CHECK_THROWS_AS(make_signer("has space", core::generate_ed25519()), std::invalid_argument);
  CHECK_THROWS_AS(make_signer("a+b", core::generate_ed25519()), std::invalid_argument);
  CHECK(valid_key_name("kuzet.example.org/log"));
  CHECK_FALSE(valid_key_name("tab\tname"));
  CHECK_FALSE(valid_key_name("nbsp\xC2\xA0name"));
  CHECK_FALSE(valid_key_name("bad\xC0\xAF"));
}

TEST_CASE("notes: signatures by other keys are kept apart, bad ones refuse the note") {
  auto a = test_signer("kuzet.example.org/log");
  auto b = test_signer("witness.example.net");
  const std::string text = "hello\n";
  const std::string by_a = sign_note(text, a);
  std::string error;
  // Co-signed: the signature block of b appended.
  const std::string cosigned = by_a + sign_note(text, b).substr(text.size() + 1);
  auto opened = open_note(cosigned, {verifier_of(a)}, &error);
  REQUIRE_MESSAGE(opened, error);
  CHECK(opened->verified.size() == 1);
  REQUIRE(opened->unverified.size() == 1);
  CHECK(opened->unverified[0].name == "witness.example.net");
  opened = open_note(cosigned, {verifier_of(a), verifier_of(b)}, &error);
  REQUIRE(opened);
  CHECK(opened->verified.size() == 2);

  CHECK_FALSE(open_note(by_a, {verifier_of(b)}, &error));
  CHECK(error == "no signature by a known key");
  // Same name and key hash, other key: a bad signature refuses the note.
  NoteVerifier impostor = verifier_of(a);
  impostor.public_key = b.key.public_key;
  CHECK_FALSE(open_note(by_a, {impostor}, &error));
  CHECK(error.find("does not verify") != std::string::npos);
  // Any changed byte of the text breaks the signature.
  std::string tampered = by_a;
  tampered[0] = 'j';
  CHECK_FALSE(open_note(tampered, {verifier_of(a)}, &error));
}

TEST_CASE("notes: malformed input is refused with a reason") {
  auto a = test_signer("log");
  const std::string good = sign_note("text\n", a);
  std::string error;
  const std::vector<NoteVerifier> v = {verifier_of(a)};
  CHECK_FALSE(open_note("", v, &error));
  CHECK_FALSE(open_note("text\n", v, &error));
  CHECK_FALSE(open_note(good.substr(0, good.size() - 1), v, &error));  // no final newline
  CHECK_FALSE(open_note(std::string("te\x01xt\n") + good.substr(5), v, &error));
  CHECK_FALSE(open_note(std::string("te\xFFxt\n") + good.substr(5), v, &error));
  std::string hyphen = good;
  hyphen.replace(hyphen.find("\xE2\x80\x94"), 3, "-");
  CHECK_FALSE(open_note(hyphen, v, &error));
  CHECK(error.find("em dash") != std::string::npos);
  CHECK_FALSE(open_note(good + "\xE2\x80\x94 log !!!!\n", v, &error));
  CHECK_FALSE(open_note(std::string(kMaxNoteBytes + 1, 'a'), v, &error));
  CHECK(error.find("larger") != std::string::npos);
  std::string many = "text\n\n";
  const std::string other_line = sign_note("text\n", test_signer("other")).substr(6);
  for (size_t i = 0; i <= kMaxNoteSignatures; ++i) many += other_line.substr(0, other_line.size() - 1) + "\n";
  CHECK_FALSE(open_note(many, v, &error));
  // Signing refuses text the format cannot carry.
  CHECK_THROWS_AS(sign_note("no newline", a), std::invalid_argument);
  CHECK_THROWS_AS(sign_note("blank at end\n\n", a), std::invalid_argument);
  CHECK_THROWS_AS(sign_note("tab\there\n", a), std::invalid_argument);
}

TEST_CASE("checkpoints: text form, parsing and opening") {
  auto signer = test_signer("kuzet.example.org/log");
  Checkpoint cp;
  cp.origin = "kuzet.example.org/log";
  cp.size = 1234;
  cp.root = leaf_hash("root");
  const std::string text = checkpoint_text(cp);
  CHECK(text == "kuzet.example.org/log\n1234\n" + hash_base64(cp.root) + "\n");
  std::string error;
  auto parsed = parse_checkpoint(text, &error);
  REQUIRE_MESSAGE(parsed, error);
  CHECK(parsed->size == 1234);
  CHECK(parsed->root == cp.root);
  cp.extensions = {"Timestamp: 1700000000"};
  parsed = parse_checkpoint(checkpoint_text(cp), &error);
  REQUIRE(parsed);
  CHECK(parsed->extensions == cp.extensions);

  auto opened = open_checkpoint(sign_note(text, signer), verifier_of(signer), &error);
  REQUIRE_MESSAGE(opened, error);
  CHECK(opened->size == 1234);
  auto other = test_signer("other.example/log");
  CHECK_FALSE(open_checkpoint(sign_note(text, other), verifier_of(other), &error));
  CHECK(error.find("origin") != std::string::npos);

  const std::string root = hash_base64(cp.root);
  for (const std::string& bad : std::vector<std::string>{"o\n1\n", "\n1\n" + root + "\n", "o\n01\n" + root + "\n", "o\n-1\n" + root + "\n",
                                "o\n18446744073709551616\n" + root + "\n", "o\n1\n" + root.substr(4) + "\n",
                                "o\n1\n" + root, "o\n1\n" + root + "\n\n", "o\n1 \n" + root + "\n"}) {
    CHECK_FALSE(parse_checkpoint(bad, &error));
    CHECK(!error.empty());
  }
  CHECK(parse_checkpoint("o\n18446744073709551615\n" + root + "\n", &error));
}
