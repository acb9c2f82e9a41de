#include "tlog/tiles.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace kuzet::tlog {

namespace {

std::optional<TileId> fail(std::string* error, const char* why) {
  if (error) *error = why;
  return std::nullopt;
}

std::string encode_index(uint64_t n) {
  std::string digits = std::to_string(n);
  while (digits.size() % 3 != 0) digits.insert(digits.begin(), '0');
  std::string out;
  for (size_t i = 0; i < digits.size(); i += 3) {
    if (i + 3 < digits.size()) out += "x" + digits.substr(i, 3) + "/";
    else out += digits.substr(i, 3);
  }
  return out;
}

bool three_digits(std::string_view s) {
  return s.size() == 3 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9';
}

}  // namespace

std::string tile_path(const TileId& tile) {
  std::string path = "tile/";
  path += tile.entries ? std::string("entries") : std::to_string(tile.level);
  path += "/" + encode_index(tile.index);
  if (tile.width < kTileWidth) path += ".p/" + std::to_string(tile.width);
  return path;
}

std::optional<TileId> parse_tile_path(std::string_view path, std::string* error) {
  if (path.size() > 128) return fail(error, "tile path too long");
  if (path.substr(0, 5) != "tile/") return fail(error, "tile path must start with tile/");
  path.remove_prefix(5);
  TileId tile;
  const size_t slash = path.find('/');
  if (slash == std::string_view::npos) return fail(error, "tile path has no index");
  const std::string_view level = path.substr(0, slash);
  path.remove_prefix(slash + 1);
  if (level == "entries") {
    tile.entries = true;
  } else if (level.size() == 1 && level[0] >= '0' && level[0] <= '0' + kMaxTileLevel) {
    tile.level = level[0] - '0';
  } else {
    return fail(error, "tile level must be 0..7 or entries");
  }
  // Index elements: x### ... ###, then an optional ".p/<W>".
  uint64_t index = 0;
  size_t elements = 0;
  while (true) {
    const size_t next = path.find('/');
    const bool prefixed = !path.empty() && path[0] == 'x';
    if (prefixed) {
      if (next == std::string_view::npos) return fail(error, "last index element must not start with x");
      const std::string_view digits = path.substr(1, next - 1);
      if (!three_digits(digits)) return fail(error, "index elements are 3 digits");
      if (elements == 0 && digits == "000") return fail(error, "index has a leading x000 element");
      if (index > (UINT64_MAX - 999) / 1000) return fail(error, "tile index too large");
      index = index * 1000 + static_cast<uint64_t>(std::stoi(std::string(digits)));
      path.remove_prefix(next + 1);
      ++elements;
      continue;
    }
    const std::string_view digits = path.substr(0, 3);
    if (!three_digits(digits)) return fail(error, "index elements are 3 digits");
    if (index > (UINT64_MAX - 999) / 1000) return fail(error, "tile index too large");
    index = index * 1000 + static_cast<uint64_t>(std::stoi(std::string(digits)));
    path.remove_prefix(3);
    break;
  }
  tile.index = index;
  if (path.empty()) return tile;
  if (path.substr(0, 3) != ".p/") return fail(error, "unexpected bytes after the tile index");
  path.remove_prefix(3);
  if (path.empty() || path.size() > 3 || path[0] == '0') return fail(error, "partial width must be 1..255");
  unsigned width = 0;
  for (char c : path) {
    if (c < '0' || c > '9') return fail(error, "partial width must be 1..255");
    width = width * 10 + static_cast<unsigned>(c - '0');
  }
  if (width >= kTileWidth) return fail(error, "partial width must be 1..255");
  tile.width = width;
  return tile;
}

unsigned tile_width_in_tree(const TileId& tile, uint64_t size) {
  const uint64_t available = tile.entries ? size : size >> (kTileHeight * tile.level);
  const uint64_t first = tile.index > UINT64_MAX / kTileWidth ? UINT64_MAX : tile.index * kTileWidth;
  if (available <= first) return 0;
  return static_cast<unsigned>(std::min<uint64_t>(kTileWidth, available - first));
}

