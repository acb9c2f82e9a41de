// What a new volunteer meets, through the real binaries on loopback (#16): --help / --version and
// suggestions, the consent refused without a terminal and asked on one (a pty), `setup` by piped answers and
// by options against a live loopback collector and then a daemon that uploads to it, `status` without a
// collector and for a user who cannot read the daemon's state, and journald-style logs.
#include <doctest/doctest.h>

#include <poll.h>
#include <pty.h>
#include <sys/stat.h>

#include <algorithm>
#include <regex>

#include "probe/config.hpp"
#include "tests/daemon/daemon_fixture.hpp"

using namespace kuzet::daemon_testing;
using namespace std::chrono_literals;

namespace {

struct Outcome {
  int status = -1;  // exit status, -1 when it did not exit in time
  std::string out, err;
};

// Runs a binary to completion with stdout/stderr in files and `input` on stdin (none: /dev/null).
Outcome run(std::vector<std::string> argv, const TempDir& dir, const std::string& input = "",
            std::chrono::seconds timeout = 120s) {
  static int counter = 0;
  const std::string prefix = dir.file("run" + std::to_string(++counter));
  write_text(prefix + ".in", input);
  // The child takes stdin from the file: Process does not redirect it, so do it around the fork.
  const int saved = ::dup(0);
  const int in = ::open((prefix + ".in").c_str(), O_RDONLY);
  ::dup2(in, 0);
  ::close(in);
  Outcome o;
  {
    Process p(std::move(argv), prefix);
    ::dup2(saved, 0);
    ::close(saved);
    auto status = p.wait_exit(timeout);
    if (status && WIFEXITED(*status)) o.status = WEXITSTATUS(*status);
    o.out = p.stdout_text();
    o.err = p.stderr_text();
  }
  return o;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Runs a binary on a pseudo-terminal (stdin, stdout, stderr); when `prompt` appears, types `answer`.
Outcome run_on_pty(std::vector<std::string> argv, const std::string& prompt, const std::string& answer) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  Outcome o;
  bool answered = false;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) {
      char buffer[4096];
      const ssize_t n = ::read(master, buffer, sizeof buffer);
      if (n <= 0) break;  // EIO: the child closed the terminal
      o.out.append(buffer, n);
    }
    if (!answered && contains(o.out, prompt)) {
      const std::string line = answer + "\n";
      (void)!::write(master, line.data(), line.size());
      answered = true;
    }
  }
  int status = 0;
  if (::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) o.status = WEXITSTATUS(status);
  ::close(master);
  return o;
}

// A spec with one target; returns its path.
std::string write_spec(const TempDir& dir, const std::string& url) {
  write_text(dir.file("spec.yaml"), "targets:\n  - {url: \"" + url + "\", category: news}\n");
  return dir.file("spec.yaml");
}

// Runs argv as uid and gid 65534 when the test is root (as itself otherwise), stdout discarded and stderr
// into err_path. Its wait status, or nullopt when it had not exited within `timeout` (then it is killed).
std::optional<int> run_as_other_user(std::vector<std::string> argv, const std::string& err_path,
                                     std::chrono::seconds timeout) {
  std::vector<char*> args;  // before fork: the test has other threads
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int out = ::open("/dev/null", O_WRONLY);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(126);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return status;
}

std::string closed_url() { return "http://127.0.0.1:" + std::to_string(unused_loopback_port()) + "/"; }

// A daemon config with one closed loopback target, its data in dir/data, with or without recorded consent.
DaemonConfig one_target_config(const TempDir& dir, bool consent) {
  DaemonConfig c;
  c.targets = {closed_url()};
  c.data_dir = dir.file("data");
  c.consent = consent;
  return c;
}

struct EnvironmentVariable {
  std::string name;
  EnvironmentVariable(std::string n, const std::string& value) : name(std::move(n)) { ::setenv(name.c_str(), value.c_str(), 1); }
  ~EnvironmentVariable() { ::unsetenv(name.c_str()); }
};

}  // namespace

