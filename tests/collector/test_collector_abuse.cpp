// A collector that stays up (issue 10, part 4), against the real binary on loopback: slow clients,
// control bursts, a huge chunked body, a second collector on the same port, SIGTERM during start-up,
// a registration flood, forged client-address headers. Attackers connect from other 127.0.0.0/8
// addresses than the honest client (127.0.0.1), as they would from other networks.
#include <doctest/doctest.h>
#include <httplib.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "tests/collector/support/child_collector.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/collector/support/server_fixture.hpp"

using namespace kuzet;
using namespace kuzet::collector::testing;

namespace {

struct RunningBinary {
  TempDir dir;
  TestDb db{dir.file("c.db")};
  Child child;
  explicit RunningBinary(const std::vector<std::string>& extra = {}) {
    child = start_collector(collector_binary(), db.location(), extra);
  }
  ~RunningBinary() {
    if (child.pid > 0) kill_hard(child.pid);
  }
  httplib::Client client(int read_timeout_s = 10) const {
    httplib::Client c("127.0.0.1", child.port);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(read_timeout_s, 0);
    c.set_write_timeout(10, 0);
    return c;
  }
};

// A signed upload of one fresh measurement; the HTTP status (0 when no answer came).
int upload_one(httplib::Client& c, const core::KeyPair& key, const std::string& uid) {
  MeasurementSpec s;
  s.uid = uid;
  s.started_at = now_plus(std::chrono::minutes(-1));
  auto r = c.Post("/api/v1/measurements", upload_body({signed_envelope(s, key)}), "application/json");
  return r ? r->status : 0;
}

int health(httplib::Client& c) {
  auto r = c.Get("/healthz");
  return r ? r->status : 0;
}

std::string source(int i) { return "127.0.0." + std::to_string(2 + i); }

// Sends one byte a second to each socket (for at most a minute): a per-recv timeout never fires.
class Trickler {
 public:
  Trickler(const std::vector<int>& fds, char byte)
      : thread_([this, fds, byte] {
          for (int round = 0; round < 60 && !done_; ++round) {
            for (int fd : fds) (void)send(fd, &byte, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            for (int t = 0; t < 10 && !done_; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
          }
        }) {}
  ~Trickler() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("64 slow clients do not stop /healthz or uploads") {
  RunningBinary collector;
  auto c = collector.client();
  auto key = registered_key(c);

  // Each sends part of a head, then one byte a second: a per-recv timeout never fires.
  std::vector<int> slow;
  for (int i = 0; i < 64; ++i) {
    int fd = connect_from(source(i), collector.child.port);
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, "GET /healthz HTTP/1.1\r\nHost: kuzet\r\nX-Slow: "));
    slow.push_back(fd);
  }
  Trickler trickle(slow, 'a');
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all 64 are in their heads by now

  for (int i = 0; i < 5; ++i) CHECK(health(c) == 200);
  CHECK(upload_one(c, key, "slow-clients-upload-1") == 200);
  CHECK(upload_one(c, key, "slow-clients-upload-2") == 200);

  trickle.stop();
  for (int fd : slow) close(fd);
}

TEST_CASE("64 clients trickling their bodies do not stop /healthz or uploads") {
  RunningBinary collector;
  auto c = collector.client();
  auto key = registered_key(c);

  // Complete heads, then one body byte a second: Content-Length, chunked, and Expect: 100-continue (the
  // guard answers 100 itself). 32 come from one address (its connection limit), 32 from 32 others.
  const std::vector<std::string> heads = {
      "POST /api/v1/measurements HTTP/1.1\r\nHost: kuzet\r\nContent-Type: application/json\r\n"
      "Content-Length: 100000\r\n\r\n{",
      "POST /api/v1/measurements HTTP/1.1\r\nHost: kuzet\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n{",
      "POST /api/v1/control HTTP/1.1\r\nHost: kuzet\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
  };
  std::vector<int> slow;
  for (int i = 0; i < 64; ++i) {
    int fd = connect_from(i < 32 ? source(0) : source(i), collector.child.port);
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, heads[i % heads.size()]));
    slow.push_back(fd);
  }
  Trickler trickle(slow, ' ');
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // all 64 are in their bodies by now

