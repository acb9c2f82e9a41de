#pragma once
// What the probe believes of a collector's replies (docs/protocol.md), apart from the HTTP that carried
// them: pure functions of (status, body), so the hostile-collector fuzz target can run them millions of
// times. collector_client.cpp does the I/O and hands each answer here.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::probe::uplink {

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

// One HTTP exchange as the client saw it.
struct HttpReply {
  int status = 0;
  std::string body;
  std::optional<int64_t> clock_offset_s;  // the Date header minus our clock at the answer
  std::string failure;  // "" when an HTTP answer arrived (any status)
  std::string detail;
};

// "upload.http_<status>": the failure of an answer that is not the expected status.
std::string http_failure(int status);

// The readers below take the parse limits from the options (max_response_depth, max_response_values).
WhoamiResult whoami_from(const HttpReply& reply, const CollectorClientOptions& options);
// expected_key_id: the key the probe registered; a reply naming another key is not believed.
RegisterResult register_from(const HttpReply& reply, const std::string& expected_key_id,
                             const CollectorClientOptions& options);
ControlResult control_from(HttpReply reply, const CollectorClientOptions& options);

// The collector's judgement of one upload batch of `uids` (in the order sent).
struct BatchJudgement {
  std::string failure;  // "" when the batch was judged (200/207 with one result per item)
  std::string detail;
  std::vector<UploadItemResult> items;  // one per uid when judged; empty when nothing may be believed
};
BatchJudgement judge_batch(const HttpReply& reply, const std::vector<std::string>& uids,
                           const CollectorClientOptions& options);

}  // namespace kuzet::probe::uplink
