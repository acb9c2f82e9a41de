// bench_trust_store (issue 17): what loading a CA bundle costs a run before its first measurement, OpenSSL's
// eager loader (X509_STORE_load_file: every certificate decoded) against TrustStore's index (decoded when a
// chain asks for the subject), and the first chain verified against each.
//
// Usage: bench_trust_store [--runs N] [BUNDLE_DIR_OR_FILE]   (default /usr/share/ca-certificates/mozilla)
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "measure/tls.hpp"
#include "probe/config.hpp"
#include "tests/tls/test_pki.hpp"

using namespace kuzet;
namespace fs = std::filesystem;

namespace {

double cpu_ms() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;
}

// Median wall and CPU milliseconds of `runs` calls, each in a child forked for it, so that no run finds the
// certificates an earlier one decoded (the parent's OpenSSL is initialised already: a probe's first run pays
// a few ms more).
void time_median(const char* label, int runs, const std::function<void()>& body) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < runs; ++i) {
    int fds[2];
    if (pipe(fds) != 0) return;
    const pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      const double c0 = cpu_ms();
      const auto t0 = std::chrono::steady_clock::now();
      body();
      const auto elapsed = std::chrono::steady_clock::now() - t0;
      const double result[2] = {std::chrono::duration<double, std::milli>(elapsed).count(), cpu_ms() - c0};
      (void)!write(fds[1], result, sizeof result);
      _exit(0);
    }
    close(fds[1]);
    double result[2] = {0, 0};
    const bool got = read(fds[0], result, sizeof result) == static_cast<ssize_t>(sizeof result);
    close(fds[0]);
    waitpid(child, nullptr, 0);
    if (!got) return;
    wall.push_back(result[0]);
    cpu.push_back(result[1]);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  std::printf("  %-64s %7.2f ms wall %7.2f ms CPU (median of %d)\n", label, wall[wall.size() / 2],
              cpu[cpu.size() / 2], runs);
}

X509_STORE* eager_store(const std::string& path) {
  X509_STORE* store = X509_STORE_new();
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::directory_iterator(path)) files.push_back(entry.path());
  } else {
    files.push_back(path);
  }
  for (const auto& file : files) X509_STORE_load_file(store, file.c_str());
  ERR_clear_error();
  return store;
}

// Verifies a chain whose root is one the bundle does not hold (every lookup misses), as a blocked or
// intercepted site's chain would: the worst case for the index is a miss, which decodes nothing.
bool verify_once(X509_STORE* store, X509* leaf) {
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 9;
  std::string bundle(kuzet::probe::kDefaultPublicCaBundle);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else bundle = argv[i];
  }
  if (!fs::exists(bundle)) {
    std::fprintf(stderr, "bench_trust_store: %s does not exist\n", bundle.c_str());
    return 2;
  }
  std::printf("bench_trust_store: %s, %zu certificates\n", bundle.c_str(),
              measure::TrustStore::load_public(bundle)->certificates());

  // A chain that reaches none of the bundle's roots: every issuer lookup misses.
  const auto root = test_tls::make_root("Bench Root Not In Any Bundle");
  const auto leaf_pem = test_tls::make_leaf(root, {"bench.example"}).der();
  const auto* p = reinterpret_cast<const unsigned char*>(leaf_pem.data());
  X509* leaf = d2i_X509(nullptr, &p, static_cast<long>(leaf_pem.size()));

  time_median("load, OpenSSL's eager loader (every certificate decoded)", runs,
              [&] { X509_STORE_free(eager_store(bundle)); });
  time_median("load, TrustStore::load_public (indexed by subject)", runs,
              [&] { (void)measure::TrustStore::load_public(bundle); });
  time_median("load + one verification (a miss), eager", runs, [&] {
    X509_STORE* store = eager_store(bundle);
    verify_once(store, leaf);
    X509_STORE_free(store);
  });
  time_median("load + one verification (a miss), indexed", runs, [&] {
    const auto trust = measure::TrustStore::load_public(bundle);
    verify_once(trust->store(), leaf);
  });
  time_median("system store, X509_STORE_set_default_paths (its file decoded)", runs, [&] {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_set_default_paths(store);
    X509_STORE_free(store);
  });
  time_median("system store, TrustStore::load(\"\") (its file indexed)", runs,
              [&] { (void)measure::TrustStore::load(""); });
  X509_free(leaf);
  return 0;
}
