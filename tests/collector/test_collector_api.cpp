// The HTTP API of docs/protocol.md over loopback, against an in-process collector.
#include <doctest/doctest.h>

#include "core/encoding/jcs.hpp"
#include "core/encoding/json_parse.hpp"
#include "tests/collector/support/server_fixture.hpp"

using namespace kuzet;
using namespace kuzet::collector;
using namespace kuzet::collector::testing;
using nlohmann::json;

namespace {

json body_of(const httplib::Result& r) {
  REQUIRE(r);
  return json::parse(r->body);
}

std::string uid(int i) { return "20220105T103000Z_" + std::to_string(1000000000000000 + i); }

}  // namespace

TEST_CASE("healthz, whoami and register") {
  auto asn = network::TsvAsnDatabase::parse("127.0.0.0\t127.255.255.255\t64500\tZZ\tLOOPBACK-TEST-AS\n");
  RunningCollector collector({}, std::move(asn));
  auto c = collector.client();

  auto health = c.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(body_of(health)["status"] == "ok");

  auto who = body_of(c.Get("/api/v1/whoami"));
  CHECK(who["asn"] == 64500);
  CHECK(who["cc"] == "ZZ");
  CHECK(who["as_name"] == "LOOPBACK-TEST-AS");
  CHECK(who["address"] == "127.0.0.1");  // the caller's own address, so the probe can keep it out of results

  auto key = core::generate_ed25519();
  auto first = c.Post("/api/v1/probes/register", register_body(key), "application/json");
  REQUIRE(first);
  CHECK(first->status == 200);
  CHECK(body_of(first)["status"] == "registered");
  CHECK(body_of(first)["key_id"] == core::key_id(key.public_key));
  auto second = c.Post("/api/v1/probes/register", register_body(key), "application/json");
  CHECK(body_of(second)["status"] == "known");

  auto forged = json::parse(register_body(key));
  forged["public_key"] = core::base64_encode(core::generate_ed25519().public_key);
  auto bad = c.Post("/api/v1/probes/register", forged.dump(), "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(body_of(bad)["error"] == "bad_signature");
  auto junk = c.Post("/api/v1/probes/register", "{]", "application/json");
  REQUIRE(junk);
  CHECK(junk->status == 400);
  CHECK(body_of(junk)["error"] == "malformed");
}

TEST_CASE("upload: stored, duplicate, conflict and every rejection with its status") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  auto post = [&](const std::string& body) {
    auto r = c.Post("/api/v1/measurements", body, "application/json");
    REQUIRE(r);
    return r;
  };

  std::vector<std::string> envs;
  for (int i = 0; i < 3; ++i) {
    MeasurementSpec s;
    s.uid = uid(i);
    envs.push_back(signed_envelope(s, key));
  }
  auto stored = post(upload_body(envs));
  CHECK(stored->status == 200);
  auto answer = json::parse(stored->body);
  REQUIRE(answer["results"].size() == 3);
  for (int i = 0; i < 3; ++i) {
    CHECK(answer["results"][i]["measurement_uid"] == uid(i));
    CHECK(answer["results"][i]["status"] == "stored");
    CHECK(answer["results"][i]["reason"] == "");
  }

  auto dup = post(upload_body({envs[0]}));
  CHECK(dup->status == 200);
  CHECK(json::parse(dup->body)["results"][0]["status"] == "duplicate");

  MeasurementSpec changed;
  changed.uid = uid(0);
  changed.verdict = "ok";
  auto conflict = post(upload_body({signed_envelope(changed, key)}));
  CHECK(conflict->status == 409);
  CHECK(json::parse(conflict->body)["error"] == "conflict");
  CHECK(json::parse(conflict->body)["results"][0]["reason"] == "conflict");

  MeasurementSpec fresh;
  fresh.uid = uid(10);
  auto unknown = post(upload_body({signed_envelope(fresh, core::generate_ed25519())}));
  CHECK(unknown->status == 401);
  CHECK(json::parse(unknown->body)["error"] == "unknown_key");

  auto altered = json::parse(signed_envelope(fresh, key));
  altered["measurement"]["target"] = "other.example";
  auto altered_r = post(upload_body({altered.dump()}));
  CHECK(altered_r->status == 400);
  CHECK(json::parse(altered_r->body)["results"][0]["reason"] == "bad_signature");

  auto bad_sig = json::parse(signed_envelope(fresh, key));
  bad_sig["signature"] = core::base64_encode(core::ed25519_sign(key, "something else"));
  auto bad_sig_r = post(upload_body({bad_sig.dump()}));
  CHECK(bad_sig_r->status == 400);
  CHECK(json::parse(bad_sig_r->body)["error"] == "bad_signature");

  MeasurementSpec future = fresh;
  future.started_at = now_plus(std::chrono::hours(1));
  auto future_r = post(upload_body({signed_envelope(future, key)}));
  CHECK(future_r->status == 422);
  CHECK(json::parse(future_r->body)["error"] == "future_timestamp");

  auto not_json = post("{\"measurements\": [");
  CHECK(not_json->status == 400);
  CHECK(json::parse(not_json->body)["error"] == "malformed");
  auto no_array = post("{\"items\": []}");
  CHECK(no_array->status == 400);
  CHECK(json::parse(no_array->body)["error"] == "malformed");

  auto mixed = post(upload_body({signed_envelope(fresh, key), altered.dump()}));
  CHECK(mixed->status == 207);
  auto mixed_answer = json::parse(mixed->body);
  CHECK(mixed_answer["results"][0]["status"] == "stored");
  CHECK(mixed_answer["results"][1]["status"] == "rejected");
  CHECK(mixed_answer["results"][1]["reason"] == "bad_signature");

  std::string huge = "{\"measurements\": [\"" + std::string(16 * 1024 * 1024 + 10, 'a') + "\"]}";
  auto too_large = post(huge);
  CHECK(too_large->status == 413);
  CHECK(json::parse(too_large->body)["error"] == "too_large");

  std::vector<std::string> many(1001, "{}");
  auto too_many = post(upload_body(many));
  CHECK(too_many->status == 413);

  CHECK(collector.store->measurement_count() == 4);
}

