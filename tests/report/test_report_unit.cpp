// kuzet_report on hand-made signed measurements: incidents, HTML escaping of hostile names, the bundle
// round trip and its verification (each tampering named), the i18n catalogs.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "core/crypto/crypto.hpp"
#include "i18n/embedded_report.hpp"
#include "i18n/i18n.hpp"
#include "reports/report/bundle.hpp"
#include "reports/report/html.hpp"
#include "reports/report/verify.hpp"
#include "tests/i18n_parity.hpp"
#include "tests/report/report_fixture.hpp"

using namespace kuzet;
using namespace kuzet::report;
using namespace kuzet::report::testing;

namespace {

// The build's order: gather the measurements with their proofs, then compute (the vantage points are read
// from the proofs' log entries).
Report make_report(const std::string& target, int probes = 3, const VantageOf& vantage_of = own_vantage,
                   Independence independence = Independence::vantage_points, size_t batch = 0) {
  Report r;
  r.params = scenario_params();
  r.params.independence = independence;
  r.generated_at_ms = kT0 + 86400000;
  r.source = "test";
  r.measurements = blocking_scenario(target, probes, batch);
  r.synthetic = "test";
  const auto logged = log_measurements(r.measurements, 5, vantage_of);
  r.checkpoint = logged.checkpoint;
  r.log_key = logged.log_key;
  r.computed = compute(r.params, r.measurements);
  return r;
}

}  // namespace

TEST_CASE("compute: the blocking is one incident with its evidence and distinct probes") {
  const Report r = make_report("web.whatsapp.com");
  REQUIRE(r.computed.incidents.size() == 1);
  const auto& inc = r.computed.incidents[0];
  CHECK(inc.incident.kind == "blocked");
  CHECK(inc.incident.id == "KZ.9198.blocked.20220102T0400Z.web.whatsapp.com");
  CHECK(inc.incident.start_ms == kT0 + 4 * 60 * kMinute);
  REQUIRE(inc.incident.end_ms.has_value());
  CHECK(*inc.incident.end_ms == kT0 + 8 * 60 * kMinute);
  CHECK(inc.distinct_probes == 3);
  CHECK(inc.incident.vantage_points == 3);
  CHECK(inc.confirmed);
  CHECK(inc.incident.confirmed);
  CHECK(inc.evidence.size() == 3 * 24);
  for (size_t i : inc.evidence) CHECK(r.measurements[i].verdict == "blocked");
}

TEST_CASE("compute: one probe alone is not confirmed") {
  const Report r = make_report("web.whatsapp.com", 1);
  REQUIRE(r.computed.incidents.size() == 1);
  CHECK_FALSE(r.computed.incidents[0].confirmed);
  CHECK(r.computed.incidents[0].distinct_probes == 1);
  const auto texts = i18n::Catalog::embedded(i18n::embedded::report, "en");
  const std::string html = render_html(r, texts, "");
  CHECK(html.find("KZ.9198.blocked") == std::string::npos);  // left out by default
  Report with = r;
  with.params.include_unconfirmed = true;
  CHECK(render_html(with, texts, "").find("data-id=\"KZ.9198.blocked.20220102T0400Z.web.whatsapp.com\"") != std::string::npos);
}

TEST_CASE("compute: three keys uploading from one vantage point are one, and not confirmed (issue 10)") {
  const Report r = make_report("web.whatsapp.com", 3, [](const Evidence&) { return std::string("5151515151515151"); });
  REQUIRE(r.computed.incidents.size() == 1);
  const auto& inc = r.computed.incidents[0];
  CHECK(inc.distinct_probes == 3);
  CHECK(inc.incident.vantage_points == 1);
  CHECK_FALSE(inc.confirmed);
  // Its confidence is scaled as the collector's API scales it: one of the two vantage points needed.
  const Report keys = make_report("web.whatsapp.com", 3, own_vantage);
  CHECK(inc.incident.confidence == doctest::Approx(keys.computed.incidents[0].incident.confidence / 2));
  // Left out of the report by default, and verify agrees with the build.
  const auto texts = i18n::Catalog::embedded(i18n::embedded::report, "en");
  CHECK(render_html(r, texts, "").find("data-id=\"KZ.9198.blocked") == std::string::npos);
  const auto v = verify_bundle(bundle_json(r), r.log_key);
  CAPTURE(all_failures(v));
  CHECK(v.ok());
}

