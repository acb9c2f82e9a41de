#pragma once
// What the probe benchmarks measure against, all on loopback: a fake DNS server answering 127.0.0.1 for
// *.bench.test, one HTTPS server (test PKI) for every site, and a temporary directory holding the CA bundle
// and a spec of the sites.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tests/dns/fake_dns_server.hpp"
#include "tests/http/fake_http_server.hpp"
#include "tests/tls/test_pki.hpp"

namespace kuzet::bench {

class LoopbackSites {
 public:
  explicit LoopbackSites(const std::string& name)
      : dns_(answer_loopback()),
        dir_(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()))) {
    auto root = test_tls::make_root("Kuzet Bench Root");
    auto leaf = test_tls::make_leaf(root, {"*.bench.test"});
    std::filesystem::create_directories(dir_);
    test_tls::write_bundle(ca(), {root});
    test_http::FakeServerOptions options;
    options.tls_cert_pem = test_tls::pem_bundle({leaf, root});
    options.tls_key_pem = leaf.key_pem;
    server_ = std::make_unique<test_http::FakeHttpServer>(options);
  }
  ~LoopbackSites() {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes spec_path() with site i (siteNN.bench.test) asking for paths[i]; returns the URLs in that order.
  std::vector<std::string> write_spec(const std::vector<std::string>& paths) const {
    std::vector<std::string> urls;
    std::ofstream spec(spec_path());
    spec << "targets:\n";
    for (size_t i = 0; i < paths.size(); ++i) {
      char host[32];
      std::snprintf(host, sizeof host, "site%02zu.bench.test", i);
      urls.push_back("https://" + std::string(host) + ":" + std::to_string(server_->port()) + paths[i]);
      spec << "  - {url: \"" << urls.back() << "\", category: news}\n";
    }
    return urls;
  }

  std::string resolver() const { return dns_.address(); }
  std::string ca() const { return (dir_ / "ca.pem").string(); }
  std::string spec_path() const { return (dir_ / "bench.yaml").string(); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  static tests::FakeDnsConfig answer_loopback() {
    tests::FakeDnsConfig config;
    config.a = {"127.0.0.1"};
    return config;
  }
  tests::FakeDnsServer dns_;
  std::filesystem::path dir_;
  std::unique_ptr<test_http::FakeHttpServer> server_;
};

}  // namespace kuzet::bench