TEST_CASE("GET one measurement: byte-identical and verifiable; 404 otherwise") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  MeasurementSpec s;
  s.uid = uid(1);
  // Pretty-printed on purpose: the collector must keep the bytes, not a re-serialization.
  auto envelope = json::parse(signed_envelope(s, key)).dump(1);
  auto up = c.Post("/api/v1/measurements", upload_body({envelope}), "application/json");
  REQUIRE(up);
  REQUIRE(up->status == 200);

  auto got = c.Get("/api/v1/measurements/" + s.uid);
  REQUIRE(got);
  CHECK(got->status == 200);
  CHECK(got->body == envelope);
  CHECK(envelope::verify(json::parse(got->body)) == "");

  auto missing = c.Get("/api/v1/measurements/nope");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  CHECK(json::parse(missing->body)["error"] == "not_found");
}

// The attack of issue 10: {"measurement": fake, "measurement": signed, ...} verified against the last
// reading (the signed one) while the stored bytes showed the first one to every reader of the permalink.
TEST_CASE("duplicate keys: refused, and the permalink never serves unsigned bytes") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  MeasurementSpec s;
  s.uid = uid(7);
  s.verdict = "ok";
  const auto envelope = json::parse(signed_envelope(s, key));
  const std::string signed_measurement = envelope["measurement"].dump();
  const std::string pk = json(envelope["public_key"]).dump(), sig = json(envelope["signature"]).dump();
  MeasurementSpec fake = s;
  fake.verdict = "blocked";
  const std::string fake_measurement = make_measurement(fake).dump();
  std::string inner_duplicate = signed_measurement;  // "verdict" twice inside the measurement, fake first
  inner_duplicate.insert(1, R"("verdict":"blocked",)");
  const std::vector<std::string> hostile{
      R"({"measurement":)" + fake_measurement + R"(,"measurement":)" + signed_measurement + R"(,"public_key":)" + pk +
          R"(,"signature":)" + sig + "}",
      R"({"measurement":)" + inner_duplicate + R"(,"public_key":)" + pk + R"(,"signature":)" + sig + "}",
      R"({"measurement":)" + signed_measurement + R"(,"public_key":)" + pk + R"(,"signature":)" + sig +
          R"(,"signature":)" + sig + "}",
  };
  for (const auto& bytes : hostile) {
    CAPTURE(bytes.substr(0, 80));
    auto r = c.Post("/api/v1/measurements", upload_body({bytes}), "application/json");
    REQUIRE(r);
    CHECK(r->status == 400);
    auto answer = body_of(r);
    REQUIRE(answer["results"].size() == 1);
    CHECK(answer["results"][0]["status"] == "rejected");
    CHECK(answer["results"][0]["reason"] == "malformed");
    auto permalink = c.Get("/api/v1/measurements/" + s.uid);
    REQUIRE(permalink);
    CHECK(permalink->status == 404);
  }

  // The genuine envelope is stored; what the permalink serves parses strictly and every field verifies.
  auto r = c.Post("/api/v1/measurements", upload_body({envelope.dump()}), "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  auto permalink = c.Get("/api/v1/measurements/" + s.uid);
  REQUIRE(permalink);
  REQUIRE(permalink->status == 200);
  const auto served = core::parse_json(permalink->body, core::JsonLimits{});
  REQUIRE(served.ok());
  CHECK(envelope::verify(served.value) == "");
  CHECK(served.value["measurement"]["verdict"] == "ok");
  // Re-sending the hostile forms now is no duplicate of it either: still refused, the stored bytes unchanged.
  auto again = c.Post("/api/v1/measurements", upload_body({hostile[0]}), "application/json");
  REQUIRE(again);
  CHECK(body_of(again)["results"][0]["reason"] == "malformed");
  CHECK(c.Get("/api/v1/measurements/" + s.uid)->body == permalink->body);
}

