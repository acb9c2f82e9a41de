#include "probe/collector_client.hpp"

#include <algorithm>

#include <arpa/inet.h>
#include <curl/curl.h>

#include <ctime>

#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "core/crypto.hpp"
#include "core/jcs.hpp"
#include "core/json_parse.hpp"
#include "core/time.hpp"

namespace kuzet::probe {
namespace {

using nlohmann::json;

struct HttpReply {
  int status = 0;
  std::string body;
  std::optional<int64_t> clock_offset_s;  // the Date header minus our clock at the answer
  std::string failure;  // "" when an HTTP answer arrived (any status)
  std::string detail;
};

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

std::string http_failure(int status) { return "upload.http_" + std::to_string(status); }

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

// The reply body as a JSON object, or null (not JSON, not an object, over the options' limits).
json parse_object(const std::string& body, const CollectorClientOptions& options) {
  auto parsed = core::parse_json(body, {.max_bytes = options.max_response_bytes,
                                        .max_depth = options.max_response_depth,
                                        .max_values = options.max_response_values});
  if (!parsed.ok() || !parsed.value.is_object()) return json();
  return std::move(parsed.value);
}

const std::string* string_member(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

bool is_ip_address(const std::string& text) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, text.c_str(), bytes) == 1 || inet_pton(AF_INET6, text.c_str(), bytes) == 1;
}

bool valid_cc(const std::string& cc) {
  return cc.empty() || (cc.size() == 2 && cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z');
}

std::string uid_of(const json& envelope) {
  if (!envelope.is_object()) return "";
  const auto measurement = envelope.find("measurement");
  if (measurement == envelope.end() || !measurement->is_object()) return "";
  const auto* uid = string_member(*measurement, "measurement_uid");
  return uid ? *uid : "";
}

// The envelope's public_key as sent ("" when it has none: such envelopes travel together).
std::string key_of(const json& envelope) {
  if (!envelope.is_object()) return "";
  const auto* key = string_member(envelope, "public_key");
  return key ? *key : "";
}

// The per-item judgement of one batch, or false when the reply does not judge exactly these items.
bool parse_judgement(const json& reply, const std::vector<std::string>& uids, std::vector<UploadItemResult>& out,
                     std::string& detail) {
  const auto results = reply.is_object() ? reply.find("results") : reply.end();
  if (!reply.is_object() || results == reply.end() || !results->is_array()) {
    detail = "reply has no results array";
    return false;
  }
  if (results->size() != uids.size()) {
    detail = "reply judges " + std::to_string(results->size()) + " items, " + std::to_string(uids.size()) + " sent";
    return false;
  }
  std::vector<UploadItemResult> items;
  for (size_t i = 0; i < uids.size(); ++i) {
    const auto& item = (*results)[i];
    const auto* uid = item.is_object() ? string_member(item, "measurement_uid") : nullptr;
    const auto* status = item.is_object() ? string_member(item, "status") : nullptr;
    const auto* reason = item.is_object() ? string_member(item, "reason") : nullptr;
    const auto index = item.is_object() ? item.find("index") : item.end();
    const bool has_index = item.is_object() && index != item.end();
    if (has_index && !index->is_number_unsigned()) {
      detail = "result " + std::to_string(i) + " has an index that is not a log index";
      return false;
    }
    if (!uid || !status || (item.contains("reason") && !reason)) {
      detail = "result " + std::to_string(i) + " is not {measurement_uid, status, reason}";
      return false;
    }
    if (*uid != uids[i]) {
      detail = "result " + std::to_string(i) + " names " + *uid + ", sent " + uids[i];
      return false;
    }
    if (*status != "stored" && *status != "duplicate" && *status != "rejected") {
      detail = "result " + std::to_string(i) + " has unknown status";
      return false;
    }
    items.push_back({*uid, *status, reason && *status == "rejected" ? *reason : "",
                     has_index && *status != "rejected" ? std::optional<uint64_t>(index->get<uint64_t>()) : std::nullopt});
  }
  out.insert(out.end(), items.begin(), items.end());
  return true;
}

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
  WhoamiResult result;
  const auto reply = perform(base_url_ + "/api/v1/whoami", options_, nullptr, {});
  if (!reply.failure.empty()) {
    result.failure = reply.failure;
    result.detail = reply.detail;
    return result;
  }
  if (reply.status != 200) {
    result.failure = http_failure(reply.status);
    return result;
  }
  const json body = parse_object(reply.body, options_);
  const auto* cc = body.is_object() ? string_member(body, "cc") : nullptr;
  const auto* as_name = body.is_object() ? string_member(body, "as_name") : nullptr;
  const auto asn = body.is_object() ? body.find("asn") : body.end();
  if (!cc || !valid_cc(*cc) || !as_name || as_name->size() > 512 || asn == body.end() ||
      !asn->is_number_unsigned() || asn->get<uint64_t>() > UINT32_MAX) {
    result.failure = upload_failure::malformed_reply;
    result.detail = "whoami reply is not {cc, asn, as_name}";
    return result;
  }
  result.ok = true;
  result.cc = *cc;
  result.asn = static_cast<uint32_t>(asn->get<uint64_t>());
  result.as_name = *as_name;
  // Optional (older collectors do not send it); anything but an IP address is ignored, not believed.
  if (const auto* address = string_member(body, "address"); address && is_ip_address(*address))
    result.address = *address;
  return result;
}

RegisterResult CollectorClient::register_key(const core::KeyPair& key) const {
  RegisterResult result;
  json statement{{"public_key", core::base64_encode(key.public_key)}, {"registered_at", core::now_rfc3339()}};
  statement["signature"] = core::base64_encode(core::ed25519_sign(key, core::canonicalize(statement)));
  const std::string body = statement.dump();
  const auto reply = perform(base_url_ + "/api/v1/probes/register", options_, &body, {});
  result.http_status = reply.status;
  if (!reply.failure.empty()) {
    result.failure = reply.failure;
    result.detail = reply.detail;
    return result;
  }
  const json answer = parse_object(reply.body, options_);
  if (reply.status != 200) {
    result.failure = http_failure(reply.status);
    if (const auto* error = answer.is_object() ? string_member(answer, "error") : nullptr) result.error = *error;
    return result;
  }
  const auto* id = answer.is_object() ? string_member(answer, "key_id") : nullptr;
  const auto* status = answer.is_object() ? string_member(answer, "status") : nullptr;
  if (!id || !status || (*status != "registered" && *status != "known")) {
    result.failure = upload_failure::malformed_reply;
    result.detail = "register reply is not {key_id, status}";
    return result;
  }
  if (*id != core::key_id(key.public_key)) {
    result.failure = upload_failure::malformed_reply;
    result.detail = "collector's key_id " + *id + " is not the key's";
    return result;
  }
  result.ok = true;
  result.key_id = *id;
  result.status = *status;
  return result;
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
    std::string failure = reply.failure;
    std::string detail = reply.detail;
    std::vector<UploadItemResult> judged;
    if (failure.empty()) {
      const json answer = parse_object(reply.body, options_);
      const bool complete = parse_judgement(answer, uids, judged, detail);
      if (!complete) judged.clear();
      if (reply.status == 200 || reply.status == 207) {
        if (!complete) failure = upload_failure::malformed_reply;
      } else {
        failure = http_failure(reply.status);
        if (const auto* error = answer.is_object() ? string_member(answer, "error") : nullptr)
          detail = *error + (detail.empty() ? "" : ": " + detail);
      }
    }
    if (!failure.empty() && result.failure.empty()) {
      result.failure = failure;
      result.detail = detail;
    }
    if (judged.empty()) {
      // Nothing from here on was judged: keep it all for a later attempt.
      for (size_t k = first; k < sendable.size(); ++k) {
        result.items[sendable[k]].status = "failed";
        result.items[sendable[k]].reason = failure;
      }
      break;
    }
    for (size_t k = first; k < last; ++k) result.items[sendable[k]] = judged[k - first];
  }
  return result;
}

