// OONI interoperability. The fixtures are written by hand from the OONI spec's field definitions (one per
// blocking kind, v0.4 and v0.5 test keys, and the odd shapes real data has); the expected Kuzet verdicts
// follow from each fixture's story, not from the engine's output.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/analysis_json.hpp"
#include "collector/ooni/export.hpp"
#include "collector/ooni/failures.hpp"
#include "collector/ooni/import.hpp"
#include "core/vocabulary/failure.hpp"
#include "core/vocabulary/method.hpp"
#include "core/vocabulary/verdict.hpp"
#include "envelope/envelope.hpp"
#include "measure/observations_json.hpp"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace kuzet;

namespace {

json fixture(const std::string& name) {
  std::ifstream in(fs::path(KUZET_OONI_FIXTURES) / (name + ".json"));
  REQUIRE_MESSAGE(in.good(), "missing fixture " << name);
  return json::parse(in);
}

analysis::Verdict judged(const std::string& name) {
  auto parsed = ooni::from_ooni(fixture(name));
  REQUIRE_MESSAGE(parsed.measurement, name << ": skipped " << parsed.skipped << " " << parsed.detail);
  return ooni::judge(*parsed.measurement, {});
}

}  // namespace

TEST_CASE("OONI failure strings map to the step's Kuzet failure and back") {
  using ooni::Step;
  CHECK(ooni::from_ooni_failure("generic_timeout_error", Step::tcp) == core::failure::tcp_timeout);
  CHECK(ooni::from_ooni_failure("generic_timeout_error", Step::tls) == core::failure::tls_timeout);
  CHECK(ooni::from_ooni_failure("connection_reset", Step::tls) == core::failure::tls_reset);
  CHECK(ooni::from_ooni_failure("connection_reset", Step::http) == core::failure::http_reset);
  CHECK(ooni::from_ooni_failure("dns_nxdomain_error", Step::dns) == core::failure::dns_nxdomain);
  CHECK(ooni::from_ooni_failure("eof_error", Step::http) == core::failure::http_eof);
  CHECK(ooni::from_ooni_failure("unknown_failure: something odd", Step::tcp) == core::failure::tcp_error);
  CHECK(ooni::from_ooni_failure("", Step::dns).empty());
  for (auto f : {core::failure::dns_nxdomain, core::failure::tcp_refused, core::failure::tcp_reset,
                 core::failure::tls_unknown_authority, core::failure::http_eof}) {
    auto step = f.starts_with("dns") ? Step::dns : f.starts_with("tcp") ? Step::tcp : f.starts_with("tls") ? Step::tls : Step::http;
    CHECK(ooni::from_ooni_failure(ooni::to_ooni_failure(f), step) == f);
  }
  CHECK(ooni::to_ooni_failure(core::failure::tls_timeout) == "generic_timeout_error");
}

TEST_CASE("each OONI blocking kind is judged by Kuzet's engine") {
  struct Case {
    const char* fixture;
    std::string_view verdict, method;
  };
  const Case cases[] = {
      {"v04_dns_bogon", core::verdict::blocked, core::method::dns_bogon},
      {"v05_dns_nxdomain", core::verdict::blocked, core::method::dns_nxdomain},
      {"v04_tcp_ip", core::verdict::blocked, core::method::tcp_timeout},
      {"v05_tls_reset", core::verdict::blocked, core::method::tls_reset},
      {"v04_http_diff", core::verdict::blocked, core::method::http_blockpage},
      {"v05_accessible", core::verdict::ok, core::method::none},
      {"v04_down", core::verdict::down, core::method::dns_nxdomain},
  };
  for (const auto& c : cases) {
    CAPTURE(c.fixture);
    auto v = judged(c.fixture);
    CAPTURE(v.explanation);
    CHECK(v.verdict == c.verdict);
    CHECK(v.method == c.method);
  }
}

TEST_CASE("odd shapes: null test keys are skipped, binary bodies and headers decoded, no control tolerated") {
  auto skipped = ooni::from_ooni(fixture("odd_null_test_keys"));
  CHECK_FALSE(skipped.measurement);
  CHECK(skipped.skipped == std::string(ooni::skip::no_test_keys));

  auto other = fixture("v04_tcp_ip");
  other["test_name"] = "telegram";
  CHECK(ooni::from_ooni(other).skipped == std::string(ooni::skip::not_web_connectivity));
  CHECK(ooni::from_ooni(json::array()).skipped == std::string(ooni::skip::malformed));
  auto bad_time = fixture("v04_tcp_ip");
  bad_time["measurement_start_time"] = "yesterday";
  CHECK(ooni::from_ooni(bad_time).skipped == std::string(ooni::skip::bad_time));
  auto bad_types = fixture("v04_tcp_ip");
  bad_types["test_keys"]["tcp_connect"] = "not a list";
  bad_types["test_keys"]["queries"] = json::array({42, nullptr, json::object()});
  CHECK(ooni::from_ooni(bad_types).measurement);  // wrong types read as missing, never a throw

  auto parsed = ooni::from_ooni(fixture("odd_binary_no_control"));
  REQUIRE(parsed.measurement);
  const auto& m = *parsed.measurement;
  CHECK_FALSE(m.target.control);  // control_failure set
  REQUIRE(m.target.observations.http);
  const auto& r = m.target.observations.http->requests.at(0);
  CHECK(r.title == "Привет");
  CHECK(r.body_length == 34);  // the base64 body decoded: 33 bytes of HTML and one non-UTF-8 byte
  bool note = false;
  for (const auto& h : r.headers) note |= h.name == "X-Note" && h.value == "Привет";
  CHECK(note);
  CHECK(ooni::judge(m, {}).verdict == core::verdict::inconclusive);  // a plain-HTTP page with no control
}