TEST_CASE("integers beyond 2^53 and times outside 1970-2199 are malformed") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  auto post = [&](const json& measurement) {
    auto r = c.Post("/api/v1/measurements", upload_body({envelope::sign(measurement, key).dump()}),
                    "application/json");
    REQUIRE(r);
    return body_of(r)["results"][0]["reason"].get<std::string>();
  };
  MeasurementSpec s;
  s.uid = uid(8);
  s.started_at = now_plus(std::chrono::minutes(-5));
  auto m = make_measurement(s);
  m["observations"]["http"]["requests"][0]["body_length"] = 424242;
  // Signed over the exact digits (as the old canonicalization did): it would verify for us and fail for
  // any ECMAScript verifier, which reads 9007199254740992.
  std::string canonical = core::canonicalize(m);
  canonical.replace(canonical.find("424242"), 6, "9007199254740993");
  const std::string big = R"({"measurement":)" + canonical + R"(,"public_key":")" +
                          core::base64_encode(key.public_key) + R"(","signature":")" +
                          core::base64_encode(core::ed25519_sign(key, canonical)) + "\"}";
  auto r = c.Post("/api/v1/measurements", upload_body({big}), "application/json");
  REQUIRE(r);
  CHECK(body_of(r)["results"][0]["reason"] == "malformed");
  // "2300-01-01" used to wrap to 1715 and be stored; "1500-01-01" was called a future timestamp.
  for (const char* when : {"2300-01-01T00:00:00Z", "1500-01-01T00:00:00Z"}) {
    CAPTURE(when);
    s.started_at = when;
    CHECK(post(make_measurement(s)) == "malformed");
  }
  CHECK(c.Get("/api/v1/measurements/" + s.uid)->status == 404);
}

// 16 MiB of '[' used to cost 1.25 GB (nlohmann built every level). The route's body cap (64 KiB on the
// wire, collector/http) now refuses such a body before it is read; what fits under the cap is judged by the
// bounded parser (4 levels), never built: the answer says so.
TEST_CASE("register: nested or duplicate-key statements are refused by the bounded parser") {
  RunningCollector collector;
  auto c = collector.client();
  auto nested = c.Post("/api/v1/probes/register", std::string(63 * 1024, '['), "application/json");
  REQUIRE(nested);
  CHECK(nested->status == 400);
  CHECK(body_of(nested)["error"] == "malformed");
  CHECK(body_of(nested)["detail"] == "nested deeper than 4 levels");

  auto key = core::generate_ed25519();
  std::string statement = register_body(key);
  statement.insert(1, R"("public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",)");
  auto duplicate = c.Post("/api/v1/probes/register", statement, "application/json");
  REQUIRE(duplicate);
  CHECK(duplicate->status == 400);
  CHECK(body_of(duplicate)["detail"] == R"(duplicate key "public_key")");
}

