#pragma once
// The probe's side of docs/protocol.md for one collector: whoami, key registration, batched upload of
// signed envelopes, signed control requests. Blocking; network failures are data, never thrown.
// The collector is not trusted: replies are size-capped and checked before anything is believed.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/signing.hpp"

namespace kuzet::probe {

// Failures of the probe↔collector link (all four calls). Also "upload.http_<status>" for any answer
// that is not the expected status.
namespace upload_failure {
inline constexpr std::string_view unreachable = "upload.unreachable";  // no connection (refused, DNS, TLS, proxy)
inline constexpr std::string_view timeout = "upload.timeout";          // no complete answer within timeout_ms
inline constexpr std::string_view malformed_reply = "upload.malformed_reply";  // not the protocol's shape, too big
}  // namespace upload_failure

struct CollectorClientOptions {
  int timeout_ms = 30000;            // per HTTP request, connection included
  // A blocked collector (SYN blackholed) must not hold a run for the whole timeout: the probe's TCP
  // timeout (collector_client_options: timeouts.tcp, default OONI's 10 s).
  int connect_timeout_ms = 10000;
  std::string proxy;                 // e.g. "socks5h://127.0.0.1:9050"; "" = direct
  std::string ca_bundle;             // PEM file for https; "" = system store
  size_t batch_size = 200;           // envelopes per POST (the collector takes ≤ 1000)
  // Bytes of envelopes per POST (the collector takes ≤ 16 MiB). A single larger envelope is rejected
  // locally ("too_large") rather than sent to be refused again on every attempt.
  size_t max_batch_bytes = 8 << 20;
  size_t max_response_bytes = 8 << 20;  // a hostile collector cannot make the probe buffer more
  // ... nor parse it into more: nesting (a control reply is ~8 deep) and values (a control reply for 100
  // targets is ~50,000; 250,000 parsed values are at most ~25 MB, a fraction of a router's memory).
  size_t max_response_depth = 32;
  size_t max_response_values = 250000;
};

struct WhoamiResult {
  bool ok = false;
  std::string failure;  // "" when ok
  std::string detail;   // human-readable cause (curl message, what was wrong with the reply)
  std::string cc;       // "" when the collector does not know
  uint32_t asn = 0;
  std::string as_name;
  // The probe's own address as the collector saw it ("" when not told): only ever used to strip it from
  // measurements (probe/privacy/redact.hpp), never stored or logged.
  std::string address;
};

struct RegisterResult {
  bool ok = false;
  std::string failure;
  std::string detail;
  int http_status = 0;
  std::string key_id;
  std::string status;  // "registered" | "known"
  std::string error;   // the collector's reason on 4xx ("bad_signature", "malformed"), else ""
};

struct UploadItemResult {
  std::string measurement_uid;  // "" when the envelope names none
  // "stored" | "duplicate" | "rejected" (the collector judged it, or it could never be sent: reason
  // "malformed" for invalid UTF-8, "too_large" over max_batch_bytes) |
  // "failed" (not judged: reason is the link failure; keep it and retry later).
  std::string status;
  std::string reason;
  // The collector's receipt: the measurement's index in its transparency log (stored or duplicate), when
  // the collector keeps a log.
  std::optional<uint64_t> log_index;
};

struct UploadResult {
  int http_status = 0;  // of the batch that failed, else of the last batch; 0 when nothing answered
  std::string failure;  // first failure: "" | upload.unreachable | upload.timeout | upload.http_N | upload.malformed_reply
  std::string detail;
  size_t batches_sent = 0;
  std::vector<UploadItemResult> items;  // one per envelope, in input order
  // The collector's clock (its Date header) minus ours when its last answer arrived, in seconds; nullopt
  // when no answer carried a readable Date. A wrong clock makes the collector refuse results as future or
  // backdated, so the daemon warns.
  std::optional<int64_t> clock_offset_s;
};

// A GET of the collector's transparency-log API (/log/...): the raw body when the answer was 200.
struct LogFetchResult {
  bool ok = false;
  std::string failure;
  std::string detail;
  std::string body;
};

struct ControlResult {
  bool ok = false;
  std::string failure;
  std::string detail;
  int http_status = 0;
  nlohmann::json response;  // the collector's JSON object when ok, else null
};

void to_json(nlohmann::json& j, const WhoamiResult& v);
void to_json(nlohmann::json& j, const RegisterResult& v);
void to_json(nlohmann::json& j, const UploadItemResult& v);
void to_json(nlohmann::json& j, const UploadResult& v);
void to_json(nlohmann::json& j, const ControlResult& v);

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

}  // namespace kuzet::probe
