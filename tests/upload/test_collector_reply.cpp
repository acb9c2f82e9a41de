// The readers of a collector's replies (probe/uplink/collector_reply.hpp) on recorded answers: what is
// believed, and what is refused with which failure.
#include "probe/uplink/collector_reply.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace kuzet::probe::uplink;

namespace {

HttpReply answer(int status, std::string body) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

const CollectorClientOptions kOptions;

}  // namespace

TEST_CASE("whoami: the protocol's shape is believed, an address only when it is one") {
  auto who = whoami_from(answer(200, R"({"cc":"KZ","asn":9198,"as_name":"JSC Kazakhtelecom","address":"203.0.113.7"})"),
                         kOptions);
  REQUIRE(who.ok);
  CHECK(who.cc == "KZ");
  CHECK(who.asn == 9198);
  CHECK(who.address == "203.0.113.7");

  who = whoami_from(answer(200, R"({"cc":"KZ","asn":9198,"as_name":"x","address":"<script>"})"), kOptions);
  REQUIRE(who.ok);
  CHECK(who.address.empty());

  for (const char* body : {R"({"cc":"kz","asn":9198,"as_name":"x"})", R"({"cc":"KZ","asn":4294967296,"as_name":"x"})",
                           R"({"cc":"KZ","asn":-1,"as_name":"x"})", R"([1])", "not json"}) {
    CAPTURE(body);
    who = whoami_from(answer(200, body), kOptions);
    CHECK_FALSE(who.ok);
    CHECK(who.failure == upload_failure::malformed_reply);
  }
  CHECK(whoami_from(answer(503, "{}"), kOptions).failure == "upload.http_503");
}

TEST_CASE("register: a reply naming another key is refused; a 4xx keeps the collector's reason") {
  CHECK(register_from(answer(200, R"({"key_id":"k1","status":"known"})"), "k1", kOptions).ok);
  const auto other = register_from(answer(200, R"({"key_id":"k2","status":"known"})"), "k1", kOptions);
  CHECK_FALSE(other.ok);
  CHECK(other.failure == upload_failure::malformed_reply);
  const auto refused = register_from(answer(400, R"({"error":"bad_signature"})"), "k1", kOptions);
  CHECK(refused.failure == "upload.http_400");
  CHECK(refused.error == "bad_signature");
  CHECK(refused.http_status == 400);
}

TEST_CASE("judge_batch: one result per item in order, else nothing is believed") {
  const std::vector<std::string> uids{"a", "b"};
  auto judged = judge_batch(answer(207, R"({"results":[{"measurement_uid":"a","status":"stored","index":7},
      {"measurement_uid":"b","status":"rejected","reason":"bad_signature","index":8}]})"), uids, kOptions);
  REQUIRE(judged.items.size() == 2);
  CHECK(judged.failure.empty());
  CHECK(judged.items[0].log_index == 7u);
  CHECK(judged.items[1].reason == "bad_signature");
  CHECK_FALSE(judged.items[1].log_index);  // a rejected item has no receipt

  judged = judge_batch(answer(200, R"({"results":[{"measurement_uid":"b","status":"stored"},
      {"measurement_uid":"a","status":"stored"}]})"), uids, kOptions);
  CHECK(judged.items.empty());
  CHECK(judged.failure == upload_failure::malformed_reply);
  CHECK(judged.detail.find("names b, sent a") != std::string::npos);

  judged = judge_batch(answer(413, R"({"error":"too_large"})"), uids, kOptions);
  CHECK(judged.items.empty());
  CHECK(judged.failure == "upload.http_413");
  CHECK(judged.detail.rfind("too_large", 0) == 0);

  HttpReply lost;
  lost.failure = std::string(upload_failure::timeout);
  judged = judge_batch(lost, uids, kOptions);
  CHECK(judged.items.empty());
  CHECK(judged.failure == upload_failure::timeout);
}

TEST_CASE("replies deeper than the options allow are not parsed") {
  std::string deep = R"({"cc":"KZ","asn":1,"as_name":"x","n":)" + std::string(40, '[') + std::string(40, ']') + "}";
  CHECK(whoami_from(answer(200, deep), kOptions).failure == upload_failure::malformed_reply);
  CollectorClientOptions deeper;
  deeper.max_response_depth = 64;
  CHECK(whoami_from(answer(200, deep), deeper).ok);
}

TEST_CASE("control: only a JSON object on 200 is passed on") {
  CHECK(control_from(answer(200, R"({"results":[]})"), kOptions).ok);
  CHECK(control_from(answer(200, "[]"), kOptions).failure == upload_failure::malformed_reply);
  const auto busy = control_from(answer(429, R"({"error":"control_budget"})"), kOptions);
  CHECK(busy.failure == "upload.http_429");
  CHECK(busy.detail == "control_budget");
}