TEST_CASE("list: filters and cursor paging") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  // A day ago on a whole hour: recent enough for a key registered now (not backdated).
  const int64_t base_s = (core::to_unix_ms(std::chrono::system_clock::now()) / 1000 - 86400) / 3600 * 3600;
  auto at = [&](int minutes) { return core::format_rfc3339(core::SystemTime(std::chrono::seconds(base_s + minutes * 60))); };
  std::vector<std::string> envs;
  for (int i = 0; i < 25; ++i) {
    MeasurementSpec s;
    s.uid = uid(i);
    s.started_at = core::format_rfc3339(core::SystemTime(std::chrono::seconds(base_s + i * 60)));
    s.asn = i % 2 ? 9198 : 48503;
    s.target = i % 5 ? "a.example" : "b.example";
    envs.push_back(signed_envelope(s, key));
  }
  auto up = c.Post("/api/v1/measurements", upload_body(envs), "application/json");
  REQUIRE(up);
  REQUIRE(up->status == 200);

  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  do {
    auto r = c.Get("/api/v1/measurements?cc=KZ&asn=9198&limit=5" + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r);
    REQUIRE(r->status == 200);
    auto page = json::parse(r->body);
    for (const auto& env : page["measurements"]) {
      CHECK(env["measurement"]["network"]["asn"] == 9198);
      CHECK(envelope::verify(env) == "");
      seen.push_back(env["measurement"]["measurement_uid"]);
    }
    cursor = page["next_cursor"];
    ++pages;
  } while (!cursor.empty() && pages < 10);
  CHECK(seen.size() == 12);
  CHECK(pages == 3);
  CHECK(std::is_sorted(seen.begin(), seen.end()));
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());

  auto by_target = json::parse(c.Get("/api/v1/measurements?target=b.example")->body);
  CHECK(by_target["measurements"].size() == 5);
  CHECK(by_target["next_cursor"] == "");
  auto by_time = json::parse(
      c.Get("/api/v1/measurements?from=" + at(5) + "&until=" + at(10))->body);
  CHECK(by_time["measurements"].size() == 5);
  auto none = json::parse(c.Get("/api/v1/measurements?cc=RU")->body);
  CHECK(none["measurements"].empty());

  for (const char* bad : {"?asn=x", "?limit=0", "?limit=5000", "?from=yesterday", "?cursor=garbage"}) {
    auto r = c.Get(std::string("/api/v1/measurements") + bad);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 400, bad);
  }
}

