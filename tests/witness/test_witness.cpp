// The probe as a witness of a collector's log: unit tests of the judgement over a fake log API, and a fake
// collector on loopback that serves two inconsistent checkpoints: the probe keeps both as evidence, stops
// trusting the collector, and `kuzet-probe status` says so.
#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "probe/uplink/collector_client.hpp"
#include "probe/daemon/status.hpp"
#include "probe/witness/collector_log_api.hpp"
#include "probe/witness/witness.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tlog/note.hpp"

using namespace kuzet;
using namespace kuzet::probe::witness;
using kuzet::daemon_testing::Process;
using kuzet::daemon_testing::TempDir;

namespace {

// A log the test controls: entries appended to a tree, checkpoints signed on demand.
struct TestLog : tlog::HashSource {
  std::map<std::pair<int, uint64_t>, tlog::Hash> stored;
  tlog::Frontier frontier;
  void append(int n, const std::string& prefix) {
    for (int i = 0; i < n; ++i)
      for (const auto& s : frontier.append(tlog::leaf_hash(prefix + std::to_string(frontier.size()))))
        stored[{s.subtree.level, s.subtree.index}] = s.hash;
  }
  std::vector<tlog::Hash> read(const std::vector<tlog::Subtree>& subtrees) override {
    std::vector<tlog::Hash> out;
    for (const auto& s : subtrees) out.push_back(stored.at({s.level, s.index}));
    return out;
  }
  std::string checkpoint(const tlog::NoteSigner& signer) const {
    return tlog::sign_note(tlog::checkpoint_text({signer.name, frontier.size(), frontier.root(), {}}), signer);
  }
};

// The API a collector would serve, from whichever log the test points it at.
struct FakeApi : LogApi {
  std::string key_text;
  std::string note;
  TestLog* log = nullptr;
  bool reachable = true;
  std::optional<std::string> key(std::string* error) override {
    if (!reachable) *error = "upload.unreachable";
    return reachable ? std::optional(key_text) : std::nullopt;
  }
  std::optional<std::string> checkpoint(std::string* error) override {
    if (!reachable) *error = "upload.unreachable";
    return reachable ? std::optional(note) : std::nullopt;
  }
  std::optional<std::vector<tlog::Hash>> consistency(uint64_t from, uint64_t to, std::string* error) override {
    if (!reachable || to > log->frontier.size()) {
      *error = "unavailable";
      return std::nullopt;
    }
    return tlog::prove_consistency(from, to, *log);
  }
};

const tlog::NoteSigner kSigner = tlog::make_signer("collector.test/log", core::generate_ed25519());

}  // namespace

TEST_CASE("witness: first sight, growth proven consistent, unchanged") {
  TestLog log;
  log.append(10, "e");
  FakeApi api;
  api.key_text = tlog::verifier_key_text(tlog::verifier_of(kSigner)) + "\n";
  api.log = &log;
  api.note = log.checkpoint(kSigner);
  WitnessState state;
  state.collector = "http://collector.test";
  CHECK(observe(state, api, "t1") == Observation::first);
  CHECK(state.log_key == api.key_text.substr(0, api.key_text.size() - 1));
  CHECK(observe(state, api, "t2") == Observation::unchanged);
  log.append(300, "e");
  api.note = log.checkpoint(kSigner);
  CHECK(observe(state, api, "t3") == Observation::extended);
  CHECK(state.checkpoint == api.note);
  CHECK(state.checked_at == "t3");
  CHECK(state.trusted());
  // Unreachable, or a checkpoint by another key: nothing learned, nothing concluded.
  api.reachable = false;
  CHECK(observe(state, api, "t4") == Observation::unavailable);
  CHECK_FALSE(state.last_error.empty());
  api.reachable = true;
  api.note = log.checkpoint(tlog::make_signer("collector.test/log", core::generate_ed25519()));
  CHECK(observe(state, api, "t5") == Observation::unavailable);
  CHECK(state.trusted());
}

TEST_CASE("witness: a fork (same size, other root; or a larger tree that does not extend) is kept as evidence") {
  TestLog honest, forked;
  honest.append(20, "e");
  forked.append(12, "e");
  forked.append(8, "forked");  // same first 12 entries, then other ones
  FakeApi api;
  api.key_text = tlog::verifier_key_text(tlog::verifier_of(kSigner));
  api.log = &honest;
  api.note = honest.checkpoint(kSigner);
  WitnessState state;
  state.collector = "http://collector.test";
  REQUIRE(observe(state, api, "t1") == Observation::first);
  const std::string first = api.note;

  SUBCASE("same size, different root") {
    api.log = &forked;
    api.note = forked.checkpoint(kSigner);
    CHECK(observe(state, api, "t2") == Observation::conflict);
    CHECK(state.conflict == "fork");
  }
  SUBCASE("larger tree not extending the first") {
    forked.append(5, "forked");
    api.log = &forked;
    api.note = forked.checkpoint(kSigner);
    CHECK(observe(state, api, "t2") == Observation::conflict);
    CHECK(state.conflict == "fork");
  }
  SUBCASE("rewind") {
    TestLog shorter;
    shorter.append(15, "e");
    api.log = &shorter;
    api.note = shorter.checkpoint(kSigner);
    CHECK(observe(state, api, "t2") == Observation::conflict);
    CHECK(state.conflict == "rewind");
  }
  CHECK_FALSE(state.trusted());
  CHECK(state.evidence_earlier == first);
  CHECK(state.evidence_later == api.note);
  CHECK(state.conflict_found_at == "t2");
  // Both are signed by the log key: anyone can check the evidence.
  std::string error;
  const auto verifier = tlog::verifier_of(kSigner);
  CHECK(tlog::open_checkpoint(state.evidence_earlier, verifier, &error));
  CHECK(tlog::open_checkpoint(state.evidence_later, verifier, &error));
  // Evidence is never overwritten, even if the collector returns to the first history.
  api.log = &honest;
  api.note = first;
  CHECK(observe(state, api, "t3") == Observation::conflict);
  CHECK(state.conflict_found_at == "t2");
}

