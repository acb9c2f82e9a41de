#pragma once
// C2SP tlog-tiles (https://c2sp.org/tlog-tiles): tile coordinates and paths, entry bundles.
// Tiles are 8 levels high: a tile at level L holds up to 256 hashes of tree level 8*L.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tlog/merkle.hpp"

namespace kuzet::tlog {

inline constexpr int kTileHeight = 8;
inline constexpr unsigned kTileWidth = 256;
inline constexpr int kMaxTileLevel = 7;  // 8 * 7 = tree level 56; trees hold fewer than 2^64 leaves
inline constexpr size_t kMaxEntryBytes = 65535;

struct TileId {
  bool entries = false;  // an entry bundle (tile/entries/...) rather than a hash tile
  int level = 0;         // hash tiles only
  uint64_t index = 0;
  unsigned width = kTileWidth;  // 1..256; below 256 it is a partial tile
  bool operator==(const TileId&) const = default;
};

// "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]", N as 3-digit path elements, all but the last
// prefixed with "x" (1234067 -> x001/x234/067).
std::string tile_path(const TileId& tile);
// Only the canonical spelling is accepted. nullopt (and *error) otherwise.
std::optional<TileId> parse_tile_path(std::string_view path, std::string* error);

// How many of the 256 positions of hash tile (level, index) exist in a tree of `size` leaves (0..256);
// for entry bundles (level ignored) the same for entries.
unsigned tile_width_in_tree(const TileId& tile, uint64_t size);
// The subtrees whose hashes form a hash tile, in order.
std::vector<Subtree> tile_subtrees(const TileId& tile);
// The leaf range [first, first + width) of an entry bundle.
inline uint64_t bundle_first_entry(const TileId& tile) { return tile.index * kTileWidth; }

// Entry bundle: each entry as a big-endian uint16 length and its bytes. Throws std::length_error when an
// entry is longer than 65535 bytes.
std::string encode_entry_bundle(const std::vector<std::string>& entries);
// nullopt (and *error) when truncated or holding more than 256 entries.
std::optional<std::vector<std::string>> decode_entry_bundle(std::string_view bundle, std::string* error);

// A hash tile's bytes: the hashes concatenated; and back (nullopt when the length is not a multiple of 32).
std::string encode_hash_tile(const std::vector<Hash>& hashes);
std::optional<std::vector<Hash>> decode_hash_tile(std::string_view bytes);

// Subtree hashes of a tree of `size` leaves read from its hash tiles, as a verifier or mirror sees a log:
// every complete subtree within the tree (what proofs and tree hashes ask for). A subtree between tile
// levels is hashed from the tile below it. Each tile is fetched once, at the width the tree has;
// `fetch` returns its bytes (or throws). Throws std::runtime_error on a tile of the wrong length and
// std::invalid_argument on a subtree outside the tree. Tiles are untrusted: check the tree hash against a
// signed checkpoint (tree_hash) before relying on a proof built from them.
class TileHashSource : public HashSource {
 public:
  using Fetch = std::function<std::string(const TileId& tile)>;
  TileHashSource(uint64_t size, Fetch fetch) : size_(size), fetch_(std::move(fetch)) {}
  std::vector<Hash> read(const std::vector<Subtree>& subtrees) override;
  size_t tiles_fetched() const { return tiles_.size(); }

 private:
  const std::vector<Hash>& tile(int level, uint64_t index);
  uint64_t size_;
  Fetch fetch_;
  std::map<std::pair<int, uint64_t>, std::vector<Hash>> tiles_;
  std::map<std::pair<int, uint64_t>, Hash> between_;  // subtrees between tile levels, hashed once
};

}  // namespace kuzet::tlog
