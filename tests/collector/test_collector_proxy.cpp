// The production set-up (docs/deployment.md, packaging/nginx/kuzet-collector.conf): Debian's nginx
// terminates TLS on loopback with a self-signed certificate and proxies to kuzet-collector, which
// believes X-Real-IP only from it. nginx connects to the collector from 127.0.0.3 (--trusted-proxy
// 127.0.0.3), the probe from 127.0.0.1: the collector must see 127.0.0.1, never 127.0.0.3, and a
// client's forged headers must change nothing.
#include <doctest/doctest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>

#include "tests/collector/support/child_collector.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/loopback_port.hpp"

using namespace kuzet;
using namespace kuzet::collector::testing;

namespace {

std::string find_nginx() {
  for (const char* p : {"/usr/sbin/nginx", "/usr/bin/nginx"})
    if (std::filesystem::exists(p)) return p;
  FAIL("nginx is not installed (scripts/install-deps.sh --test)");
  return "";
}

// The nginx site of docs/deployment.md, with test paths; master_process off keeps it one process.
std::string nginx_conf(const TempDir& dir, uint16_t tls_port, uint16_t collector_port) {
  const std::string d = dir.path.string();
  return "daemon off;\nmaster_process off;\npid " + d + "/nginx.pid;\nerror_log " + d + "/error.log;\n"
         "events { worker_connections 256; }\n"
         "http {\n"
         "  access_log off;\n"
         "  client_body_temp_path " + d + "/body; proxy_temp_path " + d + "/proxy;\n"
         "  fastcgi_temp_path " + d + "/fcgi; uwsgi_temp_path " + d + "/uwsgi; scgi_temp_path " + d + "/scgi;\n"
         "  include " + d + "/kuzet-site.conf;\n"
         "}\n";
}

std::string site_conf(const TempDir& dir, uint16_t tls_port, uint16_t collector_port) {
  const std::string d = dir.path.string();
  std::ifstream in(KUZET_DEPLOYMENT_SITE);
  REQUIRE(in);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
  };
  replace("listen 443 ssl;", "listen 127.0.0.1:" + std::to_string(tls_port) + " ssl;");
  replace("listen [::]:443 ssl;", "");
  replace("/etc/ssl/kuzet/fullchain.pem", d + "/cert.pem");
  replace("/etc/ssl/kuzet/privkey.pem", d + "/key.pem");
  replace("127.0.0.1:8080", "127.0.0.1:" + std::to_string(collector_port));
  replace("proxy_pass http://kuzet_collector;", "proxy_pass http://kuzet_collector; proxy_bind 127.0.0.3;");
  return text;
}

}  // namespace

TEST_CASE("behind nginx with TLS: uploads pass and the collector sees the client's address") {
  const std::string nginx = find_nginx();
  TempDir dir;
  REQUIRE(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                       "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout " + dir.file("key.pem") +
                       " -out " + dir.file("cert.pem") + " 2>/dev/null").c_str()) == 0);
  const std::string tsv = dir.file("asn.tsv");
  std::ofstream(tsv) << "127.0.0.1\t127.0.0.1\t64501\tXA\tProbe network\n"
                        "127.0.0.2\t127.0.0.2\t64502\tXB\tAttacker network\n"
                        "127.0.0.3\t127.0.0.3\t64503\tXC\tProxy host\n";

  TestDb db(dir.file("c.db"));
  Child collector = start_collector(collector_binary(), db.location(),
                                    {"--asn-db", tsv, "--trusted-proxy", "127.0.0.3"});
  const uint16_t tls_port = kuzet::testing::unused_loopback_port();
  std::ofstream(dir.file("nginx.conf")) << nginx_conf(dir, tls_port, collector.port);
  std::ofstream(dir.file("kuzet-site.conf")) << site_conf(dir, tls_port, collector.port);
  int nginx_out = -1;
  pid_t nginx_pid = spawn(nginx, {"-p", dir.path.string(), "-c", dir.file("nginx.conf"), "-e", dir.file("error.log")},
                          &nginx_out);
  close(nginx_out);
  // Ready when it accepts TLS (bounded).
  httplib::SSLClient probe("127.0.0.1", tls_port);
  probe.set_ca_cert_path(dir.file("cert.pem"));
  probe.enable_server_certificate_verification(true);
  probe.set_connection_timeout(5, 0);
  probe.set_read_timeout(30, 0);
  bool up = false;
  for (int i = 0; i < 200 && !up; ++i) {
    up = static_cast<bool>(probe.Get("/healthz"));
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(up, "nginx did not come up; see " << dir.file("error.log"));

  if (up) {
    // The collector sees the probe (127.0.0.1, AS64501), not nginx (127.0.0.3, AS64503).
    auto who = probe.Get("/api/v1/whoami");
    REQUIRE(who);
    CHECK(nlohmann::json::parse(who->body)["asn"] == 64501);

    auto key = core::generate_ed25519();
    auto reg = probe.Post("/api/v1/probes/register", register_body(key), "application/json");
    REQUIRE(reg);
    CHECK(reg->status == 200);
    MeasurementSpec s;
    s.uid = "through-nginx-1";
    s.started_at = now_plus(std::chrono::minutes(-1));
    auto up_r = probe.Post("/api/v1/measurements", upload_body({signed_envelope(s, key)}), "application/json");
    REQUIRE(up_r);
    CHECK(up_r->status == 200);
    auto back = probe.Get("/api/v1/measurements/through-nginx-1");
    REQUIRE(back);
    CHECK(back->status == 200);
    CHECK(back->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(back->get_header_value("Strict-Transport-Security").find("max-age=") == 0);

    // A forged X-Real-IP from the client is replaced by nginx ($remote_addr), so it changes nothing.
    httplib::Headers forged{{"X-Real-IP", "127.0.0.2"}, {"X-Forwarded-For", "127.0.0.2"}};
    auto forged_who = probe.Get("/api/v1/whoami", forged);
    REQUIRE(forged_who);
    CHECK(nlohmann::json::parse(forged_who->body)["asn"] == 64501);

    // Straight to the collector from an untrusted address, the same forged header is ignored.
    std::string direct = request_from("127.0.0.2", collector.port,
                                      "GET /api/v1/whoami HTTP/1.1\r\nHost: kuzet\r\nConnection: close\r\n"
                                      "X-Real-IP: 127.0.0.1\r\n\r\n");
    CHECK(direct.find("\"asn\":64502") != std::string::npos);
  }
  kill(nginx_pid, SIGTERM);
  if (!wait_exit(nginx_pid, std::chrono::seconds(10))) kill_hard(nginx_pid);
  kill(collector.pid, SIGTERM);
  if (!wait_exit(collector.pid, std::chrono::seconds(20))) kill_hard(collector.pid);
}