TEST_CASE("list: every documented filter applies; OONI's and IODA's forms; unknown parameters refused") {
  // Network names come from the collector's IP->ASN database (an iptoasn TSV here).
  RunningCollector collector({}, network::TsvAsnDatabase::parse("2.60.0.0\t2.63.255.255\t9198\tKZ\tJSC Kazakhtelecom\n"
                                                      "5.34.0.0\t5.34.255.255\t48503\tKZ\tTele2 Kazakhstan\n"));
  auto c = collector.client();
  auto key = registered_key(c);
  const auto base = std::chrono::system_clock::now() - std::chrono::hours(2);
  std::vector<std::string> envs;
  for (int i = 0; i < 20; ++i) {
    MeasurementSpec s;
    s.uid = uid(100 + i);
    s.started_at = core::format_rfc3339(base + std::chrono::minutes(i));
    s.asn = i % 4 < 2 ? 9198 : 48503;
    s.verdict = i % 2 ? "blocked" : "ok";
    s.method = i % 2 ? "tls.timeout" : "";
    s.category = i < 10 ? "messaging" : "news";
    envs.push_back(signed_envelope(s, key));
  }
  auto up = c.Post("/api/v1/measurements", upload_body(envs), "application/json");
  REQUIRE(up);
  REQUIRE(up->status == 200);
  auto count = [&](const std::string& query) -> long {
    auto r = c.Get("/api/v1/measurements?limit=1000&" + query);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 200, query, r->body);
    if (r->status != 200) return -1;
    return static_cast<long>(json::parse(r->body)["measurements"].size());
  };
  CHECK(count("verdict=blocked") == 10);
  CHECK(count("verdict=ok&method=") == 10);
  CHECK(count("method=tls.timeout") == 10);
  CHECK(count("category=messaging") == 10);
  CHECK(count("category=messaging&verdict=blocked") == 5);
  CHECK(count("cc=kz") == 20);
  CHECK(count("probe_cc=KZ") == 20);
  CHECK(count("asn=AS9198") == 10);
  CHECK(count("probe_asn=as9198&verdict=blocked") == 5);
  const auto secs = [](core::SystemTime t) {
    return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  };
  CHECK(count("from=" + secs(base + std::chrono::minutes(10)) + "&until=" + secs(base + std::chrono::minutes(15))) == 5);
  const std::string day_before = core::format_rfc3339(base - std::chrono::hours(48)).substr(0, 10);
  const std::string day_after = core::format_rfc3339(base + std::chrono::hours(48)).substr(0, 10);
  CHECK(count("from=" + day_before + "&until=" + day_after) == 20);
  CHECK(count("from=" + day_after) == 0);

  auto csv = c.Get("/api/v1/measurements?verdict=blocked&format=csv");
  REQUIRE(csv);
  CHECK(csv->status == 200);
  CHECK(csv->get_header_value("Content-Type") == "text/csv; charset=utf-8");
  CHECK(csv->body.rfind("measurement_uid,started_at,received_at,cc,asn,target,category,verdict,method,key_id,as_name,confirmed\n", 0) == 0);
  CHECK(std::count(csv->body.begin(), csv->body.end(), '\n') == 11);
  CHECK(csv->body.find(",blocked,tls.timeout,") != std::string::npos);
  CHECK(csv->body.find(",ok,") == std::string::npos);
  auto occurrences = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = csv->body.find(what); at != std::string::npos; at = csv->body.find(what, at + 1)) ++n;
    return n;
  };
  CHECK(occurrences(",9198,") == 5);
  CHECK(occurrences(",JSC Kazakhtelecom,false\n") == 5);
  CHECK(occurrences(",Tele2 Kazakhstan,false\n") == 5);

  for (auto [query, named] : {std::pair{"verdit=blocked", "verdit"}, std::pair{"verdict=eaten", "verdict"},
                              std::pair{"method=tcp.bogus", "method"}, std::pair{"cc=KAZ", "cc"},
                              std::pair{"cc=KZ&probe_cc=RU", "probe_cc"}, std::pair{"asn=AS", "asn"},
                              std::pair{"format=xml", "format"}, std::pair{"cc=KZ&cc=RU", "cc"},
                              std::pair{"from=2022-01-05&until=2022-01-04", "until"}}) {
    auto r = c.Get(std::string("/api/v1/measurements?") + query);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 400, query);
    CHECK_MESSAGE(json::parse(r->body)["detail"].get<std::string>().find(named) != std::string::npos, query);
  }
}