TEST_CASE("compute: two keys from two places confirm; a key's measurements that support no vantage point do not") {
  // Probe 0 and 1 upload from their own places; probe 2's claimed network was contradicted ("" in its entry).
  const auto third_key = blocking_scenario("x.example", 3).back().key_id;
  auto vantage_of = [&](const Evidence& e) { return e.key_id == third_key ? std::string() : e.key_id; };
  Report r = make_report("web.whatsapp.com", 3, vantage_of);
  REQUIRE(r.computed.incidents.size() == 1);
  CHECK(r.computed.incidents[0].incident.vantage_points == 2);
  CHECK(r.computed.incidents[0].confirmed);
  // Without proofs nothing says where a measurement came from: no vantage point, nothing confirmed.
  for (auto& e : r.measurements) e.proof.reset();
  const auto bare = compute(r.params, r.measurements);
  REQUIRE(bare.incidents.size() == 1);
  CHECK(bare.incidents[0].incident.vantage_points == 0);
  CHECK_FALSE(bare.incidents[0].confirmed);
}

TEST_CASE("vantage_point_of: only an entry that is this measurement's counts") {
  const Report r = make_report("web.whatsapp.com");
  CHECK(vantage_point_of(r.measurements[3]) == r.measurements[3].key_id);
  Evidence other = r.measurements[3];
  other.proof = r.measurements[4].proof;
  CHECK(vantage_point_of(other).empty());
  Evidence v1 = r.measurements[3];
  v1.proof->entry = tlog::encode_entry({v1.uid, v1.sha256, v1.key_id, v1.started_at_ms, v1.started_at_ms, "", "", 1});
  CHECK(vantage_point_of(v1).empty());
}

TEST_CASE("html: a hostile target name and network name are escaped everywhere") {
  const std::string hostile = "x\"'><script>alert(1)</script><img src=x onerror=alert(2)>.example";
  const Report r = make_report(hostile);
  REQUIRE(r.computed.incidents.size() == 1);
  for (const char* lang : {"en", "ru", "kk"}) {
    CAPTURE(lang);
    const auto texts = i18n::Catalog::embedded(i18n::embedded::report, lang);
    const std::string html = render_html(r, texts, "https://c.example/<x>");
    CHECK(html.find("<script") == std::string::npos);
    CHECK(html.find("<img") == std::string::npos);
    CHECK(html.find("<b>Telecom") == std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("&lt;b&gt;Telecom&lt;/b&gt;") != std::string::npos);
    CHECK(html.find("https://c.example/&lt;x&gt;") != std::string::npos);
    // The synthetic label is on the page and in every printed page's margin.
    CHECK(html.find("data-synthetic=\"test\"") != std::string::npos);
    CHECK(html.find("@top-center") != std::string::npos);
  }
}