TEST_CASE("numbers no field can hold read as missing, never cast: ttl, asn, status, length, times") {
  // A static_cast of 1e300 to an integer is undefined behaviour; the ooni_import fuzzer found it (ASN of 80
  // digits; reproducer_float_cast_asn.jsonl in the fuzzer's corpus, replayed under UBSan).
  auto o = fixture("v05_accessible");
  auto& keys = o["test_keys"];
  REQUIRE(keys["queries"].is_array());
  REQUIRE(!keys["queries"].empty());
  auto& answer = keys["queries"][0]["answers"][0];
  answer["ttl"] = 1e300;
  answer["asn"] = 1e300;
  keys["queries"][0]["t"] = 1e307;
  REQUIRE(keys["requests"].is_array());
  keys["requests"][0]["response"]["code"] = -1e300;
  o["test_runtime"] = 1e307;
  REQUIRE(keys["control"].contains("ip_info"));
  keys["control"].erase("ip_info");  // so the address's ASN can only come from the probe's DNS answer
  auto parsed = ooni::from_ooni(o);
  REQUIRE(parsed.measurement);
  const auto& m = *parsed.measurement;
  const auto& query = m.target.observations.dns.queries.at(0);
  CHECK(query.answers.at(0).ttl == 0);
  CHECK(query.duration_ms == 0);
  CHECK(m.runtime_ms == 0);
  const auto asn_of = [](const ooni::ImportedMeasurement& im, const std::string& ip) -> uint32_t {
    if (im.target.control)
      for (const auto& info : im.target.control->addresses)
        if (info.address == ip) return info.asn;
    return 0;
  };
  const std::string address = answer["ipv4"].get<std::string>();
  CHECK(asn_of(m, address) == 0);
  REQUIRE(m.target.observations.http);
  CHECK(m.target.observations.http->requests.at(0).status == 0);

  // Numbers the fields can hold are kept (a fraction dropped).
  answer["ttl"] = 300.9;
  answer["asn"] = 4294967295.0;
  keys["queries"][0]["t"] = 0.25;
  auto kept = ooni::from_ooni(o);
  REQUIRE(kept.measurement);
  CHECK(kept.measurement->target.observations.dns.queries.at(0).answers.at(0).ttl == 300);
  CHECK(kept.measurement->target.observations.dns.queries.at(0).duration_ms == 250);
  CHECK(asn_of(*kept.measurement, address) == 4294967295u);
}

TEST_CASE("imported measurements keep OONI's identity and get a stable Kuzet uid") {
  auto parsed = ooni::from_ooni(fixture("v05_tls_reset"));
  REQUIRE(parsed.measurement);
  const auto& m = *parsed.measurement;
  CHECK(m.cc == "KZ");
  CHECK(m.asn == 9198);
  CHECK(m.started_at == "2024-05-10T12:00:00.000Z");
  auto uid = ooni::kuzet_uid(m);
  CHECK(uid.starts_with("20240510T120000Z_"));
  CHECK(uid.size() == 17 + 16);
  CHECK(uid == ooni::kuzet_uid(*ooni::from_ooni(fixture("v05_tls_reset")).measurement));
  auto k = ooni::to_kuzet_measurement(m, ooni::judge(m, {}));
  CHECK(k["source"]["name"] == "ooni");
  CHECK(k["source"]["explorer_url"] == "https://explorer.ooni.org/m/20240510120000.000004_KZ_webconnectivity_0000000000000004");
  CHECK(k["network"]["source"] == "ooni");
  CHECK(k["measurement_uid"] == uid);
  // OONI's "ZZ", and anything but two capitals, is an unknown country: it would name series of its own.
  for (const char* cc : {"ZZ", "kz", "K\n", "KAZ", ""}) {
    CAPTURE(cc);
    auto o = fixture("v05_tls_reset");
    o["probe_cc"] = cc;
    auto other = ooni::from_ooni(o);
    REQUIRE(other.measurement);
    CHECK(other.measurement->cc == "");
  }
  // Without OONI's measurement_uid (older reports), the report id, input and time identify it.
  auto old = ooni::from_ooni(fixture("v04_down"));
  REQUIRE(old.measurement);
  CHECK(ooni::explorer_url(*old.measurement).find("20211101T100000Z_webconnectivity_KZ_9198") != std::string::npos);
}