TEST_CASE("--help on every command and --version on both programs exit 0; help follows the language") {
  TempDir dir;
  auto commands = run({KUZET_PROBE_BIN, "_complete"}, dir);
  REQUIRE(commands.status == 0);
  std::istringstream names(commands.out);
  size_t n = 0;
  for (std::string name; std::getline(names, name);) {
    if (name.rfind("--", 0) == 0) continue;
    ++n;
    auto help = run({KUZET_PROBE_BIN, name, "--help"}, dir);
    CHECK_MESSAGE(help.status == 0, name);
    CHECK_MESSAGE(contains(help.out, "usage: kuzet-probe " + name), name);
    CHECK_MESSAGE(contains(help.out, "examples:"), name);
  }
  CHECK(n >= 6);
  auto probe = run({KUZET_PROBE_BIN, "--version"}, dir);
  CHECK(probe.status == 0);
  CHECK(probe.out == std::string("kuzet-probe ") + KUZET_PROJECT_VERSION + "\n");
  auto collector = run({KUZET_COLLECTOR_BIN, "--version"}, dir);
  CHECK(collector.status == 0);
  CHECK(collector.out == std::string("kuzet-collector ") + KUZET_PROJECT_VERSION + "\n");
  // Started through the dynamic loader, /proc/self/exe is the loader: the probe's restart with glibc's thread
  // cache off (probe/memory) must not execute it with the probe's arguments (it printed the loader's version).
  for (const char* loader : {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"}) {
    if (!fs::exists(loader)) continue;
    auto via_loader = run({loader, KUZET_PROBE_BIN, "--version"}, dir);
    CHECK(via_loader.status == 0);
    CHECK(via_loader.out == probe.out);
  }
  CHECK(run({KUZET_COLLECTOR_BIN, "serve", "--help"}, dir).status == 0);
  CHECK(run({KUZET_COLLECTOR_BIN, "import", "--help"}, dir).status == 0);

  EnvironmentVariable lang("LANG", "ru_RU.UTF-8");
  auto ru = run({KUZET_PROBE_BIN, "run", "--help"}, dir);
  CHECK(ru.status == 0);
  CHECK(contains(ru.out, "использование: kuzet-probe run"));
  CHECK(contains(ru.out, "примеры:"));
}

TEST_CASE("common mistakes get a suggestion") {
  TempDir dir;
  auto bare = run({KUZET_PROBE_BIN, "run", "--target", "example.com"}, dir);
  CHECK(bare.status == 2);
  CHECK(contains(bare.err, "did you mean https://example.com/?"));
  auto typo = run({KUZET_PROBE_BIN, "run", "--taget", "https://example.com/"}, dir);
  CHECK(typo.status == 2);
  CHECK(contains(typo.err, "did you mean --target?"));
  auto daemon = run({KUZET_PROBE_BIN, "daemon", "--log-levle", "debug"}, dir);
  CHECK(daemon.status == 2);
  CHECK(contains(daemon.err, "did you mean --log-level?"));
  auto command = run({KUZET_PROBE_BIN, "stauts"}, dir);
  CHECK(command.status == 2);
  CHECK(contains(command.err, "did you mean status?"));
  auto collector = run({KUZET_COLLECTOR_BIN, "serve", "--lisen", "127.0.0.1:0"}, dir);
  CHECK(collector.status == 2);
  CHECK(contains(collector.err, "did you mean --listen?"));
}

TEST_CASE("usage errors are said in the volunteer's language, each naming the command and option") {
  TempDir dir;
  auto en = run({KUZET_PROBE_BIN, "run", "--concurrency", "0", "--target", "https://example.org/"}, dir);
  CHECK(en.status == 2);
  CHECK(contains(en.err, "run: --concurrency takes a whole number from 1 to 256"));
  auto missing = run({KUZET_PROBE_BIN, "export"}, dir);
  CHECK(missing.status == 2);
  CHECK(contains(missing.err, "export: the output FILE is missing"));
  CHECK(contains(missing.err, "kuzet-probe export --help"));

  EnvironmentVariable lang("LANG", "ru_RU.UTF-8");
  auto ru = run({KUZET_PROBE_BIN, "run", "--concurrency", "0", "--target", "https://example.org/"}, dir);
  CHECK(ru.status == 2);
  CHECK(contains(ru.err, "run: --concurrency принимает целое число от 1 до 256"));
  auto time = run({KUZET_PROBE_BIN, "export", "--since", "yesterday", "out.jsonl"}, dir);
  CHECK(time.status == 2);
  CHECK(contains(time.err, "export: --since 'yesterday' — не время в формате RFC 3339"));
  auto value = run({KUZET_PROBE_BIN, "results", "--days"}, dir);
  CHECK(value.status == 2);
  CHECK(contains(value.err, "results: для --days нужно значение"));
}

TEST_CASE("no recorded consent: run and daemon refuse without a terminal (exit 3), --consent or the config allow") {
  TempDir dir;
  DaemonConfig c = one_target_config(dir, false);
  const auto config = write_config(dir, c);
  auto daemon = run({KUZET_PROBE_BIN, "daemon", "--config", config}, dir, "", 60s);
  CHECK(daemon.status == 3);
  CHECK(contains(daemon.err, "no recorded consent"));
  CHECK(contains(daemon.err, "sudo kuzet-probe setup"));
  CHECK_FALSE(fs::exists(dir.file("data/status.json")));  // nothing measured

  auto refused = run({KUZET_PROBE_BIN, "run", "--config", config, "--target", closed_url()}, dir, "yes\n");
  CHECK(refused.status == 3);  // a "yes" on a pipe is no consent: nobody read the text
  CHECK(contains(refused.err, "kuzet-probe consent"));
  CHECK_FALSE(contains(refused.out, "TARGET"));

  auto given = run({KUZET_PROBE_BIN, "run", "--config", config, "--consent", "--target", closed_url()}, dir);
  CHECK(given.status == 0);
  CHECK(contains(given.out, "TARGET"));
  CHECK(contains(given.err, "--out FILE"));  // nothing saved: it says so

  c.consent = true;
  write_config(dir, c);
  CHECK(run({KUZET_PROBE_BIN, "run", "--config", config, "--quiet"}, dir).status == 0);

  EnvironmentVariable lang("LANG", "kk_KZ.UTF-8");
  auto text = run({KUZET_PROBE_BIN, "consent"}, dir);
  CHECK(text.status == 0);
  CHECK(contains(text.out, "Заңдық тәуекел"));
  CHECK(contains(run({KUZET_PROBE_BIN, "consent", "--lang", "ru"}, dir).out, "Юридический риск"));
  CHECK(contains(run({KUZET_PROBE_BIN, "consent", "--lang", "en"}, dir).out, "Legal risk"));
}

TEST_CASE("on a terminal the consent is shown and asked; yes is recorded in the config, no measures nothing") {
  TempDir dir;
  DaemonConfig c = one_target_config(dir, false);
  const auto config = write_config(dir, c);
  const std::string before = read_text(config);

  auto no = run_on_pty({KUZET_PROBE_BIN, "run", "--config", config, "--quiet"}, "to stop: ", "no");
  CHECK(no.status == 3);
  CHECK(contains(no.out, "Legal risk"));
  CHECK(read_text(config) == before);

  EnvironmentVariable lang("LANG", "ru_RU.UTF-8");
  auto yes = run_on_pty({KUZET_PROBE_BIN, "run", "--config", config, "--quiet"}, "остановиться: ", "да");
  CHECK(yes.status == 0);
  CHECK(contains(yes.out, "Юридический риск"));
  CHECK(contains(yes.out, "TARGET"));
  const std::string after = read_text(config);
  CHECK(after.rfind(before, 0) == 0);  // the volunteer's file, with the consent added
  CHECK(contains(after, "consent:\n  version: 1\n"));
  CHECK(contains(after, "language: ru"));
  // Recorded: the next run asks nothing.
  auto again = run({KUZET_PROBE_BIN, "run", "--config", config, "--quiet"}, dir);
  CHECK(again.status == 0);
}

TEST_CASE("withdrawing consent (config without it, SIGHUP) stops the daemon with status 3") {
  TempDir dir;
  DaemonConfig c = one_target_config(dir, true);
  c.interval_s = 3600;
  const auto config = write_config(dir, c);
  Process daemon({KUZET_PROBE_BIN, "daemon", "--config", config}, dir.file("daemon"));
  REQUIRE(wait_for([&] { return runs_of(c.data_dir) >= 1; }, 120s));
  // It runs, as every command, re-executed with glibc's per-thread malloc cache off (probe/memory): the same
  // process, whose environment now says so.
  std::string environment = "\n" + read_text("/proc/" + std::to_string(daemon.pid()) + "/environ");
  std::replace(environment.begin(), environment.end(), '\0', '\n');
  CHECK(contains(environment, "\nGLIBC_TUNABLES=glibc.malloc.tcache_count=0\n"));
  c.consent = false;
  write_config(dir, c);
  daemon.signal(SIGHUP);
  auto status = daemon.wait_exit(60s);
  REQUIRE(status.has_value());
  CHECK(WEXITSTATUS(*status) == 3);
  CHECK(contains(daemon.stderr_text(), "no recorded consent"));
}

TEST_CASE("setup by piped answers: consent, a live collector, schedule, spec, data dir; then the daemon uploads") {
  TempDir dir;
  TargetServer target;
  const uint16_t port = unused_loopback_port();
  CollectorProcess collector(port, dir.file("collector.db"), dir.file("collector"));
  REQUIRE(collector.ready());
  const std::string collector_url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const std::string spec = write_spec(dir, target.url());
  const std::string config = dir.file("etc/probe.yaml");
  const std::string data = dir.file("data");
  // Answers in order: consent, a collector given without its scheme (refused with the suggestion), the collector,
  // an interval that is no duration (asked again), the interval, the spec, the data directory.
  // An existing file's other keys are kept: no jitter here, so the daemon below runs at once.
  fs::create_directories(dir.file("etc"));
  write_text(config, "schedule: {interval: 1h, jitter: 0, shutdown_interval: 15m}\nstatus_page: \"127.0.0.1:0\"\n");
  const std::string answers = "yes\n127.0.0.1:" + std::to_string(port) + "\n" + collector_url + "\nsoon\n30m\n" +
                              spec + "\n" + data + "\n";
  auto setup = run({KUZET_PROBE_BIN, "setup", "--config", config}, dir, answers);
  INFO(setup.out, setup.err);
  REQUIRE(setup.status == 0);
  CHECK(contains(setup.out, "Legal risk"));
  CHECK(contains(setup.out, "did you mean https://127.0.0.1:" + std::to_string(port) + "/?"));
  CHECK(contains(setup.out, "the collector answers"));
  CHECK(contains(setup.out, "not accepted: 'soon'"));
  CHECK(contains(setup.out, "Next: kuzet-probe daemon --config " + config));

  const auto written = kuzet::probe::load_probe_config(config);
  CHECK(written.consent.given());
  CHECK(written.collectors == std::vector<std::string>{collector_url});
  CHECK(written.schedule.interval_s == 1800);
  CHECK(written.specs == std::vector<std::string>{spec});
  CHECK(written.data_dir == data);
  CHECK(written.schedule.jitter_s == 0);
  CHECK(written.status_page == "127.0.0.1:0");

  // What setup printed is what works: the daemon measures and uploads with that config as written.
  auto daemon = run({KUZET_PROBE_BIN, "daemon", "--config", config, "--runs", "1"}, dir, "", 180s);
  CHECK(daemon.status == 0);
  const auto status = status_of(data);
  REQUIRE(status.has_value());
  REQUIRE(status->last_upload.has_value());
  CHECK(status->last_upload->stored == 1);
  CHECK(status->last_run->collector_reachable);

  // Acknowledged, so the queue forgot it; the local history did not, and `results` lists it.
  CHECK(queued(data).empty());
  auto results = run({KUZET_PROBE_BIN, "results", "--config", config}, dir);
  INFO(results.out, results.err);
  CHECK(results.status == 0);
  CHECK(contains(results.out, "TIME (UTC)"));
  CHECK(contains(results.out, "127.0.0.1"));
  CHECK(contains(results.out, "1 results in the last 7 days: 1 " + status->last_run->verdicts.begin()->first));
  auto json = run({KUZET_PROBE_BIN, "results", "--config", config, "--json"}, dir);
  const auto listed = nlohmann::json::parse(json.out);
  REQUIRE(listed.size() == 1);
  CHECK(listed[0]["input"] == target.url());
  CHECK(listed[0]["measurement_uid"].get<std::string>().size() > 0);
  CHECK(contains(run({KUZET_PROBE_BIN, "results", "--config", config, "--target", "nothing-like-it"}, dir).out,
                 "No results in the last 7 days"));
}

TEST_CASE("setup by options: no questions; an unreachable collector is said, not fatal; no consent, no config") {
  TempDir dir;
  TargetServer target;
  const std::string spec = write_spec(dir, target.url());
  const std::string config = dir.file("probe.yaml");
  auto refused = run({KUZET_PROBE_BIN, "setup", "--non-interactive", "--config", config, "--spec", spec}, dir);
  CHECK(refused.status == 3);
  CHECK_FALSE(fs::exists(config));

  const std::string dead = closed_url();
  auto done = run({KUZET_PROBE_BIN, "setup", "--non-interactive", "--consent", "--config", config, "--spec", spec,
                   "--collector", dead, "--interval", "2h", "--data-dir", dir.file("data"), "--lang", "kk"},
                  dir);
  INFO(done.out, done.err);
  CHECK(done.status == 0);
  CHECK(contains(done.out, "коллектор жауап бермейді"));
  const auto written = kuzet::probe::load_probe_config(config);
  CHECK(written.consent.language == "kk");
  CHECK(written.collectors == std::vector<std::string>{dead});
  CHECK(written.schedule.interval_s == 7200);

  // Run again: what is there is kept, consent is not asked twice.
  auto again = run({KUZET_PROBE_BIN, "setup", "--non-interactive", "--config", config, "--no-collector"}, dir);
  CHECK(again.status == 0);
  CHECK(contains(again.out, "Consent already recorded"));
  const auto kept = kuzet::probe::load_probe_config(config);
  CHECK(kept.collectors.empty());
  CHECK(kept.schedule.interval_s == 7200);
  CHECK(kept.consent.accepted_at == written.consent.accepted_at);
}

TEST_CASE("status: no collector is not 'unreachable'; never ran and cannot read are told apart") {
  TempDir dir;
  DaemonConfig c = one_target_config(dir, true);
  const auto config = write_config(dir, c);
  auto never = run({KUZET_PROBE_BIN, "status", "--config", config}, dir);
  CHECK(never.status == 1);
  CHECK(contains(never.err, "has not run"));

  CHECK(run({KUZET_PROBE_BIN, "daemon", "--config", config, "--runs", "1"}, dir, "", 120s).status == 0);
  auto status = run({KUZET_PROBE_BIN, "status", "--config", config}, dir);
  CHECK(status.status == 0);
  CHECK(contains(status.out, "collector none configured"));
  CHECK(contains(status.out, "collectors:   none configured"));
  CHECK_FALSE(contains(status.out, "unreachable"));

  // The service's state is 0700 for its user; someone else is told that, not "has not run".
  ::chmod(c.data_dir.c_str(), 0700);
  // A copy the other user can reach: the checkout may sit in a directory only root may enter (mktemp -d, /root).
  const std::string probe_copy = dir.file("kuzet-probe");
  fs::copy_file(KUZET_PROBE_BIN, probe_copy);
  ::chmod(probe_copy.c_str(), 0755);
  const std::string err_path = dir.file("other-user.err");
  if (::geteuid() != 0) ::chmod(c.data_dir.c_str(), 0);  // not root: take the permission away instead
  const auto wait_status = run_as_other_user({probe_copy, "status", "--config", config}, err_path, 60s);
  ::chmod(c.data_dir.c_str(), 0700);
  REQUIRE(wait_status.has_value());
  const std::string err = read_text(err_path);
  INFO(err);
  CHECK(WEXITSTATUS(*wait_status) == 1);
  CHECK(contains(err, "cannot read"));
  CHECK(contains(err, "Permission denied"));
  CHECK(contains(err, "sudo kuzet-probe status"));
  CHECK_FALSE(contains(err, "has not run"));

  // Set-user-ID root and started by another user (secure execution), glibc erases the thread-cache setting
  // the probe restarts itself with (probe/memory): it must not restart again and again, but run once.
  if (::geteuid() == 0) {
    ::chmod(probe_copy.c_str(), 04755);
    const auto setuid_status = run_as_other_user({probe_copy, "--version"}, dir.file("setuid.err"), 15s);
    CHECK(setuid_status == 0);  // exited with 0 within 15 s, not still restarting
  }
}

TEST_CASE("logs: under journald no timestamp and <N> priorities; --log-level filters; elsewhere as before") {
  TempDir dir;
  DaemonConfig c = one_target_config(dir, true);
  const auto config = write_config(dir, c);
  const std::regex timestamp(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)");

  // stderr goes to a file whose device:inode JOURNAL_STREAM names, as systemd does for the journal socket.
  write_text(dir.file("journal.err"), "");
  struct stat st {};
  REQUIRE(::stat(dir.file("journal.err").c_str(), &st) == 0);
  {
    EnvironmentVariable journal("JOURNAL_STREAM", std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino));
    Process p({KUZET_PROBE_BIN, "daemon", "--config", config, "--runs", "1"}, dir.file("journal"));
    REQUIRE(p.wait_exit(120s).has_value());
  }
  const std::string journal = read_text(dir.file("journal.err"));
  INFO(journal);
  CHECK(contains(journal, "<5>started:"));
  CHECK(contains(journal, "<6>run "));
  CHECK_FALSE(std::regex_search(journal, timestamp));
  std::istringstream lines(journal);
  for (std::string line; std::getline(lines, line);)
    CHECK_MESSAGE(std::regex_match(line, std::regex(R"(<[3-7]>.+)")), line);

  auto quiet = run({KUZET_PROBE_BIN, "daemon", "--config", config, "--runs", "1", "--log-level", "warning"}, dir);
  CHECK(quiet.status == 0);
  CHECK_FALSE(contains(quiet.err, "started"));
  CHECK_FALSE(contains(quiet.err, "run "));

  auto plain = run({KUZET_PROBE_BIN, "daemon", "--config", config, "--runs", "1"}, dir);
  CHECK(plain.status == 0);
  CHECK(std::regex_search(plain.err, std::regex(R"(^\d{4}-\d\d-\d\dT\S+ kuzet-probe: started)")));
  CHECK_FALSE(contains(plain.err, "<5>"));
}