TEST_CASE("packet evidence: read from the signed record, shown in words in every language, escaped") {
  // Parsed from observations.packet_evidence; a malformed finding is left out, the record stays evidence.
  nlohmann::json m{{"schema", "kuzet.measurement/1"}, {"measurement_uid", "u1"}, {"target", "x.example"},
                   {"category", "news"}, {"spec", "test/unit"}, {"started_at", "2022-01-02T05:00:00Z"},
                   {"verdict", "blocked"}, {"method", "tls.reset"}, {"network", {{"cc", "KZ"}, {"asn", 9198}}},
                   {"observations", {{"packet_evidence", nlohmann::json::array({
                        {{"kind", "rst_injection"}, {"peer", "<i>203.0.113.5:443"}, {"signs", {"ttl", "data_after_rst", "new_sign"}},
                         {"rst_ttl", 64}},
                        {{"peer", "no kind"}}})}}}};
  std::string error;
  const auto e = evidence_from_envelope(envelope::sign(m, core::ed25519_from_seed(std::string(32, 'k'))).dump(),
                                        kT0 + 86400000, &error);
  CHECK(error == "");
  REQUIRE(e.packet_findings.size() == 1);
  CHECK(e.packet_findings[0].rst_ttl == 64);

  Report r = make_report("web.whatsapp.com");
  REQUIRE(r.computed.incidents.size() == 1);
  auto& shown = r.measurements[r.computed.incidents[0].evidence.at(0)];
  shown.packet_findings = e.packet_findings;
  packets::PacketFinding dns;
  dns.kind = "dns_injection";
  dns.query_name = "web.whatsapp.com";
  dns.injected_answers = {"A 31.13.72.9"};
  dns.genuine_answers = {"A 157.240.1.53"};
  dns.signs = {"answers_differ", "ip_id"};
  shown.packet_findings.push_back(dns);
  const std::map<std::string, std::vector<std::string>> expected = {
      {"en", {"was forged, not sent by the server", "its TTL differs", "the server kept sending after it",
              "31.13.72.9 raced the resolver", "IP ID is outside"}},
      {"ru", {"подделан, сервер его не отправлял", "TTL не как у пакетов", "31.13.72.9 опередил"}},
      {"kk", {"жалған, оны сервер жібермеген", "TTL жіберушінің", "31.13.72.9 резолвердің"}}};
  for (const auto& [lang, phrases] : expected) {
    CAPTURE(lang);
    const std::string html = render_html(r, i18n::Catalog::embedded(i18n::embedded::report, lang), "https://c.example");
    for (const auto& p : phrases) CHECK(html.find(p) != std::string::npos);
    CHECK(html.find("&lt;i&gt;203.0.113.5:443") != std::string::npos);
    CHECK(html.find("<i>203") == std::string::npos);
    CHECK(html.find("new_sign") == std::string::npos);
  }
}

TEST_CASE("html escape") {
  CHECK(html_escape("a&b<c>\"d'") == "a&amp;b&lt;c&gt;&quot;d&#39;");
  CHECK(html_escape("Қазақ") == "Қазақ");
}

TEST_CASE("i18n: en, ru and kk have the same keys; fallback and placeholders") {
  // A translation keeps the placeholders and the option names of the English text.
  kuzet::testing::check_translations(i18n::embedded::report, /*all_translated=*/false);
  const auto en = i18n::Catalog::parse(i18n::embedded::report("en"));
  CHECK_THROWS_AS(i18n::Catalog::embedded(i18n::embedded::report, "de"), std::invalid_argument);
  auto c = i18n::Catalog::parse(R"({"a": "Hello {name}, {name}! {other}"})");
  c.fill_from(i18n::Catalog::parse(R"({"a": "no", "b": "from English"})"));
  CHECK(c.format("a", {{"name", "<x>"}}) == "Hello <x>, <x>! {other}");
  CHECK(c.text("b") == "from English");
  CHECK(c.text("missing.key") == "missing.key");
  CHECK_THROWS_AS(i18n::Catalog::parse("[1]"), std::invalid_argument);
  CHECK_THROWS_AS(i18n::Catalog::parse(R"({"a": 1})"), std::invalid_argument);
  // Every method of the closed vocabulary has words in every language.
  for (const char* m : {"dns.nxdomain", "dns.bogon", "dns.hijack", "dns.timeout", "tcp.timeout", "tcp.reset",
                        "tcp.refused", "tls.reset", "tls.timeout", "tls.eof", "tls.mitm", "http.reset", "http.timeout",
                        "http.eof", "http.blockpage", "throughput"})
    CHECK(en.has(std::string("method.") + m));
}

TEST_CASE("bundle: round trip, and verify recomputes the same incidents") {
  const Report r = make_report("web.whatsapp.com");
  const std::string text = bundle_json(r);
  const auto parsed = parse_bundle(text);
  CHECK(parsed.report.params == r.params);
  CHECK(parsed.report.measurements.size() == r.measurements.size());
  CHECK(parsed.report.measurements[5].envelope == r.measurements[5].envelope);
  const auto v = verify_bundle(text, r.log_key);
  CAPTURE(all_failures(v));
  CHECK(v.ok());
  CHECK(v.warnings.empty());
  CHECK(v.incidents == 1);
  CHECK(v.measurements == r.measurements.size());
  CHECK(v.proofs == r.measurements.size());
  // Without --log-key the bundle's own key is used, with a warning.
  const auto self = verify_bundle(text, "");
  CHECK(self.ok());
  REQUIRE(self.warnings.size() == 1);
  CHECK(self.warnings[0].find("self-asserted") != std::string::npos);
}

