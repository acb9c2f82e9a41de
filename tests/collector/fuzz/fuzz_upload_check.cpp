// Differential: check_envelope (one pass over the bytes, a DOM of the members it reads) against
// check_envelope_with_dom (nlohmann's DOM of the whole envelope, JCS over it): the same reason, the same
// "not JSON" and the same row for every input. Keys with an odd first byte of their id are unknown, so every
// reason can be reached; signed seeds come from tests/envelope/corpus_envelope and make_fuzz_seeds.py.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/ingest/upload.hpp"

namespace {

bool same_row(const kuzet::collector::NewMeasurement& a, const kuzet::collector::NewMeasurement& b) {
  return a.uid == b.uid && a.source == b.source && a.envelope == b.envelope && a.content_hash == b.content_hash &&
         a.key_id == b.key_id && a.started_at_ms == b.started_at_ms && a.received_at_ms == b.received_at_ms &&
         a.cc == b.cc && a.asn == b.asn && a.target == b.target && a.category == b.category &&
         a.verdict == b.verdict && a.method == b.method && a.vantage == b.vantage &&
         a.network_check == b.network_check && a.decisive == b.decisive;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace ingest = kuzet::collector::ingest;
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  ingest::CheckOptions options;
  options.now_ms = 1800000000000;  // 2027-01-15: the seeds (2026-12) are neither ahead nor backdated
  options.key_registered_ms = [](const std::string& key_id) -> std::optional<int64_t> {
    if (!key_id.empty() && (static_cast<unsigned char>(key_id[0]) & 1)) return std::nullopt;
    return 1780000000000;
  };
  kuzet::envelope::SignatureCache fast_cache, dom_cache;
  options.signatures = &fast_cache;
  const auto fast = ingest::check_envelope(raw, options);
  options.signatures = &dom_cache;
  const auto dom = ingest::check_envelope_with_dom(raw, options);
  if (fast.reason != dom.reason || fast.not_json != dom.not_json || !same_row(fast.row, dom.row)) std::abort();
  return 0;
}
