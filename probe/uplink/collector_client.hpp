#pragma once
// The probe's side of docs/protocol.md for one collector: whoami, key registration, batched upload of
// signed envelopes, signed control requests. Blocking; network failures are data, never thrown.
// The collector is not trusted: replies are size-capped here and read by collector_reply.hpp, which
// believes only the protocol's shapes.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/crypto/signing.hpp"
#include "probe/uplink/collector_reply.hpp"

namespace kuzet::probe::uplink {

class CollectorClient {
 public:
  // base_url like "https://collector.example.org" (a trailing "/" is fine). Safe to share across threads:
  // every call uses its own connection.
  CollectorClient(std::string base_url, CollectorClientOptions options = {});

  WhoamiResult whoami() const;
  // POST /api/v1/probes/register, signed with the key itself.
  RegisterResult register_key(const core::KeyPair& key) const;
  // POST /api/v1/measurements in batches of ≤ batch_size, each batch of one public key only (one network:
  // two networks' keys never share a request, nor a connection). Stops at the first batch the collector did not
  // judge (the rest are "failed" with that failure), so a dead collector costs one timeout, not one per batch.
  UploadResult upload(const std::vector<nlohmann::json>& envelopes) const;
  // POST /api/v1/control with X-Kuzet-Key / X-Kuzet-Signature over the exact body bytes.
  ControlResult control(const nlohmann::json& request, const core::KeyPair& key) const;
  // GET <base_url><path> (e.g. "/log/checkpoint"), the body capped at max_bytes (a checkpoint or a proof is
  // small). The witness (probe/witness) checks what comes back.
  LogFetchResult log_get(const std::string& path, size_t max_bytes = 64 * 1024) const;

  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  CollectorClientOptions options_;
};

}  // namespace kuzet::probe::uplink
