// Two kuzet-collector processes on one PostgreSQL database (docs/deployment.md): clients upload to both at
// once, one process is killed with SIGKILL mid-stream and its clients carry on at the other (re-sending the
// batch that got no answer), then it is restarted and both take more. Afterwards nothing acknowledged is
// lost, each measurement is stored once and logged once, the log is one gap-free sequence whose stored
// hashes give its root, and every checkpoint either process signed is a prefix of it.
// PostgreSQL only (KUZET_TEST_DB): ctest runs it as test_collector_shared_pg.
#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "collector/log/checkpointer.hpp"
#include "collector/store/pg_util.hpp"
#include "collector/store/store.hpp"
#include "tests/collector/support/child_collector.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/collector/support/test_db.hpp"
#include "tlog/entry.hpp"
#include "tlog/note.hpp"

using namespace kuzet;
using namespace kuzet::collector::testing;
using nlohmann::json;

namespace {

std::string uid(int client, int i) {
  return "20220105T103000Z_" + std::to_string(3000000000000000 + client * 100000 + i);
}

// One process's port, swapped when it is killed (clients then go to the other).
struct Ports {
  std::mutex mutex;
  std::vector<uint16_t> ports;
  uint16_t get(size_t i) {
    std::lock_guard lock(mutex);
    return ports[i];
  }
  void set(size_t i, uint16_t port) {
    std::lock_guard lock(mutex);
    ports[i] = port;
  }
};

}  // namespace

