// The kuzet-probe daemon binary against the real kuzet-collector binary, all on 127.0.0.1:
// the collector down for a while and back (with kill -9 of the daemon during uploads), SIGTERM during a
// run, the shutdown pace and restoration, export -> import, config errors and SIGHUP.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <set>

#include "tests/daemon/daemon_fixture.hpp"

using namespace kuzet::daemon_testing;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Process> start_daemon(const TempDir& dir, const std::string& config, const std::string& log = "daemon") {
  return std::make_unique<Process>(
      std::vector<std::string>{KUZET_PROBE_BIN, "daemon", "--config", config, "--retry-initial", "200ms",
                               "--retry-max", "1s"},
      dir.file(log));
}

// Every expected measurement is at the collector, byte for byte the envelope that was queued (so its
// started_at is the original measurement time). Returns how many are there.
size_t count_delivered(const CollectorProcess& collector, const std::map<std::string, json>& expected) {
  size_t n = 0;
  for (const auto& [uid, envelope] : expected)
    if (collector.measurement(uid)) ++n;
  return n;
}

void check_delivered_exactly(const CollectorProcess& collector, const std::map<std::string, json>& expected) {
  for (const auto& [uid, envelope] : expected) {
    auto stored = collector.measurement(uid);
    REQUIRE_MESSAGE(stored.has_value(), "measurement " << uid << " never arrived");
    CHECK(stored->at("measurement").at("started_at") == envelope.at("measurement").at("started_at"));
    CHECK(*stored == envelope);
  }
}

std::vector<std::string> closed_targets(size_t n) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) out.push_back("http://127.0.0.1:" + std::to_string(unused_loopback_port()) + "/closed" + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("collector down for a while, then back; kill -9 during uploads: everything arrives, with its time") {
  TempDir dir;
  TargetServer target;
  const uint16_t collector_port = unused_loopback_port();
  DaemonConfig c;
  c.collectors = {"http://127.0.0.1:" + std::to_string(collector_port) + "/"};
  c.targets = {target.url()};
  for (auto& t : closed_targets(5)) c.targets.push_back(t);
  c.data_dir = dir.file("data");
  c.batch_size = 1;  // one request per result: uploads take long enough to be killed in the middle
  const auto config = write_config(dir, c);

  // Phase 1: no collector. The daemon keeps measuring and queueing.
  auto daemon = start_daemon(dir, config);
  REQUIRE_MESSAGE(wait_for([&] { return runs_of(c.data_dir) >= 5; }, 180s), daemon->stderr_text());
  daemon->signal(SIGTERM);
  auto exit = daemon->wait_exit(120s);
  REQUIRE(exit.has_value());
  CHECK(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
  auto status = status_of(c.data_dir);
  REQUIRE(status);
  CHECK_FALSE(status->running);
  CHECK(status->upload_failures_in_row > 0);
  REQUIRE(status->last_upload.has_value());
  CHECK(status->last_upload->failure == "upload.unreachable");
  const auto expected = queued(c.data_dir);
  CHECK(expected.size() == status->runs * c.targets.size());  // a clean stop lost no run
  CHECK(status->queue.records == expected.size());

  // `status` reads it back for a human.
  {
    Process st({KUZET_PROBE_BIN, "status", "--config", config}, dir.file("status"));
    auto e = st.wait_exit(60s);
    REQUIRE(e.has_value());
    CHECK(WEXITSTATUS(*e) == 0);
    const auto text = st.stdout_text();
    CHECK(text.find("stopped") != std::string::npos);
    CHECK(text.find("\nqueue:        " + std::to_string(expected.size()) + " results waiting") != std::string::npos);
    CHECK(text.find("upload.unreachable") != std::string::npos);
    CHECK(text.find("key:") != std::string::npos);
  }
  // ... and in the volunteer's language (LC_ALL wins over LANG), with the values still lined up.
  {
    const char* saved = std::getenv("LC_ALL");
    const std::string old_lc_all = saved ? saved : "";
    ::setenv("LC_ALL", "ru_RU.UTF-8", 1);
    Process st({KUZET_PROBE_BIN, "status", "--config", config}, dir.file("status-ru"));
    saved ? ::setenv("LC_ALL", old_lc_all.c_str(), 1) : ::unsetenv("LC_ALL");
    auto e = st.wait_exit(60s);
    REQUIRE(e.has_value());
    CHECK(WEXITSTATUS(*e) == 0);
    const auto text = st.stdout_text();
    CHECK(text.find("демон:") == 0);
    CHECK(text.find("остановлен") != std::string::npos);
    CHECK(text.find("результатов ждут отправки: " + std::to_string(expected.size())) != std::string::npos);
    CHECK(text.find("results waiting") == std::string::npos);
    // Every value starts in the same column, counted in characters: "последняя отправка:" is the widest label.
    CHECK_MESSAGE(text.find("\nочередь:            результатов") != std::string::npos, text);
  }

  // Phase 2: the collector is back. The daemon uploads at once (its first run comes later: jitter);
  // it is killed with SIGKILL three times while uploading, then left to finish.
  c.interval_s = 20;
  c.jitter_s = 20;
  write_config(dir, c);
  CollectorProcess collector(collector_port, dir.file("collector.db"), dir.file("collector"));
  REQUIRE_MESSAGE(collector.ready(), collector.process().stderr_text());
  std::mt19937 random(std::random_device{}());
  size_t previous = 0;
  for (int kill_round = 0; kill_round < 3; ++kill_round) {
    daemon = start_daemon(dir, config, "daemon" + std::to_string(kill_round));
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + random() % 250));
    daemon->signal(SIGKILL);
    REQUIRE(daemon->wait_exit(60s).has_value());
    const size_t delivered = count_delivered(collector, expected);
    MESSAGE("after kill -9 #" << kill_round + 1 << ": " << delivered << " of " << expected.size() << " delivered");
    CHECK(delivered >= previous);
    previous = delivered;
  }
  daemon = start_daemon(dir, config, "daemon-final");
  CHECK(wait_for([&] { return count_delivered(collector, expected) == expected.size(); }, 240s));
  daemon->signal(SIGTERM);
  REQUIRE(daemon->wait_exit(120s).has_value());
  check_delivered_exactly(collector, expected);
  CHECK_FALSE(fs::exists(c.data_dir + "/rejected/rejected.jsonl"));
  status = status_of(c.data_dir);
  REQUIRE(status);
  CHECK(status->upload_failures_in_row == 0);
  CHECK(status->last_upload_ok_at != "");
}

