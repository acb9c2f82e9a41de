// Crash safety of the real binary: a client uploads batches in a loop, the collector is killed with
// SIGKILL mid-stream, restarted on the same database, and every measurement whose batch was acknowledged
// must be there, byte-identical, with a verifying signature. Repeated over several kill cycles.
// Also `kuzet-collector import`, which needs the real binary too.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "collector/log/checkpointer.hpp"
#include "collector/store/store.hpp"
#include "tests/collector/support/child_collector.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/run_in_locale.hpp"
#include "tlog/entry.hpp"
#include "tlog/note.hpp"

using namespace kuzet;
using namespace kuzet::collector::testing;
using nlohmann::json;

namespace {

std::string uid(int i) { return "20220105T103000Z_" + std::to_string(2000000000000000 + i); }

// A store with one registered probe key, and `kuzet-collector import` run on it: its exit status and output.
struct ImportSetup {
  const char* binary = std::getenv("KUZET_COLLECTOR_BIN");
  TempDir dir;
  TestDb test_db;
  std::string db;
  core::KeyPair key = core::generate_ed25519();

  explicit ImportSetup(const std::string& name) : test_db(dir.file(name)), db(test_db.location()) {
    REQUIRE(binary);
    auto store = kuzet::collector::open_store(db);
    store->register_key({core::key_id(key.public_key), core::base64_encode(key.public_key), 0});
  }
  // Measurement uid(n), signed by the registered key: one bundle line without its newline.
  std::string envelope(int n) const {
    MeasurementSpec s;
    s.uid = uid(n);
    return signed_envelope(s, key);
  }
  // Writes `bytes` to `name` in the temporary directory; its path.
  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(dir.file(name), std::ios::binary) << bytes;
    return dir.file(name);
  }
  std::pair<int, std::string> import(const std::string& file) const {
    const std::string command =
        std::string(binary) + " import --db '" + db + "' " + file + " > " + dir.file("out.txt") + " 2>/dev/null";
    const int status = std::system(command.c_str());
    std::ifstream in(dir.file("out.txt"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, text};
  }
  // The import's own peak RSS in KiB (wait4's ru_maxrss of the collector itself, no shell between).
  long import_peak_kib(const std::string& file) const {
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(binary, binary, "import", "--db", db.c_str(), file.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    rusage usage{};
    if (pid < 0 || wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) > 1) return -1;
    return usage.ru_maxrss;
  }
};

}  // namespace