TEST_CASE("two collectors on one PostgreSQL: concurrent uploads and kill -9 lose nothing, log each once") {
  REQUIRE_MESSAGE(testing_postgres(), "needs KUZET_TEST_DB=postgresql://… (ctest runs it as test_collector_shared_pg)");
  const std::string binary = collector_binary();
  TempDir dir;
  TestDb db(dir.file("unused.db"));

  // A first, so the shared log key file exists before B reads it.
  Child a = start_collector(binary, db.location(), {"--checkpoint-interval", "1"});
  Child b = start_collector(binary, db.location(), {"--checkpoint-interval", "1"});
  Ports ports;
  ports.ports = {a.port, b.port};

  constexpr int kClients = 4, kBatches = 30, kBatch = 40;
  std::vector<core::KeyPair> keys;
  std::vector<std::vector<std::string>> envelopes(kClients);
  {
    httplib::Client c("127.0.0.1", a.port);
    for (int k = 0; k < kClients; ++k) {
      keys.push_back(core::generate_ed25519());
      auto r = c.Post("/api/v1/probes/register", register_body(keys.back()), "application/json");
      REQUIRE(r);
      REQUIRE(r->status == 200);
      for (int i = 0; i < kBatches * kBatch; ++i) {
        MeasurementSpec s;
        s.uid = uid(k, i);
        s.padding = 800;
        envelopes[k].push_back(signed_envelope(s, keys.back()));
      }
    }
  }

  // Clients 0, 1 start at A; 2, 3 at B. A batch without an answer is sent again, to whichever process is up.
  std::atomic<int> acked_batches{0}, resent{0}, duplicates{0}, refused{0};
  std::mutex acked_mutex;
  std::set<int> acked;  // client * 100000 + i
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k) {
    clients.emplace_back([&, k] {
      size_t process = k < 2 ? 0 : 1;
      for (int batch = 0; batch < kBatches;) {
        httplib::Client c("127.0.0.1", ports.get(process));
        c.set_read_timeout(30, 0);
        c.set_connection_timeout(2, 0);
        std::vector<std::string> items(envelopes[k].begin() + batch * kBatch,
                                       envelopes[k].begin() + (batch + 1) * kBatch);
        auto r = c.Post("/api/v1/measurements", upload_body(items), "application/json");
        if (!r || r->status != 200) {
          if (r) ++refused;  // an answer that is not 200: the process is up but could not store
          ++resent;
          process = 1 - process;  // the other one (or the same, restarted: its port is swapped in)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        const auto answer = json::parse(r->body);
        for (const auto& item : answer["results"]) {
          const auto status = item["status"].get<std::string>();
          CHECK_MESSAGE((status == "stored" || status == "duplicate"), item.dump());
          if (status == "duplicate") ++duplicates;
        }
        {
          std::lock_guard lock(acked_mutex);
          for (int i = batch * kBatch; i < (batch + 1) * kBatch; ++i) acked.insert(k * 100000 + i);
        }
        ++acked_batches;
        ++batch;
      }
    });
  }
  // Kill A while every client is uploading, then bring it back on another port.
  for (int waited = 0; acked_batches < 20 && waited < 60000; waited += 2)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  CHECK(WIFSIGNALED(kill_hard(a.pid)));
  const int acked_at_kill = acked_batches;
  for (int waited = 0; acked_batches < acked_at_kill + 20 && waited < 60000; waited += 5)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  a = start_collector(binary, db.location(), {"--checkpoint-interval", "1"});
  ports.set(0, a.port);
  for (auto& t : clients) t.join();
  CHECK(acked_batches == kClients * kBatches);
  MESSAGE("acknowledged " << acked.size() << " measurements; " << resent.load() << " uploads without an answer were "
          "re-sent, " << duplicates.load() << " of their items had been stored before the kill");
  CHECK(resent >= 1);  // A died under at least one client
  CHECK(refused == 0);  // a live process always stored: neither waited out nor failed on the other's appends

  // Both processes serve every measurement, whoever stored it.
  size_t missing = 0, wrong = 0;
  for (int k = 0; k < kClients; ++k) {
    for (int i = 0; i < kBatches * kBatch; i += 13) {
      httplib::Client c("127.0.0.1", (i / 13) % 2 ? a.port : b.port);
      auto r = c.Get("/api/v1/measurements/" + uid(k, i));
      if (!r || r->status != 200) ++missing;
      else if (r->body != envelopes[k][static_cast<size_t>(i)]) ++wrong;
    }
  }
  CHECK(missing == 0);
  CHECK(wrong == 0);
  // Each process's own timeline index, fed from the shared database, answers the same: every probe is there,
  // whichever process its measurements went to.
  {
    const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    const std::string query = "/api/v1/timeline?cc=KZ&asn=9198&target=www.example.org&bin=1d&from=" +
                              std::to_string(now_s - 3 * 86400) + "&until=" + std::to_string(now_s + 86400);
    httplib::Client ca("127.0.0.1", a.port), cb("127.0.0.1", b.port);
    auto ta = ca.Get(query), tb = cb.Get(query);
    REQUIRE(ta);
    REQUIRE(tb);
    REQUIRE_MESSAGE(ta->status == 200, ta->body);
    CHECK(ta->body == tb->body);
    int most_probes = 0;
    const auto timeline = json::parse(ta->body);
    for (const auto& series : timeline["series"])
      for (const auto& bin : series["bins"]) most_probes = std::max(most_probes, bin.value("probes", 0));
    CHECK_MESSAGE(most_probes == kClients, ta->body.substr(0, 600));  // one key per client
  }
  // A checkpoint covering everything, signed by either (each signs within a second of seeing growth).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  httplib::Client c("127.0.0.1", b.port);
  auto log_key = c.Get("/log/key");
  REQUIRE(log_key);
  std::string error;
  const auto verifier = tlog::parse_verifier_key(log_key->body.substr(0, log_key->body.size() - 1), &error);
  REQUIRE_MESSAGE(verifier, error);
  kill(a.pid, SIGTERM);
  kill(b.pid, SIGTERM);
  CHECK(wait_exit(a.pid, std::chrono::seconds(20)).has_value());
  CHECK(wait_exit(b.pid, std::chrono::seconds(20)).has_value());

  auto store = collector::open_store(db.location());
  const uint64_t total = kClients * kBatches * kBatch;
  CHECK(store->measurement_count() == total);
  const auto head = store->log_head();
  CHECK(head.size == total);  // one entry per measurement: none lost, none logged twice
  // One gap-free sequence 0..n-1, each uid once.
  collector::pg::Connection raw(db.location());
  CHECK(raw.exec("SELECT COUNT(*) FROM measurements").integer(0, 0) == static_cast<int64_t>(total));
  auto stats = raw.exec("SELECT COUNT(*), COUNT(DISTINCT uid), COALESCE(MIN(idx), -1), COALESCE(MAX(idx), -1)"
                        " FROM log_entries");
  CHECK(stats.integer(0, 0) == static_cast<int64_t>(total));
  CHECK(stats.integer(0, 1) == static_cast<int64_t>(total));
  CHECK(stats.integer(0, 2) == 0);
  CHECK(stats.integer(0, 3) == static_cast<int64_t>(total) - 1);
  std::set<std::string> logged;
  for (uint64_t begin = 0; begin < total; begin += 1000)
    for (const auto& m : store->in_log_order(begin, 1000, false)) logged.insert(m.uid);
  CHECK(logged.size() == total);
  for (int k = 0; k < kClients; ++k) CHECK(logged.count(uid(k, 0)) == 1);
  // The entries hash to the head's root, and so do the stored subtree hashes proofs are made from.
  tlog::Frontier rebuilt;
  for (uint64_t begin = 0; begin < total; begin += 1000)
    for (const auto& e : store->log_entries(begin, std::min(total, begin + 1000))) rebuilt.append(tlog::leaf_hash(e));
  CHECK(rebuilt.root() == head.root);
  collector::log::StoreHashes hashes(*store);
  CHECK(tlog::tree_hash(head.size, hashes) == head.root);
  // Every checkpoint of either process is a prefix of the one log; the last covers all of it.
  const auto notes = stored_checkpoints(db);
  size_t inconsistent = 0, full = 0;
  for (const auto& note : notes) {
    const auto cp = tlog::open_checkpoint(note, *verifier, &error);
    if (!cp || cp->size > head.size || tlog::tree_hash(cp->size, hashes) != cp->root) ++inconsistent;
    else if (cp->size == head.size) ++full;
  }
  MESSAGE(notes.size() << " checkpoints signed by the two processes");
  CHECK(notes.size() >= 3);
  CHECK(inconsistent == 0);
  CHECK(full >= 1);
}