  auto quick = collector.client(3);  // a worker taken by a trickler would make these time out
  for (int i = 0; i < 5; ++i) CHECK(health(quick) == 200);
  CHECK(upload_one(quick, key, "slow-bodies-upload-1") == 200);
  CHECK(upload_one(quick, key, "slow-bodies-upload-2") == 200);

  // The Expect: 100-continue clients got their 100 from the guard.
  char answer[64] = {};
  pollfd p{slow[2], POLLIN, 0};
  REQUIRE(poll(&p, 1, 2000) == 1);
  REQUIRE(recv(slow[2], answer, sizeof answer - 1, 0) > 0);
  CHECK(std::string(answer).rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);

  trickle.stop();
  for (int fd : slow) close(fd);
}

TEST_CASE("a body received by the guard still reaches the handler whole; keep-alive and pipelining work") {
  RunningBinary collector;
  auto c = collector.client();
  auto key = registered_key(c);
  MeasurementSpec s;
  s.uid = "framed-upload";
  s.started_at = now_plus(std::chrono::minutes(-1));
  const std::string body = upload_body({signed_envelope(s, key)});
  int fd = connect_from(source(40), collector.child.port);
  REQUIRE(fd >= 0);
  // Chunked in odd pieces, with a pipelined /healthz behind it on the same connection.
  std::string wire = "POST /api/v1/measurements HTTP/1.1\r\nHost: kuzet\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += 700) {
    const std::string piece = body.substr(at, 700);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    wire += size + piece + "\r\n";
  }
  wire += "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: kuzet\r\nConnection: close\r\n\r\n";
  for (size_t at = 0; at < wire.size(); at += 333) {
    REQUIRE(send_all(fd, wire.substr(at, 333)));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::string answers;
  char buf[4096];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) answers.append(buf, static_cast<size_t>(n));
  close(fd);
  CHECK(answers.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(answers.find("\"stored\"") != std::string::npos);
  CHECK(answers.find("HTTP/1.1 200", 10) != std::string::npos);  // the pipelined /healthz
}

TEST_CASE("a connection flood from one address is limited; others still get in") {
  RunningBinary collector({"--max-connections-per-source", "8"});
  std::vector<int> held;
  int refused = 0;
  for (int i = 0; i < 20; ++i) {
    int fd = connect_from("127.0.0.2", collector.child.port, 3);
    REQUIRE(fd >= 0);  // the kernel accepts; the collector answers 503 and closes over the limit
    held.push_back(fd);
  }
  std::vector<bool> seen(held.size(), false);
  for (int round = 0; round < 100 && refused < 12; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (size_t i = 0; i < held.size(); ++i) {
      char buf[64];
      ssize_t n = seen[i] ? 0 : recv(held[i], buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0 && std::string(buf, static_cast<size_t>(n)).find(" 503 ") != std::string::npos) {
        seen[i] = true;
        ++refused;
      }
    }
  }
  CHECK(refused == 12);  // 8 admitted, wait for their heads
  auto c = collector.client();
  CHECK(health(c) == 200);
  for (int fd : held) close(fd);
}