TEST_CASE("acknowledged batches survive kill -9") {
  const char* binary = std::getenv("KUZET_COLLECTOR_BIN");
  REQUIRE_MESSAGE(binary, "set KUZET_COLLECTOR_BIN to the kuzet-collector binary");
  TempDir dir;
  TestDb test_db(dir.file("crash.db"));
  const std::string db = test_db.location();
  auto key = core::generate_ed25519();

  // Envelopes are made up front so the client can upload as fast as the collector accepts.
  constexpr int kBatch = 100;
  constexpr int kTotal = 6000;
  std::vector<std::string> envelopes;
  for (int i = 0; i < kTotal; ++i) {
    MeasurementSpec s;
    s.uid = uid(i);
    s.padding = 1500;
    envelopes.push_back(signed_envelope(s, key));
  }

  std::vector<int> acknowledged;  // measurement indices whose batch got a 200
  int next_batch = 0;
  for (int cycle = 0; cycle < 3 && next_batch * kBatch < kTotal; ++cycle) {
    Child child = start_collector(binary, db);
    httplib::Client c("127.0.0.1", child.port);
    c.set_read_timeout(30, 0);
    auto reg = c.Post("/api/v1/probes/register", register_body(key), "application/json");
    REQUIRE(reg);
    REQUIRE(reg->status == 200);

    std::atomic<int> acked_batches{0};
    std::atomic<bool> stop{false};
    std::thread client([&] {
      httplib::Client up("127.0.0.1", child.port);
      up.set_read_timeout(30, 0);
      while (!stop && next_batch * kBatch < kTotal) {
        std::vector<std::string> batch(envelopes.begin() + next_batch * kBatch,
                                       envelopes.begin() + (next_batch + 1) * kBatch);
        auto r = up.Post("/api/v1/measurements", upload_body(batch), "application/json");
        if (!r) return;  // the collector died under us: this batch is not acknowledged
        if (r->status == 200) {
          for (int i = 0; i < kBatch; ++i) acknowledged.push_back(next_batch * kBatch + i);
          ++next_batch;
          ++acked_batches;
        }
      }
    });
    // Let a few batches through, then kill while uploads are in flight.
    const int target = 3 + cycle * 2;
    for (int waited = 0; acked_batches < target && waited < 60000; waited += 5)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(3 + cycle * 7));
    CHECK(WIFSIGNALED(kill_hard(child.pid)));
    stop = true;
    client.join();
    CHECK(acked_batches >= target);
  }
  REQUIRE(!acknowledged.empty());

  Child child = start_collector(binary, db);
  httplib::Client c("127.0.0.1", child.port);
  c.set_read_timeout(30, 0);
  size_t missing = 0, wrong = 0;
  for (int i : acknowledged) {
    auto r = c.Get("/api/v1/measurements/" + uid(i));
    if (!r || r->status != 200) {
      ++missing;
      continue;
    }
    if (r->body != envelopes[i] || envelope::verify(json::parse(r->body)) != "") ++wrong;
  }
  CHECK(missing == 0);
  CHECK(wrong == 0);
  // Every acknowledged measurement is in the log: its inclusion proof verifies against the checkpoint the
  // restarted collector signed, and the entry commits to the stored envelope.
  auto log_key = c.Get("/log/key");
  REQUIRE(log_key);
  std::string error;
  const auto verifier = tlog::parse_verifier_key(log_key->body.substr(0, log_key->body.size() - 1), &error);
  REQUIRE_MESSAGE(verifier, error);
  size_t unproven = 0;
  for (size_t n = 0; n < acknowledged.size(); n += 7) {
    const int i = acknowledged[n];
    auto r = c.Get("/api/v1/measurements/" + uid(i) + "/proof");
    if (!r || r->status != 200) {
      ++unproven;
      continue;
    }
    const auto p = json::parse(r->body);
    const auto cp = tlog::open_checkpoint(p["checkpoint"].get<std::string>(), *verifier, &error);
    const auto entry = tlog::parse_entry(p["entry"].get<std::string>(), &error);
    std::vector<tlog::Hash> proof;
    for (const auto& h : p["inclusion"]) {
      proof.emplace_back();
      tlog::hash_from_base64(h.get<std::string>(), &proof.back());
    }
    if (!cp || !entry || entry->envelope_sha256 != core::sha256_hex(envelopes[i]) ||
        !tlog::verify_inclusion(tlog::leaf_hash(p["entry"].get<std::string>()), p["index"].get<uint64_t>(), cp->size,
                                proof, cp->root))
      ++unproven;
  }
  CHECK(unproven == 0);
  // Unacknowledged uploads may or may not have landed; re-sending them never conflicts.
  std::vector<std::string> resend(envelopes.begin() + next_batch * kBatch,
                                  envelopes.begin() + std::min(kTotal, (next_batch + 1) * kBatch));
  if (!resend.empty()) {
    auto r = c.Post("/api/v1/measurements", upload_body(resend), "application/json");
    REQUIRE(r);
    CHECK(r->status == 200);
  }
  MESSAGE("acknowledged " << acknowledged.size() << " measurements over 3 kill cycles");
  kill(child.pid, SIGTERM);
  int status = 0;
  waitpid(child.pid, &status, 0);
  CHECK(WIFEXITED(status));

  // Log and store agree: one entry per measurement, and every checkpoint signed across the kill cycles is
  // consistent with the final tree.
  auto store = kuzet::collector::open_store(db);
  CHECK(store->log_head().size == store->measurement_count());
  kuzet::collector::log::StoreHashes hashes(*store);
  CHECK(tlog::tree_hash(store->log_head().size, hashes) == store->log_head().root);
  const auto notes = stored_checkpoints(test_db);
  size_t inconsistent = 0;
  for (const auto& note : notes) {
    const auto cp = tlog::open_checkpoint(note, *verifier, &error);
    if (!cp || cp->size > store->log_head().size || tlog::tree_hash(cp->size, hashes) != cp->root) ++inconsistent;
  }
  CHECK(notes.size() >= 4);  // one at each start at least
  CHECK(inconsistent == 0);
}