TEST_CASE("bundle: batch-signed measurements verify one by one, and a batch may be shown in part") {
  Report r = make_report("web.whatsapp.com", 3, own_vantage, Independence::vantage_points, 16);
  REQUIRE(r.measurements.size() > 100);
  size_t batch_signed = 0;
  for (const auto& e : r.measurements) batch_signed += e.envelope.find("\"batch\":{") != std::string::npos;
  CHECK(batch_signed == r.measurements.size());
  const std::string text = bundle_json(r);
  const auto v = verify_bundle(text, r.log_key);
  CAPTURE(all_failures(v));
  CHECK(v.ok());
  CHECK(v.incidents == 1);
  CHECK(v.proofs == r.measurements.size());

  // A bundle with only some measurements of each batch still verifies (the incident it claims is recomputed
  // from what it holds).
  Report part = r;
  part.measurements.clear();
  for (size_t i = 0; i < r.measurements.size(); i += 3) part.measurements.push_back(r.measurements[i]);
  part.computed = compute(part.params, part.measurements);
  const auto vp = verify_bundle(bundle_json(part), r.log_key);
  CAPTURE(all_failures(vp));
  CHECK(vp.ok());
  CHECK(vp.proofs == part.measurements.size());

  // One hash of one measurement's audit path changed: that measurement, and only it, fails its signature.
  std::string t = text;
  const auto& victim = r.measurements[40];
  const size_t env = t.find(victim.uid);
  REQUIRE(env != std::string::npos);
  const size_t path = t.rfind("audit_path\\\":[\\\"", env);  // "batch" comes before "measurement"
  REQUIRE(path != std::string::npos);
  const size_t hash = path + std::string("audit_path\\\":[\\\"").size();
  t[hash] = t[hash] == 'A' ? 'B' : 'A';
  const auto vt = verify_bundle(t, r.log_key);
  CAPTURE(all_failures(vt));
  CHECK_FALSE(vt.ok());
  CHECK(has_failure(vt, victim.uid + ": envelope does not verify (bad_signature)"));
}

TEST_CASE("bundle: without a log nothing is shown to be logged") {
  Report r = make_report("web.whatsapp.com");
  r.checkpoint.clear();
  for (auto& e : r.measurements) e.proof.reset();
  const auto v = verify_bundle(bundle_json(r), "");
  CHECK_FALSE(v.ok());
  CHECK(has_failure(v, "log: the bundle has no checkpoint"));
}

