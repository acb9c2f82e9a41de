#pragma once
// An in-memory log for the tlog tests: appends entries through Frontier and keeps every stored hash,
// as the collector's database does.
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "tlog/merkle.hpp"

namespace kuzet::tlog::testing {

class MemoryLog : public HashSource {
 public:
  void append(const std::string& entry) {
    entries.push_back(entry);
    for (const auto& stored : frontier.append(leaf_hash(entry)))
      hashes[{stored.subtree.level, stored.subtree.index}] = stored.hash;
  }
  std::vector<Hash> read(const std::vector<Subtree>& subtrees) override {
    std::vector<Hash> out;
    for (const auto& s : subtrees) {
      auto it = hashes.find({s.level, s.index});
      if (it == hashes.end()) throw std::runtime_error("missing hash");
      out.push_back(it->second);
      ++reads;
    }
    return out;
  }
  std::vector<std::string> entries;
  std::map<std::pair<int, uint64_t>, Hash> hashes;
  Frontier frontier;
  size_t reads = 0;
};

}  // namespace kuzet::tlog::testing