TEST_CASE("import: a JSON Lines file through the upload checks, with counts") {
  ImportSetup setup("import.db");
  const auto& db = setup.db;
  std::string lines;
  for (int i = 0; i < 3; ++i) lines += setup.envelope(100 + i) + "\n";
  MeasurementSpec stranger;
  stranger.uid = uid(200);
  lines += signed_envelope(stranger, core::generate_ed25519()) + "\n";
  lines += "{not json\n\n";
  const std::string file = setup.write("in.jsonl", lines);
  auto run = [&] { return setup.import(file); };
  auto [status, text] = run();
  CHECK(status == 1);
  CHECK(text.find("stored 3, duplicate 0, rejected 2") != std::string::npos);
  CHECK(text.find("rejected unknown_key: 1") != std::string::npos);
  CHECK(text.find("rejected malformed: 1") != std::string::npos);
  auto [status2, text2] = run();
  CHECK(text2.find("stored 0, duplicate 3, rejected 2") != std::string::npos);
  // The summary in the environment's language; the reasons stay the project's vocabulary.
  const char* lc_all = std::getenv("LC_ALL");
  const std::string saved = lc_all ? lc_all : "";
  ::setenv("LC_ALL", "kk_KZ.UTF-8", 1);
  auto [status3, text3] = run();
  lc_all ? ::setenv("LC_ALL", saved.c_str(), 1) : ::unsetenv("LC_ALL");
  CHECK(status3 == 1);
  CHECK(text3.find("сақталды 0, қайталанған 3, қабылданбады 2") != std::string::npos);
  CHECK(text3.find("қабылданбады (unknown_key): 1") != std::string::npos);
  auto store = kuzet::collector::open_store(db);
  CHECK(store->measurement_count() == 3);
  CHECK(store->envelope(uid(101)).has_value());
}

TEST_CASE("import: a line longer than an envelope may be is refused unread; a gzip bundle reads like a plain one") {
  ImportSetup setup("import-bounded.db");
  const auto& dir = setup.dir;
  // 17 MiB of one line between two envelopes: over the 16 MiB an envelope may have.
  auto [status, text] = setup.import(
      setup.write("long.jsonl", setup.envelope(300) + "\n" + std::string(17u << 20, 'x') + "\n" + setup.envelope(301)));
  CHECK(status == 1);
  CHECK(text.find("stored 2, duplicate 0, rejected 1") != std::string::npos);
  CHECK(text.find("rejected too_large: 1") != std::string::npos);

  REQUIRE(std::system(("gzip -n " + setup.write("bundle.jsonl", setup.envelope(302) + "\n")).c_str()) == 0);
  auto [gz_status, gz_text] = setup.import(dir.file("bundle.jsonl.gz"));
  CHECK(gz_status == 0);
  CHECK(gz_text.find("stored 1, duplicate 0, rejected 0") != std::string::npos);
  auto store = kuzet::collector::open_store(setup.db);
  CHECK(store->measurement_count() == 3);
  CHECK(store->envelope(uid(302)).has_value());
}

TEST_CASE("import: large lines are committed in batches of at most 16 MiB, not 500 lines held at once") {
  ImportSetup setup("import-memory.db");
  const auto& dir = setup.dir;
  const std::string small = setup.write("small.jsonl", setup.envelope(400) + "\n");
  {
    // 48 lines of 1 MiB (refused as malformed, each one after it is read): 48 MiB if a batch waited for 500.
    std::ofstream out(dir.file("large.jsonl"), std::ios::binary);
    const std::string line(1u << 20, 'x');
    for (int i = 0; i < 48; ++i) out << line << "\n";
  }
  const long base = setup.import_peak_kib(small);
  const long large = setup.import_peak_kib(dir.file("large.jsonl"));
  REQUIRE(base > 0);
  REQUIRE(large > 0);
  MESSAGE("import peak RSS: one envelope " << base << " KiB, 48 lines of 1 MiB " << large << " KiB");
  CHECK(large - base < 32 * 1024);
}

TEST_CASE("usage and startup errors exit with status 2") {
  const char* binary = std::getenv("KUZET_COLLECTOR_BIN");
  REQUIRE(binary);
  TempDir dir;
  auto status_of = [&](const std::string& args) {
    int status = std::system((std::string(binary) + " " + args + " > /dev/null 2>&1").c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  const std::string db = " --db " + dir.file("x.db");
  CHECK(status_of("") == 2);
  CHECK(status_of("frobnicate") == 2);
  CHECK(status_of("serve" + db) == 2);                              // no --listen
  CHECK(status_of("serve --listen nowhere" + db) == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0") == 2);               // no --db
  CHECK(status_of("serve --listen 127.0.0.1:0 --db /nonexistent/dir/x.db") == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0 --asn-db /nonexistent.tsv" + db) == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0 --ca-bundle /nonexistent.pem" + db) == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0 --resolver not-an-ip" + db) == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0 --control-concurrency 0" + db) == 2);
  CHECK(status_of("import" + db) == 2);
  CHECK(status_of("import" + db + " /nonexistent.jsonl") == 2);
  CHECK(status_of("--help") == 0);
  CHECK(status_of("serve --listen 127.0.0.1:0 --checkpoint-interval 0" + db) == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0 --log-origin 'bad origin'" + db) == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0 --log-key /nonexistent/dir/k" + db) == 2);
  // A URL names no file to keep the log key beside.
  CHECK(status_of("serve --listen 127.0.0.1:0 --db postgresql://127.0.0.1:1/x") == 2);
  CHECK(status_of("migrate --from a.db") == 2);
  CHECK(status_of("migrate --from a.db --to b.db") == 2);
  CHECK(status_of("serve --listen 127.0.0.1:0 --log-key k --db postgresql://127.0.0.1:1/x") == 2);  // no server
}