TEST_CASE("witness state: saved durably, reloaded, per collector") {
  TempDir dir;
  std::string error;
  auto fresh = load_state(dir.path.string(), "http://a.test", &error);
  REQUIRE(fresh);
  CHECK(fresh->collector == "http://a.test");
  fresh->checkpoint = "cp";
  fresh->conflict = "fork";
  REQUIRE(save_state(dir.path.string(), *fresh) == "");
  auto back = load_state(dir.path.string(), "http://a.test", &error);
  REQUIRE(back);
  CHECK(back->checkpoint == "cp");
  CHECK_FALSE(back->trusted());
  CHECK(load_state(dir.path.string(), "http://b.test", &error)->trusted());
  CHECK(load_all_states(dir.path.string()).size() == 1);
  {
    std::ofstream out(state_path(dir.path.string(), "http://c.test"));
    out << "{not json";
  }
  CHECK_FALSE(load_state(dir.path.string(), "http://c.test", &error));
}

TEST_CASE("a fake collector serving two inconsistent checkpoints: the probe reports the fork") {
  TestLog honest, forked;
  honest.append(40, "e");
  forked.append(30, "e");
  forked.append(20, "other");
  std::atomic<bool> fork{false};
  httplib::Server fake;
  fake.Get("/log/key", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(tlog::verifier_key_text(tlog::verifier_of(kSigner)) + "\n", "text/plain");
  });
  fake.Get("/log/checkpoint", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content((fork ? forked : honest).checkpoint(kSigner), "text/plain");
  });
  fake.Get("/log/consistency", [&](const httplib::Request& req, httplib::Response& res) {
    // A forked log can only offer a proof from its own tree, which does not match the honest checkpoint.
    TestLog& log = fork ? forked : honest;
    auto proof = tlog::prove_consistency(std::stoull(req.get_param_value("from")), std::stoull(req.get_param_value("to")), log);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& h : proof) list.push_back(tlog::hash_base64(h));
    res.set_content(nlohmann::json{{"proof", list}}.dump(), "application/json");
  });
  const int port = fake.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  std::thread thread([&] { fake.listen_after_bind(); });
  while (!fake.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string url = "http://127.0.0.1:" + std::to_string(port);

  TempDir dir;
  const std::string data_dir = dir.path.string();
  probe::uplink::CollectorClient client(url);
  CollectorLogApi api(client);
  std::string error;
  auto state = load_state(data_dir, url, &error);
  REQUIRE(state);
  CHECK(observe(*state, api, "2026-12-02T06:00:00.000Z") == Observation::first);
  REQUIRE(save_state(data_dir, *state) == "");
  fork = true;
  CHECK(observe(*state, api, "2026-12-02T06:05:00.000Z") == Observation::conflict);
  CHECK(state->conflict == "fork");
  REQUIRE(save_state(data_dir, *state) == "");
  fake.stop();
  thread.join();

  // What a human sees.
  probe::daemon::DaemonStatus status;
  REQUIRE(probe::daemon::write_status(data_dir, status) == "");
  Process st({KUZET_PROBE_BIN, "status", "--data-dir", data_dir}, dir.file("status"));
  auto exit = st.wait_exit(std::chrono::seconds(60));
  REQUIRE(exit);
  CHECK(WEXITSTATUS(*exit) == 0);
  const auto text = st.stdout_text();
  CHECK_MESSAGE(text.find("FORK DETECTED") != std::string::npos, text);
  CHECK(text.find("NOT TRUSTED") != std::string::npos);
  CHECK(text.find(url) != std::string::npos);
  Process js({KUZET_PROBE_BIN, "status", "--data-dir", data_dir, "--json"}, dir.file("status-json"));
  REQUIRE(js.wait_exit(std::chrono::seconds(60)));
  const auto j = nlohmann::json::parse(js.stdout_text());
  REQUIRE(j["witness"].size() == 1);
  CHECK(j["witness"][0]["conflict"] == "fork");
  CHECK(j["witness"][0]["evidence_earlier"] == honest.checkpoint(kSigner));
  CHECK(j["witness"][0]["evidence_later"] == forked.checkpoint(kSigner));
}
