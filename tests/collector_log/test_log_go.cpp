// The independent check: a real kuzet-collector on loopback, measurements uploaded, and Go's own
// golang.org/x/mod/sumdb/{note,tlog} (Debian's golang-golang-x-mod-dev, built offline with Debian's Go)
// verify the checkpoint signature, every tile and entry bundle, inclusion proofs, and consistency proofs
// across growth and a restart (tests/tlog/gocheck/main.go); then every C2SP tlog-proof of a kuzet-report
// bundle built from that collector, and the report's tile-based proofs equal the per-measurement ones.
#include <doctest/doctest.h>

#include "reports/report/gather.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/daemon/daemon_fixture.hpp"
#include "tlog/note.hpp"

using namespace kuzet;
using namespace kuzet::daemon_testing;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Process> start_collector(uint16_t port, const std::string& db, const std::string& log) {
  auto p = std::make_unique<Process>(
      std::vector<std::string>{KUZET_COLLECTOR_BIN, "serve", "--listen", "127.0.0.1:" + std::to_string(port), "--db",
                               db, "--checkpoint-interval", "1", "--log-origin", "kuzet.test/log"},
      log);
  REQUIRE_MESSAGE(wait_for([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_connection_timeout(1, 0);
    auto r = c.Get("/healthz");
    return (r && r->status == 200) || !p->running();
  }, 60s), p->stderr_text());
  REQUIRE_MESSAGE(p->running(), p->stderr_text());
  return p;
}

std::string uid(int i) { return "20220105T103000Z_KZ_9198_" + std::to_string(500000 + i); }