TEST_CASE("list: each measurement says whether decisive local evidence confirms it; confirmed= filters") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  const auto base = std::chrono::system_clock::now() - std::chrono::hours(1);
  auto evidence = [](const char* k, const char* v) { return json::array({{{"key", k}, {"value", v}}}); };
  // In started_at order: a known blockpage, a forged reset in the packets, a blockpage behind an "ok" verdict
  // (not interference: not confirmed), a plain timeout, an interception root.
  const std::vector<std::pair<std::string, json>> rows = {
      {"blocked", evidence("blockpage", "kz-gov")},
      {"blocked", evidence("packets.rst_injection", "198.51.100.7")},
      {"ok", evidence("blockpage", "kz-gov")},
      {"blocked", json::array()},
      {"intercepted", evidence("tls.known_root", "Qaznet Trust Network")}};
  std::vector<std::string> envs;
  for (size_t i = 0; i < rows.size(); ++i) {
    MeasurementSpec s;
    s.uid = uid(200 + static_cast<int>(i));
    s.started_at = core::format_rfc3339(base + std::chrono::minutes(i));
    s.verdict = rows[i].first;
    s.method = s.verdict == "ok" ? "" : s.verdict == "intercepted" ? "tls.mitm" : "tls.timeout";
    s.evidence = rows[i].second;
    envs.push_back(signed_envelope(s, key));
  }
  auto up = c.Post("/api/v1/measurements", upload_body(envs), "application/json");
  REQUIRE(up);
  REQUIRE(up->status == 200);

  auto page = json::parse(c.Get("/api/v1/measurements")->body);
  REQUIRE(page["measurements"].size() == 5);
  CHECK(page["confirmed"] == json::array({true, true, false, false, true}));
  for (const auto& env : page["measurements"]) CHECK(envelope::verify(env) == "");  // untouched by it
  auto only = json::parse(c.Get("/api/v1/measurements?confirmed=true")->body);
  REQUIRE(only["measurements"].size() == 3);
  CHECK(only["confirmed"] == json::array({true, true, true}));
  CHECK(only["measurements"][1]["measurement"]["measurement_uid"] == uid(201));
  auto others = json::parse(c.Get("/api/v1/measurements?confirmed=false")->body);
  CHECK(others["confirmed"] == json::array({false, false}));
  auto csv = c.Get("/api/v1/measurements?format=csv&verdict=intercepted")->body;
  CHECK(csv.size() > 6);
  CHECK(csv.substr(csv.size() - 6) == ",true\n");
  auto bad = c.Get("/api/v1/measurements?confirmed=yes");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(json::parse(bad->body)["detail"].get<std::string>().find("confirmed") != std::string::npos);
}

TEST_CASE("metrics: counters by outcome and reason, latencies, total") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  MeasurementSpec a, b;
  a.uid = uid(1);
  b.uid = uid(2);
  c.Post("/api/v1/measurements", upload_body({signed_envelope(a, key), signed_envelope(b, key)}), "application/json");
  c.Post("/api/v1/measurements", upload_body({signed_envelope(a, key)}), "application/json");
  MeasurementSpec stranger;
  stranger.uid = uid(3);
  c.Post("/api/v1/measurements", upload_body({signed_envelope(stranger, core::generate_ed25519())}), "application/json");

  auto r = c.Get("/metrics");
  REQUIRE(r);
  CHECK(r->status == 200);
  const auto& text = r->body;
  CHECK(text.find("kuzet_measurements_stored_total 2\n") != std::string::npos);
  CHECK(text.find("kuzet_measurements_duplicate_total 1\n") != std::string::npos);
  CHECK(text.find("kuzet_measurements_rejected_total{reason=\"unknown_key\"} 1\n") != std::string::npos);
  CHECK(text.find("kuzet_measurements_rejected_total{reason=\"bad_signature\"} 0\n") != std::string::npos);
  CHECK(text.find("kuzet_measurements 2\n") != std::string::npos);
  CHECK(text.find("kuzet_http_request_duration_seconds_count{endpoint=\"upload\"} 3\n") != std::string::npos);
  CHECK(text.find("kuzet_http_request_duration_seconds_bucket{endpoint=\"upload\",le=\"+Inf\"} 3\n") != std::string::npos);
}