TEST_CASE("export writes an OONI base measurement with Web Connectivity keys") {
  auto parsed = ooni::from_ooni(fixture("v04_http_diff"));
  REQUIRE(parsed.measurement);
  auto kuzet_json = ooni::to_kuzet_measurement(*parsed.measurement, ooni::judge(*parsed.measurement, {}));
  ooni::EnvelopeFacts facts{"0123456789abcdef", "pk", "sig", std::string(64, 'a'), 42, nullptr};
  auto o = ooni::to_ooni(kuzet_json, facts);
  CHECK(o["measurement_start_time"] == "2022-01-06 11:00:00");
  CHECK(o["probe_asn"] == "AS9198");
  CHECK(o["probe_cc"] == "KZ");
  CHECK(o["test_name"] == "web_connectivity");
  CHECK(o["input"] == "http://www.newsfront.example/");
  CHECK(o["report_id"].get<std::string>().find("_webconnectivity_KZ_9198_") != std::string::npos);
  const auto& keys = o["test_keys"];
  CHECK(keys["blocking"] == "http-diff");
  CHECK(keys["accessible"] == false);
  CHECK(keys["dns_consistency"] == "consistent");
  CHECK(keys["status_code_match"] == true);
  CHECK(keys["body_length_match"] == false);
  CHECK(keys["title_match"] == false);
  CHECK(keys["requests"].size() == 1);
  CHECK(keys["requests"][0]["response"]["code"] == 200);
  CHECK(keys["control"]["http_request"]["status_code"] == 200);
  CHECK(o["x_kuzet"]["verdict"] == "blocked");
  CHECK(o["x_kuzet"]["method"] == "http.blockpage");
  CHECK(o["x_kuzet"]["log_index"] == 42);
  CHECK(o["x_kuzet"]["key_id"] == "0123456789abcdef");
  CHECK_THROWS_AS(ooni::to_ooni(json::object(), facts), std::invalid_argument);
}

TEST_CASE("export -> import round-trips the golden cases with the same verdicts") {
  size_t compared = 0;
  for (const auto& entry : fs::directory_iterator(KUZET_ANALYSIS_GOLDEN_DIR)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    auto golden = json::parse(in);
    analysis::Knowledge knowledge;
    if (golden.contains("knowledge")) knowledge = golden["knowledge"].get<analysis::Knowledge>();
    analysis::RunFacts facts;
    if (golden.contains("facts")) facts = golden["facts"].get<analysis::RunFacts>();
    auto targets = golden.at("targets").get<std::vector<analysis::TargetInput>>();
    // Run-level rules (offline, the throughput baseline) need the whole run: compare whole runs.
    auto before = analysis::analyze_run(targets, facts, knowledge);
    std::vector<analysis::TargetInput> imported;
    for (size_t i = 0; i < targets.size(); ++i) {
      const auto& t = targets[i];
      json k = {{"measurement_uid", "20220105T103000Z_00000000000000" + std::to_string(10 + i)},
                {"input", t.observations.url},
                {"started_at", "2022-01-05T10:30:00.000Z"},
                {"run_id", "run"},
                {"category", t.category},
                {"verdict", before[i].verdict},
                {"method", before[i].method},
                {"network", {{"cc", "KZ"}, {"asn", 9198}}},
                {"observations", t.observations},
                {"control", t.control ? json(*t.control) : json(nullptr)}};
      auto o = ooni::to_ooni(k, {});
      auto back = ooni::from_ooni(json::parse(o.dump()));  // through text, as a file would carry it
      REQUIRE_MESSAGE(back.measurement, entry.path().filename() << ": " << back.skipped << " " << back.detail);
      auto input = back.measurement->target;
      input.category = t.category;
      imported.push_back(input);
    }
    auto after = analysis::analyze_run(imported, facts, knowledge);
    for (size_t i = 0; i < targets.size(); ++i) {
      CAPTURE(entry.path().filename().string());
      CAPTURE(i);
      CAPTURE(before[i].explanation);
      CAPTURE(after[i].explanation);
      CHECK(after[i].verdict == before[i].verdict);
      CHECK(after[i].method == before[i].method);
      ++compared;
    }
  }
  CHECK(compared > 60);
}

TEST_CASE("export of a batch-signed envelope carries its batch signature and audit path, so it stays verifiable") {
  const auto key = core::ed25519_from_seed(std::string(32, 'b'));
  auto parsed = ooni::from_ooni(fixture("v04_http_diff"));
  REQUIRE(parsed.measurement);
  const json m = ooni::to_kuzet_measurement(*parsed.measurement, ooni::judge(*parsed.measurement, {}));
  const auto envelopes = envelope::sign_batch({m, m}, key);
  const auto o = ooni::envelope_to_ooni(envelopes[1].dump(), 7);
  CHECK(o["x_kuzet"]["signature"] == "");
  CHECK(o["x_kuzet"]["batch"] == envelopes[1]["batch"]);
  CHECK(o["x_kuzet"]["public_key"] == envelopes[1]["public_key"]);
  const auto single = ooni::envelope_to_ooni(envelope::sign(m, key).dump(), 8);
  CHECK(single["x_kuzet"]["signature"] != "");
  CHECK(single["x_kuzet"]["batch"].is_null());
}