TEST_CASE("usage errors and --help in the environment's language (LC_ALL): ru, kk; another language is English") {
  const char* binary = std::getenv("KUZET_COLLECTOR_BIN");
  REQUIRE(binary);
  TempDir dir;
  const std::string usage_en = "usage:\n  kuzet-collector serve --listen ADDR:PORT --db FILE|postgresql://...";
  const std::string error_en = "kuzet-collector: unknown command frobnicate\n" + usage_en;
  const std::string option_en = "kuzet-collector: unknown option --lisen (did you mean --listen?)\n" + usage_en;
  kuzet::testing::check_locale_cases(dir.path.string(), binary, {
      {"de_DE.UTF-8", "frobnicate", 2, error_en},
      {"C", "frobnicate", 2, error_en},
      {"de_DE.UTF-8", "--help", 0, usage_en,
       "\n  kuzet-collector --help | --version       (every command takes --help; man kuzet-collector)\n"},
      {"de_DE.UTF-8", "serve --lisen 127.0.0.1:0", 2, option_en},
      {"ru_RU.UTF-8", "frobnicate", 2, "kuzet-collector: неизвестная команда frobnicate\nиспользование:\n  kuzet-collector serve"},
      {"ru_RU.UTF-8", "serve --help", 0, "использование:\n  kuzet-collector serve --listen АДРЕС:ПОРТ --db ФАЙЛ",
       "(каждая команда принимает --help; man kuzet-collector)\n"},
      {"ru_RU.UTF-8", "serve --lisen 127.0.0.1:0", 2,
       "kuzet-collector: неизвестный параметр --lisen (возможно, вы имели в виду --listen?)\nиспользование:"},
      {"ru_RU.UTF-8", "export --format ooni", 2, "kuzet-collector: параметр --db обязателен\nиспользование: kuzet-collector export"},
      {"kk_KZ.UTF-8", "migrate --from a.db", 2, "kuzet-collector: migrate үшін --from ФАЙЛ.db және --to URL керек\nқолданылуы:\n"},
      {"kk_KZ.UTF-8", "--help", 0, "қолданылуы:\n  kuzet-collector serve --listen МЕКЕНЖАЙ:ПОРТ"},
      {"kk_KZ.UTF-8", "import-ooni --help", 0, "қолданылуы: kuzet-collector import-ooni --db ФАЙЛ ФАЙЛ.jsonl[.gz]...\n  OONI Web"},
  });
}

TEST_CASE("the collector refuses to start on a log its checkpoints do not cover, with status 2 and a reason") {
  const char* binary = std::getenv("KUZET_COLLECTOR_BIN");
  REQUIRE(binary);
  TempDir dir;
  TestDb test_db(dir.file("log.db"));
  const std::string db = test_db.location();
  auto key_file = [](const std::string& location) {
    return kuzet::collector::pg::is_url(location) ? test_log_key_path(location) : location + ".log-key";
  };
  // A log of 3 entries with a signed checkpoint of size 3 (the restart signs it: the log grew while down).
  {
    Child child = start_collector(binary, db);
    httplib::Client c("127.0.0.1", child.port);
    auto key = core::generate_ed25519();
    REQUIRE(c.Post("/api/v1/probes/register", register_body(key), "application/json")->status == 200);
    std::vector<std::string> batch;
    for (int i = 0; i < 3; ++i) {
      MeasurementSpec s;
      s.uid = uid(900 + i);
      batch.push_back(signed_envelope(s, key));
    }
    REQUIRE(c.Post("/api/v1/measurements", upload_body(batch), "application/json")->status == 200);
    kill(child.pid, SIGTERM);
    waitpid(child.pid, nullptr, 0);
    Child again = start_collector(binary, db);
    kill(again.pid, SIGTERM);
    waitpid(again.pid, nullptr, 0);
  }
  // Exit status and stderr of a start that must fail at once (timeout kills a start that wrongly succeeds).
  auto start = [&](const std::string& db_path, const std::string& args) {
    const std::string key = args.find("--log-key") == std::string::npos && kuzet::collector::pg::is_url(db_path)
                                ? " --log-key " + key_file(db_path)
                                : "";
    const std::string command = "timeout 20 " + std::string(binary) + " serve --listen 127.0.0.1:0 --db '" + db_path +
                                "' " + args + key + " > /dev/null 2> " + dir.file("err.txt");
    const int status = std::system(command.c_str());
    std::ifstream in(dir.file("err.txt"));
    return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())};
  };
  // Another key: the stored checkpoint does not verify.
  auto [status, err] = start(db, "--log-key " + dir.file("other.key"));
  CHECK(status == 2);
  CHECK(err.find("does not verify with the log key") != std::string::npos);
  // Another origin for the same key file.
  std::tie(status, err) = start(db, "--log-origin other.example/log");
  CHECK(status == 2);
  CHECK(err.find("origin") != std::string::npos);
  // The database replaced by one whose log is shorter than the signed checkpoint (a restored backup).
  TestDb restored_db(dir.file("restored.db"));
  std::filesystem::copy_file(key_file(db), key_file(restored_db.location()));
  {
    auto store = kuzet::collector::open_store(db);
    auto restored = kuzet::collector::open_store(restored_db.location());
    restored->add_checkpoint(3, *store->latest_checkpoint(), 0);
  }
  std::tie(status, err) = start(restored_db.location(), "");
  CHECK(status == 2);
  CHECK(err.find("refusing to start") != std::string::npos);
  CHECK(err.find("fewer than") != std::string::npos);
}

