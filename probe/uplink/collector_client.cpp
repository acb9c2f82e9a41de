#include "probe/uplink/collector_client.hpp"

#include <algorithm>

#include <curl/curl.h>

#include <ctime>

#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "core/crypto/crypto.hpp"
#include "core/encoding/jcs.hpp"
#include "core/time.hpp"

namespace kuzet::probe::uplink {
namespace {

using nlohmann::json;

struct Sink {
  std::string body;
  size_t limit = 0;
  bool overflow = false;
};

size_t write_body(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t bytes = size * count;
  if (sink->body.size() + bytes > sink->limit) {
    sink->overflow = true;
    return 0;  // makes curl abort with CURLE_WRITE_ERROR
  }
  sink->body.append(data, bytes);
  return bytes;
}

std::string failure_for(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT: return std::string(upload_failure::timeout);
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_TOO_MANY_REDIRECTS: return std::string(upload_failure::malformed_reply);
    default: return std::string(upload_failure::unreachable);
  }
}

struct CurlFree {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistFree {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// One request on a fresh handle. body == nullptr: GET.
HttpReply perform(const std::string& url, const CollectorClientOptions& options, const std::string* body,
                  const std::vector<std::string>& extra_headers) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  HttpReply reply;
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) {
    reply.failure = upload_failure::unreachable;
    reply.detail = "curl_easy_init failed";
    return reply;
  }
  CURL* h = curl.get();
  Sink sink;
  sink.limit = options.max_response_bytes;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  std::unique_ptr<curl_slist, SlistFree> headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  add_header("Accept: application/json");
  add_header("Expect:");  // no 100-continue round trip for large batches
  for (const auto& line : extra_headers) add_header(line);

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_ms));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(options.connect_timeout_ms, options.timeout_ms)));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "kuzet-probe");
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_response_bytes));
  // Only the configured proxy, always: http_proxy/no_proxy from the environment must neither add a proxy
  // nor let traffic bypass Tor.
  curl_easy_setopt(h, CURLOPT_PROXY, options.proxy.c_str());
  curl_easy_setopt(h, CURLOPT_NOPROXY, "");
  if (!options.ca_bundle.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options.ca_bundle.c_str());
  if (body) {
    add_header("Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  const CURLcode code = curl_easy_perform(h);
  if (code != CURLE_OK) {
    if (sink.overflow || code == CURLE_FILESIZE_EXCEEDED) {
      reply.failure = upload_failure::malformed_reply;
      reply.detail = "reply larger than " + std::to_string(options.max_response_bytes) + " bytes";
    } else {
      reply.failure = failure_for(code);
      reply.detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    }
    return reply;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  reply.status = static_cast<int>(status);
  reply.body = std::move(sink.body);
  struct curl_header* date = nullptr;
  if (curl_easy_header(h, "Date", 0, CURLH_HEADER, -1, &date) == CURLHE_OK && date && date->value) {
    const time_t theirs = curl_getdate(date->value, nullptr);
    if (theirs > 0) reply.clock_offset_s = static_cast<int64_t>(theirs) - static_cast<int64_t>(std::time(nullptr));
  }
  return reply;
}

// object[name] when it is a string, else "".
std::string string_or_empty(const json& object, const char* name) {
  if (!object.is_object()) return "";
  const auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string uid_of(const json& envelope) {
  if (!envelope.is_object()) return "";
  const auto measurement = envelope.find("measurement");
  return measurement == envelope.end() ? "" : string_or_empty(*measurement, "measurement_uid");
}

// The envelope's public_key as sent ("" when it has none: such envelopes travel together).
std::string key_of(const json& envelope) { return string_or_empty(envelope, "public_key"); }

}  // namespace

CollectorClient::CollectorClient(std::string base_url, CollectorClientOptions options)
    : base_url_(std::move(base_url)), options_(std::move(options)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  if (options_.batch_size == 0) options_.batch_size = 1;
}

LogFetchResult CollectorClient::log_get(const std::string& path, size_t max_bytes) const {
  CollectorClientOptions options = options_;
  options.max_response_bytes = std::min(options.max_response_bytes, max_bytes);
  LogFetchResult result;
  auto reply = perform(base_url_ + path, options, nullptr, {});
  if (!reply.failure.empty()) {
    result.failure = reply.failure;
    result.detail = reply.detail;
  } else if (reply.status != 200) {
    result.failure = http_failure(reply.status);
  } else {
    result.ok = true;
    result.body = std::move(reply.body);
  }
  return result;
}

WhoamiResult CollectorClient::whoami() const {
  return whoami_from(perform(base_url_ + "/api/v1/whoami", options_, nullptr, {}), options_);
}

RegisterResult CollectorClient::register_key(const core::KeyPair& key) const {
  json statement{{"public_key", core::base64_encode(key.public_key)}, {"registered_at", core::now_rfc3339()}};
  statement["signature"] = core::base64_encode(core::ed25519_sign(key, core::canonicalize(statement)));
  const std::string body = statement.dump();
  return register_from(perform(base_url_ + "/api/v1/probes/register", options_, &body, {}),
                       core::key_id(key.public_key), options_);
}

UploadResult CollectorClient::upload(const std::vector<nlohmann::json>& envelopes) const {
  UploadResult result;
  result.items.resize(envelopes.size());
  std::vector<std::string> texts(envelopes.size());
  std::vector<size_t> sendable;
  std::map<std::string, size_t> first_of_key;  // public key -> its first envelope's index: groups keep input order
  for (size_t i = 0; i < envelopes.size(); ++i) {
    first_of_key.emplace(key_of(envelopes[i]), i);
    result.items[i].measurement_uid = uid_of(envelopes[i]);
    try {
      texts[i] = envelopes[i].dump();
    } catch (const json::exception&) {  // invalid UTF-8: no collector could accept it
      result.items[i].status = "rejected";
      result.items[i].reason = "malformed";
      continue;
    }
    if (texts[i].size() > options_.max_batch_bytes) {  // would block the queue forever with 413s
      result.items[i].status = "rejected";
      result.items[i].reason = "too_large";
      texts[i].clear();
      continue;
    }
    sendable.push_back(i);
  }
  // One network's key per request, and every request on its own connection (perform: a fresh handle):
  // per-network keys must not be linked by sharing a request or a connection (docs/protocol.md).
  std::stable_sort(sendable.begin(), sendable.end(), [&](size_t a, size_t b) {
    return first_of_key[key_of(envelopes[a])] < first_of_key[key_of(envelopes[b])];
  });
  for (size_t first = 0, last = 0; first < sendable.size(); first = last) {
    // Up to batch_size envelopes and max_batch_bytes of them (always at least one), all of one key.
    const std::string batch_key = key_of(envelopes[sendable[first]]);
    size_t bytes = texts[sendable[first]].size();
    last = first + 1;
    while (last < sendable.size() && last - first < options_.batch_size &&
           key_of(envelopes[sendable[last]]) == batch_key &&
           bytes + texts[sendable[last]].size() + 1 <= options_.max_batch_bytes)
      bytes += texts[sendable[last++]].size() + 1;
    std::string body = "{\"measurements\":[";
    std::vector<std::string> uids;
    for (size_t k = first; k < last; ++k) {
      if (k != first) body.push_back(',');
      body += texts[sendable[k]];
      uids.push_back(result.items[sendable[k]].measurement_uid);
    }
    body += "]}";
    const auto reply = perform(base_url_ + "/api/v1/measurements", options_, &body, {});
    ++result.batches_sent;
    if (reply.clock_offset_s) result.clock_offset_s = reply.clock_offset_s;
    if (result.failure.empty()) result.http_status = reply.status;  // keeps the status of the first failure
    const auto judgement = judge_batch(reply, uids, options_);
    if (!judgement.failure.empty() && result.failure.empty()) {
      result.failure = judgement.failure;
      result.detail = judgement.detail;
    }
    if (judgement.items.empty()) {
      // Nothing from here on was judged: keep it all for a later attempt.
      for (size_t k = first; k < sendable.size(); ++k) {
        result.items[sendable[k]].status = "failed";
        result.items[sendable[k]].reason = judgement.failure;
      }
      break;
    }
    for (size_t k = first; k < last; ++k) result.items[sendable[k]] = judgement.items[k - first];
  }
  return result;
}

ControlResult CollectorClient::control(const nlohmann::json& request, const core::KeyPair& key) const {
  const std::string body = request.dump();
  const std::vector<std::string> headers{
      "X-Kuzet-Key: " + core::base64_encode(key.public_key),
      "X-Kuzet-Signature: " + core::base64_encode(core::ed25519_sign(key, body)),
  };
  return control_from(perform(base_url_ + "/api/v1/control", options_, &body, headers), options_);
}

}  // namespace kuzet::probe::uplink