void upload(httplib::Client& c, const core::KeyPair& key, int first, int count) {
  for (int at = first; at < first + count; at += 100) {
    std::vector<std::string> batch;
    for (int i = at; i < std::min(first + count, at + 100); ++i) {
      collector::testing::MeasurementSpec s;
      s.uid = uid(i);
      batch.push_back(collector::testing::signed_envelope(s, key));
    }
    auto r = c.Post("/api/v1/measurements", collector::testing::upload_body(batch), "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
  }
}

// The checkpoint once the collector has signed one of `size` entries.
std::string checkpoint_of_size(httplib::Client& c, uint64_t size) {
  std::string note;
  const bool signed_it = wait_for([&] {
    auto r = c.Get("/log/checkpoint");
    if (!r || r->status != 200) return false;
    note = r->body;
    auto text = note.substr(0, note.find("\n\n") + 1);
    std::string error;
    auto cp = tlog::parse_checkpoint(text, &error);
    return cp && cp->size == size;
  }, 30s);
  REQUIRE_MESSAGE(signed_it, "no checkpoint of size " << size << ", last: " << note);
  return note;
}

// Runs a command with the Go environment that uses only Debian's packaged sources, offline.
int run_go(const std::string& command, const TempDir& dir, const std::string& log) {
  const std::string env = "GOPATH=/usr/share/gocode GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local "
                          "GOCACHE=" + dir.file("gocache") + " HOME=" + dir.path.string() + " ";
  const int status = std::system((env + command + " > " + log + " 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("Go's sumdb/note and sumdb/tlog verify the collector's checkpoints, tiles and proofs") {
  TempDir dir;
  const std::string gocheck = dir.file("gocheck");
  REQUIRE_MESSAGE(run_go("go build -o " + gocheck + " " KUZET_GOCHECK_SOURCE, dir, dir.file("go-build.log")) == 0,
                  read_text(dir.file("go-build.log")));

  const uint16_t port = unused_loopback_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const std::string db = dir.file("c.db");
  auto collector = start_collector(port, db, dir.file("collector"));
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(60, 0);
  auto key = core::generate_ed25519();
  REQUIRE(c.Post("/api/v1/probes/register", collector::testing::register_body(key), "application/json")->status == 200);

  upload(c, key, 0, 300);
  write_text(dir.file("old.txt"), checkpoint_of_size(c, 300));
  upload(c, key, 300, 400);  // 700: two full tiles, a partial one, a partial level-1 tile
  checkpoint_of_size(c, 700);
  auto check = [&](const std::string& old_file, const std::vector<int>& uids, const std::string& log) {
    std::string command = gocheck + " -url " + url + " -old " + old_file;
    for (int i : uids) command += " " + uid(i);
    return run_go(command, dir, dir.file(log));
  };
  CHECK_MESSAGE(check(dir.file("old.txt"), {0, 1, 255, 256, 299, 300, 511, 512, 699}, "go1.log") == 0,
                read_text(dir.file("go1.log")));
  const auto out = read_text(dir.file("go1.log"));
  CHECK(out.find("9 inclusion proofs verify") != std::string::npos);
  CHECK(out.find("consistency 300 -> 700 verifies") != std::string::npos);

  // Across a restart: the same log goes on, consistent with what was signed before.
  collector->signal(SIGTERM);
  REQUIRE(collector->wait_exit(60s));
  collector = start_collector(port, db, dir.file("collector2"));
  upload(c, key, 700, 100);
  checkpoint_of_size(c, 800);
  CHECK_MESSAGE(check(dir.file("old.txt"), {5, 750, 799}, "go2.log") == 0, read_text(dir.file("go2.log")));
  CHECK(read_text(dir.file("go2.log")).find("consistency 300 -> 800 verifies") != std::string::npos);

  // kuzet-report's bundle from this collector: Go checks every C2SP tlog-proof in it, offline; a changed hash
  // in one of them fails.
  {
    const auto now = std::chrono::system_clock::now();
    const std::string out_dir = dir.file("report");
    const std::string command = std::string(KUZET_REPORT_BIN) + " build --collector " + url + " --cc KZ --from " +
                                core::format_rfc3339(now - 3h) + " --until " + core::format_rfc3339(now + 1h) +
                                " --out " + out_dir + " --no-pdf --include-unconfirmed > " + dir.file("report.log") +
                                " 2>&1";
    REQUIRE_MESSAGE(std::system(command.c_str()) == 0, read_text(dir.file("report.log")));
    auto key_reply = c.Get("/log/key");
    REQUIRE(key_reply);
    std::string verifier = key_reply->body;
    while (!verifier.empty() && verifier.back() == '\n') verifier.pop_back();
    const std::string bundle = out_dir + "/bundle.json";
    CHECK_MESSAGE(run_go(gocheck + " -bundle " + bundle + " -key " + verifier, dir, dir.file("go-bundle.log")) == 0,
                  read_text(dir.file("go-bundle.log")));
    CHECK(read_text(dir.file("go-bundle.log")).find("800 tlog-proofs of the bundle verify") != std::string::npos);
    std::string tampered = read_text(bundle);
    const size_t at = tampered.find("\\nindex 400\\n");
    REQUIRE(at != std::string::npos);
    const size_t c0 = at + std::string("\\nindex 400\\n").size();
    tampered[c0] = tampered[c0] == 'A' ? 'B' : 'A';
    write_text(dir.file("tampered.json"), tampered);
    CHECK(run_go(gocheck + " -bundle " + dir.file("tampered.json") + " -key " + verifier, dir,
                 dir.file("go-tampered.log")) != 0);
    CHECK(read_text(dir.file("go-tampered.log")).find("(index 400)") != std::string::npos);

    // The report's two ways to the proofs (one request per measurement; the log's tiles) agree.
    report::Params p;
    p.cc = "KZ";
    p.from_ms = core::to_unix_ms(now - 3h);
    p.until_ms = core::to_unix_ms(now + 1h);
    report::HttpLimits per_measurement, tiles;
    per_measurement.proofs = report::ProofFetch::per_measurement;
    tiles.proofs = report::ProofFetch::tiles;
    const auto a = report::gather_from_collector(url, p, core::to_unix_ms(now), per_measurement);
    const auto b = report::gather_from_collector(url, p, core::to_unix_ms(now), tiles);
    REQUIRE(a.measurements.size() == 800);
    REQUIRE(b.measurements.size() == 800);
    CHECK(a.checkpoint == b.checkpoint);
    for (size_t i = 0; i < 800; ++i) {
      REQUIRE(a.measurements[i].proof);
      CHECK(a.measurements[i].proof == b.measurements[i].proof);
    }
  }

  // A checkpoint of another log (another key) is refused by Go: the check can fail.
  const auto other = tlog::make_signer("kuzet.test/log", core::generate_ed25519());
  tlog::Checkpoint forged;
  forged.origin = "kuzet.test/log";
  forged.size = 300;
  forged.root = tlog::leaf_hash("forged");
  write_text(dir.file("forged.txt"), tlog::sign_note(tlog::checkpoint_text(forged), other));
  CHECK(check(dir.file("forged.txt"), {}, "go3.log") != 0);
  CHECK(read_text(dir.file("go3.log")).find("old checkpoint") != std::string::npos);
}
