// kuzet-report build --db: the inclusion proofs come from the collector's database itself (its stored
// entries, hashes and last signed checkpoint) and the log's public key from its key file; `verify` passes on
// such a bundle exactly as on one built from the API, and fails when it is tampered with.
#include <doctest/doctest.h>

#include <fstream>

#include "collector/log/checkpointer.hpp"
#include "collector/log/log_key.hpp"
#include "collector/store/store.hpp"
#include "reports/report/bundle.hpp"
#include "reports/report/gather.hpp"
#include "reports/report/verify.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/report/report_fixture.hpp"

using namespace kuzet;
using namespace kuzet::report;
using namespace kuzet::report::testing;

namespace {

collector::NewMeasurement row_of(const Evidence& e) {
  collector::NewMeasurement m;
  m.uid = e.uid;
  m.envelope = e.envelope;
  m.content_hash = e.sha256;
  m.key_id = e.key_id;
  m.started_at_ms = e.started_at_ms;
  m.received_at_ms = e.started_at_ms + 3000;
  m.cc = e.cc;
  m.asn = e.asn;
  m.target = e.target;
  m.category = e.category;
  m.verdict = e.verdict;
  m.method = e.method;
  m.vantage = e.key_id;  // each probe uploads from its own place
  m.network_check = "match";
  return m;
}

// A collector database holding the scenario after a few unrelated measurements, and its log key file.
struct CollectorDb {
  collector::testing::TempDir dir;
  std::string db = dir.file("collector.db");
  std::string key_file = collector::log::default_log_key_path(db);
  std::vector<Evidence> scenario = blocking_scenario("web.whatsapp.com");
  std::unique_ptr<collector::Store> store = collector::open_sqlite_store(db);
  tlog::NoteSigner signer = collector::log::load_or_create_log_key(key_file, "kuzet.test/log");

  CollectorDb() {
    // Measurements from long before the report's period first: the scenario's log indexes do not start at 0.
    std::vector<collector::NewMeasurement> rows;
    const auto key = core::ed25519_from_seed(std::string(32, 'o'));
    for (int i = 0; i < 7; ++i) {
      std::string error;
      rows.push_back(row_of(evidence_from_envelope(
          signed_measurement(key, kT0 - 60 * 24 * 60 * kMinute + i * kMinute, "signal.org", "ok", "", 50000 + i),
          kT0, &error)));
      REQUIRE(error.empty());
    }
    for (const auto& e : scenario) rows.push_back(row_of(e));
    store->insert_batch(rows);
  }
  // What kuzet-collector serve does when it starts: sign a checkpoint of the stored log.
  void sign() { collector::log::Checkpointer signing(*store, signer, std::chrono::seconds(60)); }
};

Report report_from(const Gathered& g) {
  Report r;
  r.params = scenario_params();
  r.generated_at_ms = kT0 + 86400000;
  r.source = "database collector.db";
  r.measurements = g.measurements;
  r.checkpoint = g.checkpoint;
  r.log_key = g.log_key;
  r.synthetic = "test";
  r.computed = compute(r.params, r.measurements);
  return r;
}

}  // namespace

TEST_CASE("build --db: proofs against the stored checkpoint, the key file's public half; verify passes") {
  CollectorDb c;
  c.sign();
  const Gathered g = gather_from_db(c.db, scenario_params(), kT0 + 86400000);
  CAPTURE(g.warnings.size());
  CHECK(g.warnings.empty());
  REQUIRE(g.measurements.size() == c.scenario.size());
  const auto stored_note = c.store->latest_checkpoint();
  REQUIRE(stored_note);
  CHECK(g.checkpoint == *stored_note);
  const std::string verifier = tlog::verifier_key_text(tlog::verifier_of(c.signer));
  CHECK(g.log_key == verifier);
  for (const auto& e : g.measurements) {
    REQUIRE(e.proof);
    CHECK(e.proof->index >= 7);
    CHECK(e.proof->checkpoint == g.checkpoint);
    CHECK(e.proof->index == *c.store->log_index(e.uid));
  }
  const std::string text = bundle_json(report_from(g));
  // Only the public key goes in the bundle.
  const std::string private_text = tlog::signer_key_text(c.signer);
  // "PRIVATE+KEY+<name>+<8 hex>+<base64 of the seed>": the seed's base64 is nowhere in the bundle.
  const std::string seed_base64 = private_text.substr(std::string("PRIVATE+KEY+").size() + c.signer.name.size() + 10);
  REQUIRE(seed_base64.size() == 44);
  CHECK(text.find(seed_base64) == std::string::npos);
  CHECK(text.find("PRIVATE+KEY") == std::string::npos);

  const auto v = verify_bundle(text, verifier);
  CAPTURE(all_failures(v));
  CHECK(v.ok());
  CHECK(v.warnings.empty());
  CHECK(v.proofs == c.scenario.size());
  CHECK(v.incidents == 1);
  // The vantage points come from the stored log's entries: the three probes' places confirm the incident.
  const Report r = report_from(g);
  REQUIRE(r.computed.incidents.size() == 1);
  CHECK(r.computed.incidents[0].incident.vantage_points == 3);
  CHECK(r.computed.incidents[0].confirmed);

  SUBCASE("a tampered proof fails") {
    std::string t = text;
    const std::string index_line = "\\nindex " + std::to_string(g.measurements[10].proof->index) + "\\n";
    const size_t at = t.find(index_line, t.find(g.measurements[10].uid)) + index_line.size();
    t[at] = t[at] == 'A' ? 'B' : 'A';
    const auto bad = verify_bundle(t, verifier);
    CHECK(all_failures(bad) == "measurement " + g.measurements[10].uid + ": inclusion proof (index " +
                                  std::to_string(g.measurements[10].proof->index) +
                                  ") does not lead to the checkpoint's root\n");
  }
  SUBCASE("another log's key fails") {
    const auto other = tlog::verifier_key_text(
        tlog::verifier_of(tlog::make_signer("kuzet.test/log", core::ed25519_from_seed(std::string(32, 'z')))));
    CHECK(all_failures(verify_bundle(text, other)).find("checkpoint: does not verify under the log key") == 0);
  }
}

