// Fuzzes what the probe believes of a hostile collector's replies: the pure readers of
// probe/uplink/collector_reply.hpp and the control-result parsing of probe/uplink/collector_link.cpp, which
// collector_client.cpp hands every HTTP answer to. First byte -> HTTP status, the rest -> the body; each input
// is read as the answer to whoami, key registration, an upload batch of two and a control request. Whatever
// it is, only replies of the protocol's shape (docs/protocol.md) are believed. The HTTP glue (libcurl, size
// caps while reading) is covered by the loopback tests of test_collector_client.cpp.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "core/crypto/crypto.hpp"
#include "probe/uplink/collector_link.hpp"
#include "probe/uplink/collector_reply.hpp"

namespace {

constexpr int kStatuses[] = {200, 207, 400, 401, 413, 429, 500, 503};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuzet::probe::uplink;
  if (size == 0) return 0;
  HttpReply reply;
  reply.status = kStatuses[data[0] % std::size(kStatuses)];
  reply.body.assign(reinterpret_cast<const char*>(data) + 1, size - 1);
  const CollectorClientOptions options;
  const bool success = reply.status == 200;

  const auto who = whoami_from(reply, options);
  if (who.ok && (!success || (!who.cc.empty() && who.cc.size() != 2) || who.as_name.size() > 512)) __builtin_trap();
  if (!who.ok && who.failure.empty()) __builtin_trap();

  // The key the corpus's register replies name.
  static const std::string key_id = kuzet::core::key_id(kuzet::core::ed25519_from_seed(std::string(32, 'k')).public_key);
  const auto reg = register_from(reply, key_id, options);
  if (reg.ok && (!success || reg.key_id != key_id || (reg.status != "registered" && reg.status != "known")))
    __builtin_trap();
  if (!reg.ok && reg.failure.empty()) __builtin_trap();

  const std::vector<std::string> uids{"a", "b"};
  const auto batch = judge_batch(reply, uids, options);
  if (!batch.items.empty()) {
    if (batch.items.size() != uids.size()) __builtin_trap();
    for (size_t i = 0; i < uids.size(); ++i) {
      const auto& item = batch.items[i];
      if (item.measurement_uid != uids[i]) __builtin_trap();
      if (item.status != "stored" && item.status != "duplicate" && item.status != "rejected") __builtin_trap();
      if (item.status == "rejected" && item.log_index) __builtin_trap();
    }
  } else if (batch.failure.empty()) {
    __builtin_trap();  // nothing judged must come with a reason: the items stay queued
  }
  if (batch.failure.empty() && reply.status != 200 && reply.status != 207) __builtin_trap();

  const auto control = control_from(reply, options);
  if (control.ok) {
    if (!success || !control.response.is_object()) __builtin_trap();
    if (auto results = control_results_from(control.response, 2); results && results->size() != 2)
      __builtin_trap();
  } else if (control.failure.empty()) {
    __builtin_trap();
  }
  return 0;
}