TEST_CASE("a burst of control requests does not stop /healthz or uploads") {
  // A resolver that never answers: every control target waits for its whole deadline.
  int dns = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  REQUIRE(bind(dns, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  getsockname(dns, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string resolver = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  RunningBinary collector({"--resolver", resolver});
  auto c = collector.client();
  auto upload_key = registered_key(c);
  std::vector<core::KeyPair> keys{registered_key(c), registered_key(c)};

  std::atomic<int> answered{0};
  std::vector<std::thread> burst;
  for (int i = 0; i < 20; ++i) {
    burst.emplace_back([&, i] {
      const auto& key = keys[static_cast<size_t>(i % 2)];
      // Six names each: more waiting targets than the collector measures at once, so each request
      // holds on until its deadline.
      std::string targets;
      for (int t = 0; t < 6; ++t)
        targets += std::string(t ? "," : "") + R"({"url":"https://unresolvable-)" + std::to_string(i * 10 + t) + R"(.example/"})";
      std::string body = R"({"deadline_ms":12000,"targets":[)" + targets + "]}";
      httplib::Headers h{{"X-Kuzet-Key", core::base64_encode(key.public_key)},
                         {"X-Kuzet-Signature", core::base64_encode(core::ed25519_sign(key, body))}};
      auto cc = collector.client(60);
      if (cc.Post("/api/v1/control", h, body, "application/json")) answered++;
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // the burst is in
  // While the burst is measuring (12 s each), health checks and uploads are answered. The 5 s read
  // timeout only tells "answered" from "stuck behind the burst".
  auto quick = collector.client(5);
  for (int i = 0; i < 3; ++i) CHECK(health(quick) == 200);
  CHECK(upload_one(quick, upload_key, "control-burst-upload") == 200);
  for (auto& t : burst) t.join();
  CHECK(answered == 20);  // every control request got an answer (results, or 429/503 when over budget)
  close(dns);
}

TEST_CASE("a 300 MiB chunked body is refused with bounded memory") {
  RunningBinary collector;
  const long before = peak_rss_kib(collector.child.pid);
  int fd = connect_from("127.0.0.1", collector.child.port);
  REQUIRE(fd >= 0);
  REQUIRE(send_all(fd, "POST /api/v1/measurements HTTP/1.1\r\nHost: kuzet\r\nContent-Type: application/json\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n"));
  const std::string mib(1 << 20, ' ');
  char size_line[32];
  snprintf(size_line, sizeof size_line, "%zx\r\n", mib.size());
  const std::string chunk = std::string(size_line) + mib + "\r\n";
  int sent_mib = 0;
  for (; sent_mib < 300; ++sent_mib)
    if (!send_all(fd, chunk)) break;  // the collector stopped reading and closed
  if (sent_mib == 300) send_all(fd, "0\r\n\r\n");
  const std::string answer = read_all(fd);
  close(fd);
  CHECK(sent_mib < 300);
  CHECK(status_of(answer) == 413);
  const long peak = peak_rss_kib(collector.child.pid);
  MESSAGE("collector peak RSS " << before / 1024 << " MiB before, " << peak / 1024 << " MiB after; sent " << sent_mib
                                << " MiB");
  CHECK(peak - before < 100 * 1024);  // the cap is 16 MiB (+ an eighth for chunk framing)
  auto c = collector.client();
  CHECK(health(c) == 200);
}

// `text` in gzip's format (zlib's deflate with a gzip wrapper).
std::string gzipped(const std::string& text) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, text.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST_CASE("a compressed body is refused unread: no decompression bomb") {
  RunningBinary collector;
  auto c = collector.client();
  auto key = registered_key(c);
  // 256 MiB of JSON whitespace in ~250 KB of gzip: httplib alone would inflate all of it into memory.
  const std::string bomb = gzipped("{\"measurements\":[" + std::string(256u << 20, ' ') + "]}");
  REQUIRE(bomb.size() < (1u << 20));
  const long before = peak_rss_kib(collector.child.pid);
  for (const char* coding : {"gzip", "identity, gzip", "br"}) {
    CAPTURE(coding);
    auto r = c.Post("/api/v1/measurements", {{"Content-Encoding", coding}}, bomb, "application/json");
    REQUIRE(r);
    CHECK(r->status == 415);
    CHECK(r->body.find("\"unsupported_encoding\"") != std::string::npos);
  }
  const long peak = peak_rss_kib(collector.child.pid);
  MESSAGE("collector peak RSS " << before / 1024 << " MiB before, " << peak / 1024 << " MiB after");
  CHECK(peak - before < 32 * 1024);
  // "identity" names no coding: the upload is stored as without the header.
  MeasurementSpec s;
  s.uid = "identity-coded-upload";
  s.started_at = now_plus(std::chrono::minutes(-1));
  auto r = c.Post("/api/v1/measurements", {{"Content-Encoding", "identity"}}, upload_body({signed_envelope(s, key)}),
                  "application/json");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(health(c) == 200);
}

TEST_CASE("a Range of many parts gets the whole answer once, not a copy per part") {
  RunningBinary collector;
  auto c = collector.client();
  auto whole = c.Get("/api/v1/openapi.json");
  REQUIRE(whole);
  REQUIRE(whole->status == 200);
  REQUIRE(whole->body.size() > 10000);
  // 2,500 parts (httplib takes header lines up to 8 KiB), each the whole answer: ~75 MB built in memory by
  // httplib 0.11 on its own, and ~9 GB for a 3.5 MB page of the list API.
  std::string parts = "bytes=0-";
  for (int i = 1; i < 2500; ++i) parts += ",0-";
  const long before = peak_rss_kib(collector.child.pid);
  auto many = c.Get("/api/v1/openapi.json", {{"Range", parts}});
  REQUIRE(many);
  CHECK(many->status == 200);
  CHECK(many->body == whole->body);
  const long peak = peak_rss_kib(collector.child.pid);
  MESSAGE("collector peak RSS " << before / 1024 << " MiB before, " << peak / 1024 << " MiB after");
  CHECK(peak - before < 32 * 1024);
  // One range cannot amplify: still answered as a part.
  auto one = c.Get("/api/v1/openapi.json", {{"Range", "bytes=0-99"}});
  REQUIRE(one);
  CHECK(one->status == 206);
  CHECK(one->body == whole->body.substr(0, 100));
}

TEST_CASE("answers are compressed with gzip or not at all, never with Brotli at its slowest") {
  RunningBinary collector;
  auto raw = collector.client();
  raw.set_decompress(false);
  auto plain = raw.Get("/api/v1/openapi.json");
  REQUIRE(plain);
  REQUIRE(plain->status == 200);
  CHECK_FALSE(plain->has_header("Content-Encoding"));
  // (Accept-Encoding lines, the coding of the answer): what curl and browsers send, weights, refusals.
  const std::vector<std::pair<httplib::Headers, std::string>> cases = {
      {{{"Accept-Encoding", "br"}}, ""},
      {{{"Accept-Encoding", "deflate, gzip, br, zstd"}}, "gzip"},
      {{{"Accept-Encoding", "br;q=1.0, gzip;q=0.5"}}, "gzip"},
      {{{"Accept-Encoding", "*"}}, "gzip"},
      {{{"Accept-Encoding", "br, gzip;q=0"}}, ""},
      {{{"Accept-Encoding", "gzip; q=0.000, *"}}, ""},
      {{{"Accept-Encoding", "identity"}}, ""},
      {{{"Accept-Encoding", "br"}, {"Accept-Encoding", "GZIP"}}, "gzip"},
  };
  for (const auto& [headers, coding] : cases) {
    CAPTURE(headers.begin()->second);
    auto r = raw.Get("/api/v1/openapi.json", headers);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Encoding") == coding);
    if (coding.empty()) CHECK(r->body == plain->body);
    else CHECK(r->body.size() < plain->body.size());
  }
  // The gzip answer is the same document.
  auto inflating = collector.client();
  auto gzipped = inflating.Get("/api/v1/openapi.json", {{"Accept-Encoding", "br, gzip"}});
  REQUIRE(gzipped);
  CHECK(gzipped->body == plain->body);
}

TEST_CASE("a second collector on a port in use exits with status 2") {
  RunningBinary first;
  TempDir dir;
  TestDb db(dir.file("b.db"));
  std::vector<std::string> args{"serve", "--listen", "127.0.0.1:" + std::to_string(first.child.port)};
  for (const auto& a : db.serve_args()) args.push_back(a);
  int out = -1;
  pid_t second = spawn(collector_binary(), args, &out);
  auto status = wait_exit(second, std::chrono::seconds(20));
  close(out);
  if (!status) kill_hard(second);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 2);
}

TEST_CASE("SIGTERM during start-up is honoured") {
  TempDir dir;
  // The ASN database is a FIFO: start-up blocks reading it until the test writes.
  const std::string fifo = dir.file("asn.tsv");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  TestDb db(dir.file("c.db"));
  std::vector<std::string> args{"serve", "--listen", "127.0.0.1:0", "--asn-db", fifo};
  for (const auto& a : db.serve_args()) args.push_back(a);
  int out = -1;
  pid_t pid = spawn(collector_binary(), args, &out);
  // A non-blocking open for writing succeeds once the collector has the FIFO open: it is in start-up.
  int writer = -1;
  for (int i = 0; i < 1000 && writer < 0; ++i) {
    writer = open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (writer < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(writer >= 0);
  kill(pid, SIGTERM);
  auto status = wait_exit(pid, std::chrono::seconds(20));
  close(writer);  // lets a collector that ignored the signal finish start-up
  if (!status) {
    // Still there: the signal was lost. Is it at least honoured now?
    auto later = (kill(pid, SIGTERM), wait_exit(pid, std::chrono::seconds(5)));
    if (!later) kill_hard(pid);
  }
  close(out);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("SIGTERM while serving stops the collector") {
  RunningBinary collector;
  kill(collector.child.pid, SIGTERM);
  auto status = wait_exit(collector.child.pid, std::chrono::seconds(20));
  REQUIRE(status.has_value());
  collector.child.pid = -1;
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE("a registration flood from one /24 is rate-limited; other networks still register") {
  RunningBinary collector;
  auto registration = [&](const std::string& from) {
    auto key = core::generate_ed25519();
    const std::string body = register_body(key);
    return status_of(request_from(from, collector.child.port,
                                  "POST /api/v1/probes/register HTTP/1.1\r\nHost: kuzet\r\nConnection: close\r\n"
                                  "Content-Type: application/json\r\nContent-Length: " +
                                      std::to_string(body.size()) + "\r\n\r\n" + body));
  };
  int accepted = 0, limited = 0;
  for (int i = 0; i < 60; ++i) {
    // Spread over the /24 (127.0.0.2 ... 127.0.0.61): per-address limits would not see it.
    const int status = registration(source(i));
    if (status == 200) ++accepted;
    if (status == 429) ++limited;
  }
  CHECK(accepted >= 1);
  CHECK(accepted <= 30);
  CHECK(limited >= 30);
  CHECK(registration("127.0.1.2") == 200);  // another /24
}

TEST_CASE("client-address headers count only from a trusted proxy") {
  TempDir dir;
  const std::string tsv = dir.file("asn.tsv");
  std::ofstream(tsv) << "127.0.0.1\t127.0.0.1\t64501\tXA\tHonest\n"
                        "127.0.0.2\t127.0.0.2\t64502\tXB\tAttacker\n"
                        "127.0.0.3\t127.0.0.3\t64503\tXC\tProxy\n";
  RunningBinary collector({"--asn-db", tsv, "--trusted-proxy", "127.0.0.3"});
  auto whoami_asn = [&](const std::string& from, const std::string& headers) {
    std::string answer = request_from(from, collector.child.port,
                                      "GET /api/v1/whoami HTTP/1.1\r\nHost: kuzet\r\nConnection: close\r\n" + headers + "\r\n");
    auto body = answer.substr(std::min(answer.size(), answer.find("\r\n\r\n") + 4));
    auto j = nlohmann::json::parse(body, nullptr, false);
    return j.is_object() && j.contains("asn") ? j["asn"].get<int64_t>() : -1;
  };
  CHECK(whoami_asn("127.0.0.2", "") == 64502);
  // Forged by the client itself: ignored.
  CHECK(whoami_asn("127.0.0.2", "X-Real-IP: 127.0.0.1\r\n") == 64502);
  CHECK(whoami_asn("127.0.0.2", "X-Forwarded-For: 127.0.0.1\r\n") == 64502);
  // From the trusted proxy: believed.
  CHECK(whoami_asn("127.0.0.3", "X-Real-IP: 127.0.0.1\r\n") == 64501);
  CHECK(whoami_asn("127.0.0.3", "X-Forwarded-For: 127.0.0.9, 127.0.0.2\r\n") == 64502);
  CHECK(whoami_asn("127.0.0.3", "") == 64503);
}

TEST_CASE("answers carry the security headers") {
  RunningBinary collector;
  auto c = collector.client();
  for (const char* path : {"/", "/healthz", "/api/v1/measurements"}) {
    auto r = c.Get(path);
    REQUIRE(r);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
    const auto csp = r->get_header_value("Content-Security-Policy");
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(csp.find("frame-ancestors 'none'") != std::string::npos);
    CHECK(r->get_header_value("Referrer-Policy") == "no-referrer");
  }
}
