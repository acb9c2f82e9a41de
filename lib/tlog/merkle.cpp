#include "tlog/merkle.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <stdexcept>

#include "core/crypto/crypto.hpp"

namespace kuzet::tlog {

namespace {

Hash digest(std::initializer_list<std::string_view> parts) {
  Hash out;
  core::sha256_into(parts, out.data());
  return out;
}

// Largest power of two strictly smaller than n (n >= 2).
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

// A range [begin, end) of leaves as it appears in the RFC's recursion: begin is aligned to a power of two
// at least as large as the range, so the range is a run of complete subtrees of decreasing size.
struct Range {
  uint64_t begin = 0, end = 0;
};

void append_subtrees(const Range& r, std::vector<Subtree>* out) {
  uint64_t at = r.begin;
  while (at < r.end) {
    int level = 63 - std::countl_zero(r.end - at);  // the largest subtree that fits...
    if (at != 0) level = std::min(level, std::countr_zero(at));  // ...and is aligned
    out->push_back({level, at >> level});
    at += uint64_t{1} << level;
  }
}

// MTH of one range from the hashes of its subtrees (in append_subtrees order): the RFC splits at the largest
// power of two, which is always the first subtree, so the hash folds from the right.
Hash fold(const Hash* first, size_t count) {
  Hash h = first[count - 1];
  for (size_t i = count - 1; i-- > 0;) h = node_hash(first[i], h);
  return h;
}

// Hashes of several ranges with one read of the source.
std::vector<Hash> range_hashes(const std::vector<Range>& ranges, HashSource& source) {
  std::vector<Subtree> subtrees;
  std::vector<size_t> counts;
  for (const auto& r : ranges) {
    const size_t before = subtrees.size();
    append_subtrees(r, &subtrees);
    counts.push_back(subtrees.size() - before);
  }
  const auto hashes = source.read(subtrees);
  if (hashes.size() != subtrees.size()) throw std::runtime_error("hash source returned the wrong number of hashes");
  std::vector<Hash> out;
  size_t at = 0;
  for (size_t count : counts) {
    out.push_back(fold(hashes.data() + at, count));
    at += count;
  }
  return out;
}

// PATH(m, D[begin:end]) of RFC 9162 2.1.3.1 as ranges, leaf side first.
void inclusion_ranges(uint64_t m, uint64_t begin, uint64_t end, std::vector<Range>* out) {
  if (end - begin <= 1) return;
  const uint64_t k = split_point(end - begin);
  if (m < begin + k) {
    inclusion_ranges(m, begin, begin + k, out);
    out->push_back({begin + k, end});
  } else {
    inclusion_ranges(m, begin + k, end, out);
    out->push_back({begin, begin + k});
  }
}

// SUBPROOF(m, D[begin:end], b) of RFC 9162 2.1.4.1 as ranges.
void consistency_ranges(uint64_t m, uint64_t begin, uint64_t end, bool whole, std::vector<Range>* out) {
  if (m == end - begin) {
    if (!whole) out->push_back({begin, end});
    return;
  }
  const uint64_t k = split_point(end - begin);
  if (m <= k) {
    consistency_ranges(m, begin, begin + k, whole, out);
    out->push_back({begin + k, end});
  } else {
    consistency_ranges(m - k, begin + k, end, false, out);
    out->push_back({begin, begin + k});
  }
}

// RFC 9162: "right-shift both fn and sn equally until either LSB(fn) is set or fn is 0".
void shift_while_even(uint64_t& fn, uint64_t& sn) {
  while (fn != 0 && !(fn & 1)) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

Hash leaf_hash(std::string_view entry) { return digest({std::string_view("\0", 1), entry}); }

Hash node_hash(const Hash& left, const Hash& right) {
  char buf[65];
  buf[0] = '\x01';
  std::memcpy(buf + 1, left.data(), 32);
  std::memcpy(buf + 33, right.data(), 32);
  return digest({std::string_view(buf, sizeof buf)});
}

Hash empty_tree_hash() { return digest({}); }

std::string hash_base64(const Hash& hash) {
  return core::base64_encode(std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()));
}

bool hash_from_base64(std::string_view text, Hash* out) {
  if (text.size() != 44) return false;
  auto raw = core::base64_decode_canonical(text);
  if (!raw || raw->size() != 32) return false;
  std::memcpy(out->data(), raw->data(), 32);
  return true;
}

std::string hash_hex(const Hash& hash) { return core::to_hex(hash.data(), hash.size()); }

Hash tree_hash(uint64_t size, HashSource& source) {
  if (size == 0) return empty_tree_hash();
  return range_hashes({{0, size}}, source)[0];
}

std::vector<Hash> prove_inclusion(uint64_t index, uint64_t size, HashSource& source) {
  if (index >= size) throw std::invalid_argument("leaf index outside the tree");
  std::vector<Range> ranges;
  inclusion_ranges(index, 0, size, &ranges);
  if (ranges.empty()) return {};
  return range_hashes(ranges, source);
}

std::vector<Hash> prove_consistency(uint64_t old_size, uint64_t new_size, HashSource& source) {
  if (old_size > new_size) throw std::invalid_argument("old tree larger than the new one");
  if (old_size == 0 || old_size == new_size) return {};
  std::vector<Range> ranges;
  consistency_ranges(old_size, 0, new_size, true, &ranges);
  return range_hashes(ranges, source);
}

std::optional<Hash> root_from_inclusion(const Hash& leaf, uint64_t index, uint64_t size,
                                        const std::vector<Hash>& proof) {
  if (index >= size) return std::nullopt;
  uint64_t fn = index, sn = size - 1;
  Hash r = leaf;
  for (const auto& p : proof) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1) || fn == sn) {
      r = node_hash(p, r);
      shift_while_even(fn, sn);
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

bool verify_inclusion(const Hash& leaf, uint64_t index, uint64_t size, const std::vector<Hash>& proof,
                      const Hash& root) {
  const auto computed = root_from_inclusion(leaf, index, size, proof);
  return computed && *computed == root;
}

bool verify_consistency(uint64_t old_size, uint64_t new_size, const Hash& old_root, const Hash& new_root,
                        const std::vector<Hash>& proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty();
  if (proof.empty()) return false;
  std::vector<Hash> path;
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const auto& c = path[i];
    if (sn == 0) return false;
    if ((fn & 1) || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      shift_while_even(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return fr == old_root && sr == new_root && sn == 0;
}

Frontier Frontier::load(uint64_t size, HashSource& source) {
  Frontier f;
  f.size_ = size;
  std::vector<Subtree> wanted;
  std::vector<int> levels;
  for (int level = 63; level >= 0; --level) {
    if (!(size >> level & 1)) continue;
    wanted.push_back({level, (size >> level) - 1});
    levels.push_back(level);
  }
  if (wanted.empty()) return f;
  const auto hashes = source.read(wanted);
  if (hashes.size() != wanted.size()) throw std::runtime_error("hash source returned the wrong number of hashes");
  for (size_t i = 0; i < levels.size(); ++i) f.by_level_[static_cast<size_t>(levels[i])] = hashes[i];
  return f;
}

Hash Frontier::root() const {
  if (size_ == 0) return empty_tree_hash();
  Hash h{};
  bool have = false;
  for (int level = 0; level < 64; ++level) {
    if (!(size_ >> level & 1)) continue;
    h = have ? node_hash(by_level_[static_cast<size_t>(level)], h) : by_level_[static_cast<size_t>(level)];
    have = true;
  }
  return h;
}

std::vector<StoredHash> Frontier::append(const Hash& leaf) {
  if (size_ == UINT64_MAX) throw std::length_error("log is full");
  std::vector<StoredHash> out;
  const uint64_t index = size_;
  out.push_back({{0, index}, leaf});
  Hash h = leaf;
  int level = 0;
  // Every trailing 1 bit of the old size is a left sibling waiting for this leaf's subtree.
  while (index >> level & 1) {
    h = node_hash(by_level_[static_cast<size_t>(level)], h);
    ++level;
    out.push_back({{level, index >> level}, h});
  }
  by_level_[static_cast<size_t>(level)] = h;
  ++size_;
  return out;
}

}  // namespace kuzet::tlog
