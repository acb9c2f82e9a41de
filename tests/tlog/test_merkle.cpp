// RFC 6962/9162 hashing and proofs against a direct transcription of the RFC's recursive definitions, the
// RFC 6962 reference test vectors, and tampering.
#include <doctest/doctest.h>

#include <bit>
#include <string>
#include <vector>

#include "core/crypto/crypto.hpp"
#include "tests/tlog/memory_source.hpp"
#include "tlog/merkle.hpp"

using namespace kuzet::tlog;
using kuzet::tlog::testing::MemoryLog;

namespace {

// MTH(D[n]) exactly as RFC 6962 2.1 defines it.
Hash reference_mth(const std::vector<std::string>& d, size_t begin, size_t end) {
  if (end == begin) return empty_tree_hash();
  if (end - begin == 1) return leaf_hash(d[begin]);
  const size_t k = std::bit_floor(end - begin - 1);
  return node_hash(reference_mth(d, begin, begin + k), reference_mth(d, begin + k, end));
}

// The test vectors of RFC 6962's reference implementation (certificate-transparency merkle tests).
const std::vector<std::string> kLeaves = {
    "", std::string("\x00", 1), "\x10", "\x20\x21", "\x30\x31", "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57", "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};
const char* kRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

MemoryLog log_of(size_t n) {
  MemoryLog log;
  for (size_t i = 0; i < n; ++i) log.append("entry " + std::to_string(i));
  return log;
}

}  // namespace

TEST_CASE("empty tree and RFC 6962 reference roots") {
  CHECK(hash_hex(empty_tree_hash()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  MemoryLog log;
  for (size_t i = 0; i < kLeaves.size(); ++i) {
    log.append(kLeaves[i]);
    CHECK(hash_hex(tree_hash(i + 1, log)) == kRoots[i]);
    CHECK(hash_hex(log.frontier.root()) == kRoots[i]);
  }
}

TEST_CASE("tree hash, frontier and stored hashes agree with the RFC definition for every size") {
  MemoryLog log = log_of(300);
  for (size_t n = 0; n <= 300; ++n) CHECK(tree_hash(n, log) == reference_mth(log.entries, 0, n));
  // About two stored hashes per leaf.
  CHECK(log.hashes.size() < 2 * 300);
  // A frontier loaded from storage continues the same tree.
  Frontier loaded = Frontier::load(300, log);
  CHECK(loaded.size() == 300);
  CHECK(loaded.root() == log.frontier.root());
  loaded.append(leaf_hash("next"));
  log.append("next");
  CHECK(loaded.root() == log.frontier.root());
}

TEST_CASE("inclusion proofs verify for every leaf and fail when anything is changed") {
  MemoryLog log = log_of(70);
  for (uint64_t size = 1; size <= 70; ++size) {
    const Hash root = tree_hash(size, log);
    for (uint64_t i = 0; i < size; ++i) {
      auto proof = prove_inclusion(i, size, log);
      CHECK(proof.size() <= 7);
      const Hash leaf = leaf_hash(log.entries[i]);
      REQUIRE(verify_inclusion(leaf, i, size, proof, root));
      CHECK_FALSE(verify_inclusion(leaf_hash(log.entries[i] + "x"), i, size, proof, root));
      if (size > 1) CHECK_FALSE(verify_inclusion(leaf, (i + 1) % size, size, proof, root));
      if (size < 70) CHECK_FALSE(verify_inclusion(leaf, i, size + 1, proof, tree_hash(size + 1, log)));
      CHECK_FALSE(verify_inclusion(leaf, size, size, proof, root));
      if (!proof.empty()) {
        auto bad = proof;
        bad.back()[31] ^= 1;
        CHECK_FALSE(verify_inclusion(leaf, i, size, bad, root));
        bad = proof;
        bad.pop_back();
        CHECK_FALSE(verify_inclusion(leaf, i, size, bad, root));
      }
      auto longer = proof;
      longer.push_back(root);
      CHECK_FALSE(verify_inclusion(leaf, i, size, longer, root));
    }
  }
  CHECK_THROWS_AS(prove_inclusion(5, 5, log), std::invalid_argument);
}

TEST_CASE("consistency proofs verify for every pair of sizes and fail when anything is changed") {
  MemoryLog log = log_of(70);
  std::vector<Hash> roots;
  for (uint64_t n = 0; n <= 70; ++n) roots.push_back(tree_hash(n, log));
  for (uint64_t m = 0; m <= 70; ++m) {
    for (uint64_t n = m; n <= 70; ++n) {
      auto proof = prove_consistency(m, n, log);
      REQUIRE(verify_consistency(m, n, roots[m], roots[n], proof));
      if (m == 0 || m == n) {
        CHECK(proof.empty());
        if (m == n && n > 0) CHECK_FALSE(verify_consistency(m, n, roots[m], roots[n - 1], proof));
        continue;
      }
      CHECK_FALSE(verify_consistency(m, n, roots[m - 1], roots[n], proof));  // another old tree
      CHECK_FALSE(verify_consistency(m, n, roots[m], roots[n - 1], proof));  // another new tree
      CHECK_FALSE(verify_consistency(m, n, roots[m], roots[n], {}));
      for (size_t i = 0; i < proof.size(); ++i) {
        auto bad = proof;
        bad[i][0] ^= 0x80;
        CHECK_FALSE(verify_consistency(m, n, roots[m], roots[n], bad));
      }
      CHECK_FALSE(verify_consistency(n, m, roots[n], roots[m], proof));
    }
  }
  CHECK_THROWS_AS(prove_consistency(3, 2, log), std::invalid_argument);
}

TEST_CASE("a forked log is not consistent with the original") {
  MemoryLog a = log_of(20), b = log_of(12);
  for (int i = 12; i < 20; ++i) b.append("forked " + std::to_string(i));
  const Hash old_root = tree_hash(12, a);
  CHECK(tree_hash(12, b) == old_root);  // same history up to 12
  CHECK(verify_consistency(12, 20, old_root, tree_hash(20, b), prove_consistency(12, 20, b)));
  // A's proof from 15 does not take B's tree: they differ after 12.
  CHECK_FALSE(verify_consistency(15, 20, tree_hash(15, a), tree_hash(20, b), prove_consistency(15, 20, b)));
  CHECK_FALSE(verify_consistency(15, 20, tree_hash(15, a), tree_hash(20, b), prove_consistency(15, 20, a)));
}

TEST_CASE("proofs read O(log n) hashes") {
  MemoryLog log = log_of(5000);
  log.reads = 0;
  prove_inclusion(1234, 5000, log);
  CHECK(log.reads <= 2 * 13);
  log.reads = 0;
  prove_consistency(1234, 5000, log);
  CHECK(log.reads <= 2 * 13 * 2);
  log.reads = 0;
  tree_hash(5000, log);
  CHECK(log.reads == static_cast<size_t>(std::popcount(5000u)));
}

TEST_CASE("hash base64 is strict") {
  const Hash h = leaf_hash("x");
  Hash back{};
  REQUIRE(hash_from_base64(hash_base64(h), &back));
  CHECK(back == h);
  CHECK_FALSE(hash_from_base64(hash_base64(h).substr(1), &back));
  CHECK_FALSE(hash_from_base64(kuzet::core::base64_encode(std::string(31, 'a')), &back));
  // Same 32 bytes with the two unused low bits of the last symbol set: a second spelling, refused.
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string noncanonical = hash_base64(h);
  noncanonical[42] = alphabet[alphabet.find(noncanonical[42]) | 3];
  CHECK_FALSE(hash_from_base64(noncanonical, &back));
}