TEST_CASE("bundle: tampering is found and named") {
  const Report r = make_report("web.whatsapp.com");
  const std::string text = bundle_json(r);
  const auto& victim = r.measurements[40];

  SUBCASE("a byte of a measurement") {
    std::string t = text;
    const size_t env = t.find(victim.uid);
    REQUIRE(env != std::string::npos);
    const size_t at = t.find("\\\"target\\\":\\\"web.whatsapp.com", env);
    REQUIRE(at != std::string::npos);
    t[at + 14] = 'W';  // web -> Web inside the signed measurement
    const auto v = verify_bundle(t, r.log_key);
    CAPTURE(all_failures(v));
    CHECK(has_failure(v, "measurements[40] " + victim.uid + ": envelope does not verify (bad_signature)"));
  }
  SUBCASE("an incident's confidence") {
    std::string t = text;
    const size_t at = t.find("\"confidence\": ");
    REQUIRE(at != std::string::npos);
    t.replace(at, t.find(',', at) - at, "\"confidence\": 0.5");
    const auto v = verify_bundle(t, r.log_key);
    CAPTURE(all_failures(v));
    CHECK(has_failure(v, "incident KZ.9198.blocked.20220102T0400Z.web.whatsapp.com: differs"));
  }
  SUBCASE("a measurement dropped") {
    auto copy = r;
    const size_t first = copy.computed.incidents[0].evidence.front();
    copy.measurements.erase(copy.measurements.begin() + static_cast<long>(first));
    // The claimed incidents stay the originals: their evidence no longer follows.
    std::string t = bundle_json(copy);
    const auto v = verify_bundle(t, r.log_key);
    CAPTURE(all_failures(v));
    CHECK(has_failure(v, "incident KZ.9198.blocked.20220102T0400Z.web.whatsapp.com: differs"));
  }
  SUBCASE("a hash of an inclusion proof") {
    std::string t = text;
    const size_t line = t.find("\"tlog_proof\"", t.find(victim.uid));
    const std::string index_line = "\\nindex 45\\n";  // as JSON escapes the tlog-proof's newlines
    const size_t at = t.find(index_line, line);
    REQUIRE(at != std::string::npos);
    const size_t c = at + index_line.size();
    t[c] = t[c] == 'A' ? 'B' : 'A';
    const auto v = verify_bundle(t, r.log_key);
    CAPTURE(all_failures(v));
    CHECK(v.failures.size() == 1);
    CHECK(has_failure(v, "measurement " + victim.uid + ": inclusion proof (index 45) does not lead to the checkpoint's root"));
  }
  SUBCASE("a log index") {
    auto copy = r;
    copy.measurements[40].proof->index += 1;
    const auto v = verify_bundle(bundle_json(copy), r.log_key);
    CHECK(has_failure(v, "measurement " + victim.uid + ": inclusion proof (index 46)"));
  }
  SUBCASE("the log entry of another measurement") {
    auto copy = r;
    copy.measurements[40].proof = copy.measurements[41].proof;
    const auto v = verify_bundle(bundle_json(copy), r.log_key);
    CHECK(has_failure(v, "measurement " + victim.uid + ": the log entry is not this envelope's (measurement_uid envelope_sha256"));
  }
  SUBCASE("a byte of the checkpoint") {
    std::string t = text;
    const size_t at = t.find("kuzet.example.org/log\\n");
    REQUIRE(at != std::string::npos);
    const size_t size_digit = at + std::string("kuzet.example.org/log\\n").size();
    t[size_digit] = t[size_digit] == '9' ? '8' : static_cast<char>(t[size_digit] + 1);
    const auto v = verify_bundle(t, r.log_key);
    CAPTURE(all_failures(v));
    CHECK(has_failure(v, "checkpoint: does not verify under the log key"));
    // Every tlog-proof still carries the signed checkpoint: they no longer match the bundle's.
    CHECK(has_failure(v, "log: the tlog-proofs of " + std::to_string(r.measurements.size()) + " measurements end in "
                         "another checkpoint than the bundle's"));
    CHECK(v.failures.size() == 2);
  }
  SUBCASE("another log key") {
    const auto other = tlog::verifier_key_text(
        tlog::verifier_of(tlog::make_signer("kuzet.example.org/log", core::ed25519_from_seed(std::string(32, 'M')))));
    const auto v = verify_bundle(text, other);
    CAPTURE(all_failures(v));
    CHECK(has_failure(v, "checkpoint: does not verify under the log key"));
    CHECK(verify_bundle(text, "not a key").failures.front().find("--log-key: not a verifier key") == 0);
  }
  SUBCASE("a tlog-proof ending in another checkpoint") {
    auto copy = r;
    auto other = copy;
    const auto relogged = log_measurements(other.measurements, 6);
    copy.measurements[40].proof = other.measurements[40].proof;
    const auto v = verify_bundle(bundle_json(copy), r.log_key);
    CAPTURE(all_failures(v));
    CHECK(v.failures.size() == 1);
    CHECK(has_failure(v, "log: the tlog-proofs of 1 measurements end in another checkpoint than the bundle's (the "
                         "first: measurement " + victim.uid + ")"));
    CHECK(relogged.checkpoint != r.checkpoint);
  }
  SUBCASE("a tlog-proof that is not one") {
    std::string t = text;
    const size_t at = t.find("c2sp.org/tlog-proof@v1", t.find(victim.uid));
    REQUIRE(at != std::string::npos);
    t[at + 21] = '2';  // @v2
    const auto v = verify_bundle(t, r.log_key);
    REQUIRE(v.failures.size() == 1);
    CHECK(v.failures[0] == "measurements[40].tlog_proof: tlog-proof does not start with c2sp.org/tlog-proof@v1");
  }
  SUBCASE("an incident left out") {
    auto copy = r;
    copy.computed.incidents.clear();
    const auto v = verify_bundle(bundle_json(copy), r.log_key);
    CHECK(has_failure(v, "follows from the measurements but the report omits it"));
  }
  SUBCASE("a vantage point changed in a log entry") {
    // The tag is inside the logged bytes: a report cannot claim other vantage points than the log's.
    auto copy = r;
    auto& p = *copy.measurements[40].proof;
    const size_t at = p.entry.find(victim.key_id, p.entry.find("vantage_point"));
    REQUIRE(at != std::string::npos);
    p.entry.replace(at, 16, "7777777777777777");
    const auto v = verify_bundle(bundle_json(copy), r.log_key);
    CAPTURE(all_failures(v));
    CHECK(has_failure(v, "measurement " + victim.uid + ": inclusion proof (index 45) does not lead to the checkpoint's root"));
  }
  SUBCASE("a measurement twice") {
    auto copy = r;
    copy.measurements.push_back(copy.measurements[3]);
    const auto v = verify_bundle(bundle_json(copy), r.log_key);
    CHECK(has_failure(v, "the same measurement twice"));
  }
}

