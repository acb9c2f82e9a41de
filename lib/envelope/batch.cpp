#include "envelope/batch.hpp"

#include <map>
#include <stdexcept>
#include <utility>


namespace kuzet::envelope {

namespace {

// Every complete subtree's hash, as Frontier::append hands them out.
class BatchHashes : public tlog::HashSource {
 public:
  explicit BatchHashes(const std::vector<tlog::Hash>& leaves) {
    for (const auto& leaf : leaves)
      for (const auto& stored : frontier_.append(leaf)) hashes_[{stored.subtree.level, stored.subtree.index}] = stored.hash;
  }
  std::vector<tlog::Hash> read(const std::vector<tlog::Subtree>& subtrees) override {
    std::vector<tlog::Hash> out;
    out.reserve(subtrees.size());
    for (const auto& s : subtrees) out.push_back(hashes_.at({s.level, s.index}));
    return out;
  }
  tlog::Hash root() const { return frontier_.root(); }

 private:
  tlog::Frontier frontier_;
  std::map<std::pair<int, uint64_t>, tlog::Hash> hashes_;
};

}  // namespace

tlog::Hash batch_leaf(uint64_t index, std::string_view canonical_measurement) {
  std::string entry;
  entry.reserve(kBatchScheme.size() + 32 + canonical_measurement.size());
  entry.append(kBatchScheme).append(" leaf ").append(std::to_string(index)).append("\n").append(canonical_measurement);
  return tlog::leaf_hash(entry);
}

std::string batch_message(uint64_t tree_size, const tlog::Hash& root) {
  return std::string(kBatchScheme) + "\n" + std::to_string(tree_size) + "\n" + tlog::hash_base64(root) + "\n";
}

BatchTree build_batch_tree(const std::vector<tlog::Hash>& leaves) {
  if (leaves.empty() || leaves.size() > kMaxBatchSize)
    throw std::invalid_argument("a signed batch holds 1 to " + std::to_string(kMaxBatchSize) + " measurements");
  BatchHashes hashes(leaves);
  BatchTree tree;
  tree.root = hashes.root();
  tree.paths.reserve(leaves.size());
  for (uint64_t i = 0; i < leaves.size(); ++i) tree.paths.push_back(tlog::prove_inclusion(i, leaves.size(), hashes));
  return tree;
}

}  // namespace kuzet::envelope
