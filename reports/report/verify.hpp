#pragma once
// Offline verification of a bundle (docs/report-bundle.md): no network, no trust in the collector.
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::report {

struct VerifyResult {
  std::vector<std::string> failures;  // each names what failed; empty = everything verified
  std::vector<std::string> warnings;  // e.g. the log key was taken from the bundle itself
  size_t measurements = 0, proofs = 0, incidents = 0;
  bool ok() const { return failures.empty(); }
};

// log_key: the log's verifier key from an independent source; "" = the bundle's own (a warning).
VerifyResult verify_bundle(std::string_view bundle_text, const std::string& log_key);

}  // namespace kuzet::report