TEST_CASE("bundle parser: bounded and strict") {
  CHECK_THROWS_AS(parse_bundle("not json"), std::invalid_argument);
  CHECK_THROWS_AS(parse_bundle("[]"), std::invalid_argument);
  CHECK_THROWS_AS(parse_bundle(std::string(100, '[') + std::string(100, ']')), std::invalid_argument);
  CHECK_THROWS_AS(parse_bundle(R"({"format": "other"})"), std::invalid_argument);
  const Report r = make_report("a.example");
  std::string text = bundle_json(r);
  CHECK_NOTHROW(parse_bundle(text));
  std::string no_params = text;
  no_params.replace(no_params.find("\"params\""), 8, "\"paramz\"");
  CHECK_THROWS_WITH_AS(parse_bundle(no_params), "bundle: no \"params\"", std::invalid_argument);
  const auto v = verify_bundle(std::string(64, '{'), "");
  REQUIRE(v.failures.size() == 1);
  CHECK(v.failures[0].find("bundle:") == 0);
}

TEST_CASE("bundle: format /2 (confirmation by distinct keys) is still read and verified by its own rule") {
  // A /2 bundle of three keys logged from one place: confirmed then, and its incidents still follow.
  const Report r = make_report("web.whatsapp.com", 3, [](const Evidence&) { return std::string("5151515151515151"); },
                               Independence::probe_keys);
  REQUIRE(r.computed.incidents.size() == 1);
  CHECK(r.computed.incidents[0].confirmed);
  auto j = nlohmann::json::parse(bundle_json(r));
  j["format"] = "kuzet.report-bundle/2";
  const auto v = verify_bundle(j.dump(), r.log_key);
  CAPTURE(all_failures(v));
  CHECK(v.ok());
  CHECK(parse_bundle(j.dump()).report.params.independence == Independence::probe_keys);
  // The same claims under /3 do not follow: one vantage point does not confirm.
  j["format"] = "kuzet.report-bundle/3";
  CHECK(has_failure(verify_bundle(j.dump(), r.log_key), "incident KZ.9198.blocked.20220102T0400Z.web.whatsapp.com: differs"));
}

TEST_CASE("bundle: format /1 (proofs as JSON fields) is still read and verified") {
  const Report r = make_report("web.whatsapp.com", 3, own_vantage, Independence::probe_keys);
  auto j = nlohmann::json::parse(bundle_json(r));
  j["format"] = "kuzet.report-bundle/1";
  for (size_t i = 0; i < r.measurements.size(); ++i) {
    const auto& p = *r.measurements[i].proof;
    nlohmann::json hashes = nlohmann::json::array();
    for (const auto& h : p.inclusion) hashes.push_back(core::base64_encode(h));
    j["measurements"][i].erase("tlog_proof");
    j["measurements"][i]["log"] = {{"index", p.index}, {"inclusion", hashes}, {"entry", core::base64_encode(p.entry)}};
  }
  const auto v = verify_bundle(j.dump(), r.log_key);
  CAPTURE(all_failures(v));
  CHECK(v.ok());
  CHECK(v.proofs == r.measurements.size());
  j["measurements"][40]["log"]["index"] = 46;
  CHECK(all_failures(verify_bundle(j.dump(), r.log_key)) ==
        "measurement " + r.measurements[40].uid + ": inclusion proof (index 46) does not lead to the checkpoint's root\n");
}