TEST_CASE("SIGTERM during a run: the daemon finishes the run and queues its results before exiting") {
  TempDir dir;
  TargetServer target(4000);
  DaemonConfig c;
  c.targets = {target.url(), target.url("/slow")};
  c.data_dir = dir.file("data");
  c.interval_s = 3600;
  const auto config = write_config(dir, c);
  auto daemon = start_daemon(dir, config);
  REQUIRE_MESSAGE(wait_for([&] { return target.slow_reached.load(); }, 120s), daemon->stderr_text());
  daemon->signal(SIGTERM);
  auto exit = daemon->wait_exit(120s);
  REQUIRE(exit.has_value());
  CHECK(WIFEXITED(*exit));
  CHECK(WEXITSTATUS(*exit) == 0);
  const auto records = queued(c.data_dir);
  REQUIRE(records.size() == 2);
  std::set<std::string> inputs;
  for (const auto& [uid, env] : records) inputs.insert(env["measurement"]["input"].get<std::string>());
  CHECK(inputs.count(target.url("/slow")) == 1);
  CHECK(daemon->stderr_text().find("stopping") != std::string::npos);
}

TEST_CASE("total shutdown: measured at the shutdown pace from inside, all delivered with original times after") {
  TempDir dir;
  const uint16_t collector_port = unused_loopback_port();
  DaemonConfig c;
  c.collectors = {"http://127.0.0.1:" + std::to_string(collector_port) + "/"};
  c.targets = closed_targets(3);  // nothing answers, the collector neither: a shutdown as seen from inside
  c.data_dir = dir.file("data");
  c.interval_s = 3600;            // normal pace: one run an hour
  c.shutdown_interval_s = 1;      // shutdown pace
  const auto config = write_config(dir, c);
  auto daemon = start_daemon(dir, config);
  // Three runs in well under an hour can only come from the shutdown pace.
  REQUIRE_MESSAGE(wait_for([&] { return runs_of(c.data_dir) >= 3; }, 180s), daemon->stderr_text());
  auto status = status_of(c.data_dir);
  REQUIRE(status);
  CHECK(status->mode == "shutdown");
  REQUIRE(status->last_run.has_value());
  CHECK(status->last_run->all_offline);
  CHECK(status->last_run->verdicts["offline"] == 3);

  // Restoration: the collector comes back. The next run (shutdown pace) reaches it, the daemon returns to
  // the normal pace and uploads everything measured during the shutdown.
  const auto during = queued(c.data_dir);
  REQUIRE(during.size() >= 9);
  CollectorProcess collector(collector_port, dir.file("collector.db"), dir.file("collector"));
  REQUIRE(collector.ready());
  CHECK(wait_for([&] { return count_delivered(collector, during) == during.size(); }, 240s));
  check_delivered_exactly(collector, during);
  for (const auto& [uid, env] : during) CHECK(env["measurement"]["verdict"] == "offline");
  CHECK(wait_for([&] {
    auto s = status_of(c.data_dir);
    return s && s->mode == "normal";
  }, 60s));
  daemon->signal(SIGTERM);
  CHECK(daemon->wait_exit(120s).has_value());
}