std::vector<Subtree> tile_subtrees(const TileId& tile) {
  std::vector<Subtree> out;
  out.reserve(tile.width);
  for (unsigned i = 0; i < tile.width; ++i) out.push_back({kTileHeight * tile.level, tile.index * kTileWidth + i});
  return out;
}

std::string encode_entry_bundle(const std::vector<std::string>& entries) {
  std::string out;
  for (const auto& entry : entries) {
    if (entry.size() > kMaxEntryBytes) throw std::length_error("log entry longer than 65535 bytes");
    out.push_back(static_cast<char>(entry.size() >> 8));
    out.push_back(static_cast<char>(entry.size() & 0xFF));
    out += entry;
  }
  return out;
}

std::optional<std::vector<std::string>> decode_entry_bundle(std::string_view bundle, std::string* error) {
  std::vector<std::string> entries;
  while (!bundle.empty()) {
    if (entries.size() == kTileWidth) {
      if (error) *error = "entry bundle holds more than 256 entries";
      return std::nullopt;
    }
    if (bundle.size() < 2) {
      if (error) *error = "entry bundle truncated in a length";
      return std::nullopt;
    }
    const size_t length = (static_cast<size_t>(static_cast<unsigned char>(bundle[0])) << 8) |
                          static_cast<unsigned char>(bundle[1]);
    bundle.remove_prefix(2);
    if (bundle.size() < length) {
      if (error) *error = "entry bundle truncated in an entry";
      return std::nullopt;
    }
    entries.emplace_back(bundle.substr(0, length));
    bundle.remove_prefix(length);
  }
  return entries;
}

std::string encode_hash_tile(const std::vector<Hash>& hashes) {
  std::string out;
  out.reserve(hashes.size() * 32);
  for (const auto& h : hashes) out.append(reinterpret_cast<const char*>(h.data()), h.size());
  return out;
}

std::optional<std::vector<Hash>> decode_hash_tile(std::string_view bytes) {
  if (bytes.size() % 32 != 0 || bytes.size() > 32 * kTileWidth) return std::nullopt;
  std::vector<Hash> out(bytes.size() / 32);
  for (size_t i = 0; i < out.size(); ++i) std::memcpy(out[i].data(), bytes.data() + 32 * i, 32);
  return out;
}

const std::vector<Hash>& TileHashSource::tile(int level, uint64_t index) {
  auto it = tiles_.find({level, index});
  if (it != tiles_.end()) return it->second;
  const TileId id{false, level, index, tile_width_in_tree({false, level, index, kTileWidth}, size_)};
  auto hashes = decode_hash_tile(fetch_(id));
  if (!hashes || hashes->size() != id.width)
    throw std::runtime_error(tile_path(id) + " is not " + std::to_string(id.width) + " hashes");
  return tiles_.emplace(std::make_pair(level, index), std::move(*hashes)).first->second;
}

std::vector<Hash> TileHashSource::read(const std::vector<Subtree>& subtrees) {
  std::vector<Hash> out;
  out.reserve(subtrees.size());
  for (const auto& s : subtrees) {
    // The 2^r hashes of tile level L under it (r < 8: they sit in one tile, aligned).
    const int L = s.level / kTileHeight, r = s.level % kTileHeight;
    if (s.level < 0 || L > kMaxTileLevel || s.index >= (size_ >> s.level))
      throw std::invalid_argument("subtree (level " + std::to_string(s.level) + ", index " + std::to_string(s.index) +
                                  ") is not complete in a tree of " + std::to_string(size_));
    if (r != 0) {
      if (auto it = between_.find({s.level, s.index}); it != between_.end()) {
        out.push_back(it->second);
        continue;
      }
    }
    const uint64_t first = s.index << r;
    const auto& hashes = tile(L, first / kTileWidth);
    std::vector<Hash> level(hashes.begin() + static_cast<long>(first % kTileWidth),
                            hashes.begin() + static_cast<long>(first % kTileWidth + (uint64_t{1} << r)));
    while (level.size() > 1) {
      for (size_t i = 0; i < level.size() / 2; ++i) level[i] = node_hash(level[2 * i], level[2 * i + 1]);
      level.resize(level.size() / 2);
    }
    if (r != 0) between_.emplace(std::make_pair(s.level, s.index), level[0]);
    out.push_back(level[0]);
  }
  return out;
}

}  // namespace kuzet::tlog
