#include "probe/uplink/collector_reply.hpp"

#include <utility>

#include "core/encoding/json_parse.hpp"
#include "core/vocabulary/country.hpp"
#include "measure/http/url.hpp"

namespace kuzet::probe::uplink {
namespace {

using nlohmann::json;

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

// The per-item judgement of one batch into `out`, or false (out untouched) when the reply does not judge
// exactly these items.
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
  out = std::move(items);
  return true;
}

}  // namespace

std::string http_failure(int status) { return "upload.http_" + std::to_string(status); }

WhoamiResult whoami_from(const HttpReply& reply, const CollectorClientOptions& options) {
  WhoamiResult result;
  if (!reply.failure.empty()) {
    result.failure = reply.failure;
    result.detail = reply.detail;
    return result;
  }
  if (reply.status != 200) {
    result.failure = http_failure(reply.status);
    return result;
  }
  const json body = parse_object(reply.body, options);
  const auto* cc = body.is_object() ? string_member(body, "cc") : nullptr;
  const auto* as_name = body.is_object() ? string_member(body, "as_name") : nullptr;
  const auto asn = body.is_object() ? body.find("asn") : body.end();
  if (!cc || !core::country::is_code_or_unknown(*cc) || !as_name || as_name->size() > 512 || asn == body.end() ||
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
  if (const auto* address = string_member(body, "address"); address && measure::http::is_ip_literal(*address))
    result.address = *address;
  return result;
}

RegisterResult register_from(const HttpReply& reply, const std::string& expected_key_id,
                             const CollectorClientOptions& options) {
  RegisterResult result;
  result.http_status = reply.status;
  if (!reply.failure.empty()) {
    result.failure = reply.failure;
    result.detail = reply.detail;
    return result;
  }
  const json answer = parse_object(reply.body, options);
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
  if (*id != expected_key_id) {
    result.failure = upload_failure::malformed_reply;
    result.detail = "collector's key_id " + *id + " is not the key's";
    return result;
  }
  result.ok = true;
  result.key_id = *id;
  result.status = *status;
  return result;
}

ControlResult control_from(HttpReply reply, const CollectorClientOptions& options) {
  ControlResult result;
  result.http_status = reply.status;
  if (!reply.failure.empty()) {
    result.failure = std::move(reply.failure);
    result.detail = std::move(reply.detail);
    return result;
  }
  json answer = parse_object(reply.body, options);
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

BatchJudgement judge_batch(const HttpReply& reply, const std::vector<std::string>& uids,
                           const CollectorClientOptions& options) {
  BatchJudgement judgement{reply.failure, reply.detail, {}};
  if (!judgement.failure.empty()) return judgement;
  const json answer = parse_object(reply.body, options);
  const bool complete = parse_judgement(answer, uids, judgement.items, judgement.detail);
  if (reply.status == 200 || reply.status == 207) {
    if (!complete) judgement.failure = upload_failure::malformed_reply;
  } else {
    judgement.failure = http_failure(reply.status);
    if (const auto* error = answer.is_object() ? string_member(answer, "error") : nullptr)
      judgement.detail = *error + (judgement.detail.empty() ? "" : ": " + judgement.detail);
  }
  return judgement;
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

}  // namespace kuzet::probe::uplink