ControlResult CollectorClient::control(const nlohmann::json& request, const core::KeyPair& key) const {
  ControlResult result;
  const std::string body = request.dump();
  const std::vector<std::string> headers{
      "X-Kuzet-Key: " + core::base64_encode(key.public_key),
      "X-Kuzet-Signature: " + core::base64_encode(core::ed25519_sign(key, body)),
  };
  const auto reply = perform(base_url_ + "/api/v1/control", options_, &body, headers);
  result.http_status = reply.status;
  if (!reply.failure.empty()) {
    result.failure = reply.failure;
    result.detail = reply.detail;
    return result;
  }
  json answer = parse_object(reply.body, options_);
  if (reply.status != 200) {
    result.failure = http_failure(reply.status);
    if (const auto* error = answer.is_object() ? string_member(answer, "error") : nullptr) result.detail = *error;
    return result;
  }
  if (!answer.is_object()) {
    result.failure = upload_failure::malformed_reply;
    result.detail = "control reply is not a JSON object";
    return result;
  }
  result.ok = true;
  result.response = std::move(answer);
  return result;
}

void to_json(nlohmann::json& j, const WhoamiResult& v) {
  j = json{{"ok", v.ok}, {"failure", v.failure}, {"detail", v.detail},
           {"cc", v.cc}, {"asn", v.asn},         {"as_name", v.as_name}};
}
void to_json(nlohmann::json& j, const RegisterResult& v) {
  j = json{{"ok", v.ok},         {"failure", v.failure}, {"detail", v.detail}, {"http_status", v.http_status},
           {"key_id", v.key_id}, {"status", v.status},   {"error", v.error}};
}
void to_json(nlohmann::json& j, const UploadItemResult& v) {
  j = json{{"measurement_uid", v.measurement_uid}, {"status", v.status}, {"reason", v.reason}};
  if (v.log_index) j["log_index"] = *v.log_index;
}
void to_json(nlohmann::json& j, const UploadResult& v) {
  j = json{{"http_status", v.http_status},   {"failure", v.failure}, {"detail", v.detail},
           {"batches_sent", v.batches_sent}, {"items", v.items}};
}
void to_json(nlohmann::json& j, const ControlResult& v) {
  j = json{{"ok", v.ok}, {"failure", v.failure}, {"detail", v.detail}, {"http_status", v.http_status},
           {"response", v.response}};
}

}  // namespace kuzet::probe