TEST_CASE("list: source=kuzet|ooni|all selects by where a measurement came from, in JSON and CSV") {
  RunningCollector collector;
  auto c = collector.client();
  auto key = registered_key(c);
  std::vector<std::string> envs;
  for (int i = 0; i < 4; ++i) {
    MeasurementSpec s;
    s.uid = uid(200 + i);
    envs.push_back(signed_envelope(s, key));
  }
  auto up = c.Post("/api/v1/measurements", upload_body(envs), "application/json");
  REQUIRE(up);
  REQUIRE(up->status == 200);
  // Rows as import-ooni stores them: an "imported" envelope, source "ooni", a pseudonymous report key.
  std::vector<NewMeasurement> imported;
  for (int i = 0; i < 3; ++i) {
    MeasurementSpec s;
    s.uid = uid(300 + i);
    NewMeasurement row;
    row.uid = s.uid;
    row.source = kSourceOoni;
    row.envelope = json{{"imported", {{"source", "ooni"}}}, {"measurement", make_measurement(s)}}.dump();
    row.content_hash = core::sha256_hex(row.envelope);
    row.key_id = "ooni:000000000000";
    row.started_at_ms = core::to_unix_ms(*core::parse_rfc3339(s.started_at));
    row.cc = s.cc;
    row.asn = s.asn;
    row.target = s.target;
    row.category = s.category;
    row.verdict = s.verdict;
    row.method = s.method;
    imported.push_back(row);
  }
  REQUIRE(collector.store->insert_batch(imported).size() == 3);

  auto uids = [&](const std::string& query) {
    std::vector<std::string> out;
    auto r = c.Get("/api/v1/measurements?limit=1000" + query);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 200, query, r->body);
    if (r->status != 200) return out;
    const json page = json::parse(r->body);  // a named value: ranging over a temporary's member dangles
    for (const auto& env : page["measurements"]) out.push_back(env["measurement"]["measurement_uid"]);
    return out;
  };
  CHECK(uids("&source=kuzet") == std::vector<std::string>{uid(200), uid(201), uid(202), uid(203)});
  CHECK(uids("&source=ooni") == std::vector<std::string>{uid(300), uid(301), uid(302)});
  CHECK(uids("&source=all").size() == 7);
  CHECK(uids("").size() == 7);
  CHECK(uids("&source=ooni&verdict=ok").empty());

  auto csv = c.Get("/api/v1/measurements?source=ooni&format=csv");
  REQUIRE(csv);
  CHECK(csv->status == 200);
  CHECK(std::count(csv->body.begin(), csv->body.end(), '\n') == 4);
  CHECK(csv->body.find(uid(300)) != std::string::npos);
  CHECK(csv->body.find(uid(200)) == std::string::npos);

  for (const char* query : {"source=OONI", "source=", "source=kuzet,ooni", "source=ooni&source=kuzet"}) {
    auto r = c.Get(std::string("/api/v1/measurements?") + query);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 400, query);
    CHECK_MESSAGE(json::parse(r->body)["detail"].get<std::string>().find("source") != std::string::npos, query);
  }
}

TEST_CASE("list: a line format handed in answers one line per row; a row it cannot write is counted, not fatal") {
  TempDir dir;
  TestDb db(dir.file("collector.db"));
  auto store = open_store(db.location());
  std::vector<NewMeasurement> rows;
  for (int i = 0; i < 5; ++i) {
    NewMeasurement row;
    row.uid = uid(400 + i);
    row.envelope = i == 2 ? "unreadable" : "{\"n\":" + std::to_string(i) + "}";
    row.content_hash = core::sha256_hex(row.envelope);
    row.key_id = "k";
    row.started_at_ms = 1641300000000 + i * 1000;
    row.cc = "KZ";
    row.asn = 9198;
    rows.push_back(row);
  }
  store->insert_batch(rows);
  const query::LineFormat upper{"upper-lines", "application/x-ndjson", "x.jsonl", [](const ListedMeasurement& r) {
                                  if (r.envelope == "unreadable") throw std::invalid_argument("bad row");
                                  return r.position.uid;
                                }};
  auto ask = [&](const std::string& format, const std::string& cursor = "") {
    httplib::Request req;
    req.params = {{"format", format}, {"limit", "3"}};
    if (!cursor.empty()) req.params.emplace("cursor", cursor);
    httplib::Response res;
    query::list_measurements(*store, req, res, {upper});
    return res;
  };
  auto first = ask("upper-lines");
  CHECK(first.status != 400);  // no status set: the server's 200
  CHECK(first.get_header_value("Content-Type") == "application/x-ndjson");
  CHECK(first.body == uid(400) + "\n" + uid(401) + "\n");  // the third row of the page is left out...
  CHECK(first.get_header_value("X-Kuzet-Skipped") == "1");  // ...and counted
  auto second = ask("upper-lines", first.get_header_value("X-Next-Cursor"));
  CHECK(second.body == uid(403) + "\n" + uid(404) + "\n");
  CHECK(second.get_header_value("X-Next-Cursor") == "");
  auto unknown = ask("lower-lines");
  CHECK(unknown.status == 400);
  CHECK(json::parse(unknown.body)["detail"] == "format must be one of json, csv, upper-lines");
}