TEST_CASE("migrate: the command copies an SQLite collector into PostgreSQL, which then serves it with the same log") {
  const char* binary = std::getenv("KUZET_COLLECTOR_BIN");
  REQUIRE(binary);
  if (!testing_postgres()) {
    MESSAGE("needs a PostgreSQL target: runs in test_collector_crash_pg");
    return;
  }
  TempDir dir;
  const std::string sqlite_db = dir.file("single.db");
  auto key = core::generate_ed25519();
  std::string checkpoint_before;
  {
    Child child = start_collector(binary, sqlite_db);
    httplib::Client c("127.0.0.1", child.port);
    REQUIRE(c.Post("/api/v1/probes/register", register_body(key), "application/json")->status == 200);
    std::vector<std::string> batch;
    for (int i = 0; i < 300; ++i) {
      MeasurementSpec s;
      s.uid = uid(5000 + i);
      batch.push_back(signed_envelope(s, key));
    }
    REQUIRE(c.Post("/api/v1/measurements", upload_body(batch), "application/json")->status == 200);
    kill(child.pid, SIGTERM);
    waitpid(child.pid, nullptr, 0);
    checkpoint_before = *kuzet::collector::open_sqlite_store(sqlite_db)->latest_checkpoint();
  }
  TestDb target(dir.file("unused.db"));
  auto run = [&](const std::string& args) {
    const std::string command = std::string(binary) + " migrate " + args + " > " + dir.file("out.txt") + " 2>&1";
    const int status = std::system(command.c_str());
    std::ifstream in(dir.file("out.txt"));
    return std::pair{WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                     std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())};
  };
  auto [status, out] = run("--from " + sqlite_db + " --to '" + target.location() + "'");
  CHECK_MESSAGE(status == 0, out);
  CHECK(out.find("measurements 300 copied") != std::string::npos);
  CHECK(out.find("its log equals the source's (size 300)") != std::string::npos);
  std::tie(status, out) = run("--from " + sqlite_db + " --to '" + target.location() + "'");  // again: nothing to do
  CHECK_MESSAGE(status == 0, out);
  CHECK(out.find("measurements 0 copied (300 were there)") != std::string::npos);
  // The same log key serves the copy: the SQLite collector's last checkpoint extends into the new one.
  std::filesystem::copy_file(sqlite_db + ".log-key", test_log_key_path(target.location()));
  Child child = start_collector(binary, target.location());
  httplib::Client c("127.0.0.1", child.port);
  auto r = c.Get("/api/v1/measurements/" + uid(5123));
  REQUIRE(r);
  CHECK(r->status == 200);
  auto cp = c.Get("/log/checkpoint");
  REQUIRE(cp);
  CHECK(cp->body.find("\n300\n") != std::string::npos);
  // The SQLite collector's last checkpoint was copied first, and the restarted collector accepted it (a
  // start refuses a log its latest checkpoint does not cover).
  CHECK(stored_checkpoints(target).front() == checkpoint_before);
  kill(child.pid, SIGTERM);
  waitpid(child.pid, nullptr, 0);
}