TEST_CASE("build --db: the key from --log-key, as the private key file or the public verifier key") {
  CollectorDb c;
  c.sign();
  const std::string moved = c.dir.file("elsewhere.key");
  std::filesystem::rename(c.key_file, moved);
  const std::string verifier = tlog::verifier_key_text(tlog::verifier_of(c.signer));
  CHECK(gather_from_db(c.db, scenario_params(), kT0 + 86400000, moved).log_key == verifier);
  const std::string public_file = c.dir.file("public.key");
  std::ofstream(public_file) << verifier << "\n";
  CHECK(gather_from_db(c.db, scenario_params(), kT0 + 86400000, public_file).log_key == verifier);

  // Without a key the proofs are still there; the bundle names no key and verify needs one given.
  const Gathered g = gather_from_db(c.db, scenario_params(), kT0 + 86400000);
  CHECK(g.log_key.empty());
  REQUIRE(g.warnings.size() == 1);
  CHECK(g.warnings[0].find("no log key at " + c.key_file) == 0);
  const std::string text = bundle_json(report_from(g));
  CHECK(verify_bundle(text, verifier).ok());
  CHECK_FALSE(verify_bundle(text, "").ok());

  // A key that did not sign the checkpoint is refused at build time, as is a missing file asked for.
  const std::string wrong = c.dir.file("wrong.key");
  std::ofstream(wrong) << tlog::verifier_key_text(tlog::verifier_of(
                              tlog::make_signer("kuzet.test/log", core::ed25519_from_seed(std::string(32, 'w')))))
                       << "\n";
  CHECK_THROWS_WITH_AS(gather_from_db(c.db, scenario_params(), kT0 + 86400000, wrong),
                       doctest::Contains("does not verify with the log key"), std::runtime_error);
  CHECK_THROWS_WITH_AS(gather_from_db(c.db, scenario_params(), kT0 + 86400000, c.dir.file("none.key")),
                       doctest::Contains("cannot read the log key"), std::runtime_error);
}

TEST_CASE("build --db: measurements logged after the last checkpoint, or no checkpoint at all") {
  CollectorDb c;
  SUBCASE("no checkpoint yet: no proofs, said so; verify fails") {
    const Gathered g = gather_from_db(c.db, scenario_params(), kT0 + 86400000);
    CHECK(g.checkpoint.empty());
    REQUIRE(g.warnings.size() == 1);
    CHECK(g.warnings[0].find("has not signed a checkpoint") != std::string::npos);
    const auto v = verify_bundle(bundle_json(report_from(g)), "");
    CHECK(all_failures(v) == "log: the bundle has no checkpoint, so no measurement is shown to be in a log\n");
  }
  SUBCASE("later measurements have no proof; verify names them") {
    c.sign();
    std::string error;
    auto key = core::ed25519_from_seed(std::string(32, 'x'));
    const Evidence late = evidence_from_envelope(
        signed_measurement(key, kT0 + 11 * 60 * kMinute, "web.whatsapp.com", "ok", "", 9999), kT0 + 86400000, &error);
    REQUIRE(error.empty());
    c.store->insert_batch({row_of(late)});
    const Gathered g = gather_from_db(c.db, scenario_params(), kT0 + 86400000);
    REQUIRE(g.warnings.size() == 1);
    CHECK(g.warnings[0].find("1 measurements were logged after the last signed checkpoint") == 0);
    const auto v = verify_bundle(bundle_json(report_from(g)), g.log_key);
    CHECK(all_failures(v) == "measurement " + late.uid + ": no inclusion proof\n");
    c.sign();
    const Gathered again = gather_from_db(c.db, scenario_params(), kT0 + 86400000);
    CHECK(again.warnings.empty());
    CHECK(verify_bundle(bundle_json(report_from(again)), again.log_key).ok());
  }
}

TEST_CASE("build --db: a database without the log (schema 2) gives a bundle without proofs, said so") {
  collector::testing::TempDir dir;
  const std::string db = dir.file("old.db");
  {
    auto store = collector::open_sqlite_store(db, 2);
    std::vector<collector::NewMeasurement> rows;
    for (const auto& e : blocking_scenario("web.whatsapp.com")) rows.push_back(row_of(e));
    store->insert_batch(rows);
  }
  const Gathered g = gather_from_db(db, scenario_params(), kT0 + 86400000);
  CHECK(g.measurements.size() == 216);
  CHECK(g.checkpoint.empty());
  REQUIRE(g.warnings.size() == 1);
  CHECK(g.warnings[0].find("predates the transparency log") != std::string::npos);
}
