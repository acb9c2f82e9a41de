#pragma once
// The witness's LogApi over a real collector (CollectorClient): /log/key, /log/checkpoint and
// /log/consistency, every answer capped and checked.
#include "probe/uplink/collector_client.hpp"
#include "probe/witness/witness.hpp"

namespace kuzet::probe::witness {

class CollectorLogApi : public LogApi {
 public:
  explicit CollectorLogApi(const uplink::CollectorClient& client) : client_(client) {}
  std::optional<std::string> key(std::string* error) override;
  std::optional<std::string> checkpoint(std::string* error) override;
  std::optional<std::vector<tlog::Hash>> consistency(uint64_t from, uint64_t to, std::string* error) override;

 private:
  const uplink::CollectorClient& client_;
};

}  // namespace kuzet::probe::witness
