#pragma once
// RFC 6962 / RFC 9162 Merkle tree hashing, inclusion and consistency proofs. Pure: hashes come from a
// HashSource, so the same code serves the collector (hashes in the database) and verifiers (hashes in
// a bundle or fetched tiles).
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::tlog {

using Hash = std::array<unsigned char, 32>;

// SHA-256(0x00 || entry) and SHA-256(0x01 || left || right).
Hash leaf_hash(std::string_view entry);
Hash node_hash(const Hash& left, const Hash& right);
// Hash of the empty tree: SHA-256 of nothing.
Hash empty_tree_hash();

std::string hash_base64(const Hash& hash);
// Strict: exactly 32 bytes, canonical base64. false when not.
bool hash_from_base64(std::string_view text, Hash* out);
std::string hash_hex(const Hash& hash);

// A complete subtree: the 2^level leaves starting at leaf index << level. Level 0 is a leaf.
struct Subtree {
  int level = 0;
  uint64_t index = 0;
  bool operator==(const Subtree&) const = default;
};

// Where stored subtree hashes come from. read() returns the hashes in the order asked and throws
// (std::runtime_error) when one is missing.
class HashSource {
 public:
  virtual ~HashSource() = default;
  virtual std::vector<Hash> read(const std::vector<Subtree>& subtrees) = 0;
};

// Tree hash (MTH) of the first `size` leaves.
Hash tree_hash(uint64_t size, HashSource& source);
// Audit path of leaf `index` in the tree of `size` leaves (RFC 9162 2.1.3.1). Throws std::invalid_argument
// when index >= size.
std::vector<Hash> prove_inclusion(uint64_t index, uint64_t size, HashSource& source);
// Consistency proof between sizes old_size and new_size (RFC 9162 2.1.4.1); empty when they are equal or
// old_size is 0. Throws std::invalid_argument when old_size > new_size.
std::vector<Hash> prove_consistency(uint64_t old_size, uint64_t new_size, HashSource& source);

// The root an audit path leads to from `leaf` at `index` in a tree of `size` leaves (RFC 9162 2.1.3.2
// without the final comparison); nullopt when index >= size or the path's length does not fit them.
std::optional<Hash> root_from_inclusion(const Hash& leaf, uint64_t index, uint64_t size,
                                        const std::vector<Hash>& proof);
// RFC 9162 2.1.3.2.
bool verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size, const std::vector<Hash>& proof,
                      const Hash& root);
// RFC 9162 2.1.4.2, plus the trivial cases: equal sizes (empty proof, equal roots) and old_size 0
// (empty proof: every tree extends the empty one).
bool verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                        const std::vector<Hash>& proof);

// The subtrees whose hashes must be stored when a leaf is appended: the leaf itself, then every subtree it
// completes. Keeping these (about two per leaf) is enough for every tree hash, proof and tile.
struct StoredHash {
  Subtree subtree;
  Hash hash;
};

// The right edge of a tree (one hash per set bit of its size): enough to append leaves and to compute
// the tree hash without reading anything else.
class Frontier {
 public:
  Frontier() = default;
  // The frontier of a stored tree of `size` leaves (reads popcount(size) hashes).
  static Frontier load(uint64_t size, HashSource& source);

  uint64_t size() const { return size_; }
  Hash root() const;
  // Appends a leaf and returns what to store: the leaf hash first, then the subtrees it completed.
  std::vector<StoredHash> append(const Hash& leaf);

 private:
  uint64_t size_ = 0;
  std::array<Hash, 64> by_level_{};  // valid where the bit of size_ is set
};

}  // namespace kuzet::tlog