TEST_CASE("export -> USB -> kuzet-collector import: a collector that never saw the probe takes the bundle") {
  TempDir dir;
  DaemonConfig c;
  c.collectors = {"http://127.0.0.1:" + std::to_string(unused_loopback_port()) + "/"};  // down throughout
  c.targets = closed_targets(2);
  c.data_dir = dir.file("data");
  const auto config = write_config(dir, c);
  {
    auto daemon = start_daemon(dir, config);
    REQUIRE(wait_for([&] { return runs_of(c.data_dir) >= 2; }, 180s));
    daemon->signal(SIGTERM);
    REQUIRE(daemon->wait_exit(120s).has_value());
  }
  const auto all = queued(c.data_dir);
  REQUIRE(all.size() >= 4);

  Process exporter({KUZET_PROBE_BIN, "export", "--config", config, "--since", "2000-01-01T00:00:00Z", dir.file("bundle.jsonl")},
                   dir.file("export"));
  auto e = exporter.wait_exit(60s);
  REQUIRE(e.has_value());
  REQUIRE_MESSAGE(WEXITSTATUS(*e) == 0, exporter.stderr_text());
  const auto bundle = read_text(dir.file("bundle.jsonl"));
  CHECK(static_cast<size_t>(std::count(bundle.begin(), bundle.end(), '\n')) == all.size() + 1);  // + one key line

  // A time range selects by measurement time: nothing measured before 2000.
  Process none({KUZET_PROBE_BIN, "export", "--config", config, "--until", "2000-01-01T00:00:00Z", dir.file("none.jsonl")},
               dir.file("export-none"));
  REQUIRE(none.wait_exit(60s).has_value());
  CHECK(read_text(dir.file("none.jsonl")).find("\"measurement\"") == std::string::npos);

  Process import({KUZET_COLLECTOR_BIN, "import", "--db", dir.file("fresh.db"), dir.file("bundle.jsonl")}, dir.file("import"));
  e = import.wait_exit(120s);
  REQUIRE(e.has_value());
  CHECK_MESSAGE(WEXITSTATUS(*e) == 0, std::string(import.stdout_text() + import.stderr_text()));
  CHECK(import.stdout_text().find("stored " + std::to_string(all.size()) + ", duplicate 0, rejected 0") != std::string::npos);

  // A tampered bundle is checked like an upload: the altered result is rejected, the rest stored.
  std::string tampered = bundle;
  const auto pos = tampered.find("\"verdict\":\"offline\"");
  REQUIRE(pos != std::string::npos);
  tampered.replace(pos, 19, "\"verdict\":\"ok\"     ");
  write_text(dir.file("tampered.jsonl"), tampered);
  Process import2({KUZET_COLLECTOR_BIN, "import", "--db", dir.file("fresh2.db"), dir.file("tampered.jsonl")},
                  dir.file("import2"));
  e = import2.wait_exit(120s);
  REQUIRE(e.has_value());
  CHECK(WEXITSTATUS(*e) == 1);
  CHECK(import2.stdout_text().find("rejected 1") != std::string::npos);
  CHECK(import2.stdout_text().find("bad_signature") != std::string::npos);
}

TEST_CASE("config errors name file and line; SIGHUP reloads, a broken reload keeps the old config") {
  TempDir dir;
  write_text(dir.file("bad.yaml"), "collectors: []\nschedule:\n  interval: soon\n");
  Process bad({KUZET_PROBE_BIN, "daemon", "--config", dir.file("bad.yaml")}, dir.file("bad"));
  auto e = bad.wait_exit(60s);
  REQUIRE(e.has_value());
  CHECK(WEXITSTATUS(*e) == 2);
  CHECK(bad.stderr_text().find(dir.file("bad.yaml") + ":3") != std::string::npos);

  TargetServer target;
  DaemonConfig c;
  c.targets = {target.url()};
  c.data_dir = dir.file("data");
  c.interval_s = 3600;
  const auto config = write_config(dir, c);
  auto daemon = start_daemon(dir, config);
  REQUIRE(wait_for([&] { return runs_of(c.data_dir) >= 1; }, 120s));
  std::this_thread::sleep_for(1s);
  CHECK(runs_of(c.data_dir) == 1);  // hourly

  write_text(config, "collectors: []\nschedule:\n  interval: [\n");
  daemon->signal(SIGHUP);
  CHECK(wait_for([&] { return daemon->stderr_text().find("reload failed") != std::string::npos; }, 60s));
  CHECK(daemon->running());

  c.interval_s = 1;
  write_config(dir, c);
  daemon->signal(SIGHUP);
  CHECK(wait_for([&] { return runs_of(c.data_dir) >= 3; }, 120s));
  daemon->signal(SIGTERM);
  e = daemon->wait_exit(120s);
  REQUIRE(e.has_value());
  CHECK(WEXITSTATUS(*e) == 0);
}
