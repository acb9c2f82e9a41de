// Fuzzes the ASN database loaders the collector starts with (--asn-db): the iptoasn TSV parser, and the
// MaxMind .mmdb path (libmaxminddb maps the file; our lookups read it). The first byte picks the format.
// A bad file is a startup error (std::runtime_error), never a crash; lookups of any address never crash.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "collector/network/asn_db.hpp"

namespace {

const char* const kAddresses[] = {"0.0.0.0", "1.2.3.4", "10.0.0.1", "81.88.1.1", "255.255.255.255", "::",
                                  "2001:db8::1", "::ffff:1.2.3.4", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                  "not an address", ""};

void lookups(const kuzet::collector::network::AsnDatabase& db) {
  for (const char* address : kAddresses) {
    const auto info = db.lookup(address);
    if (info.asn == 0 && !info.as_name.empty()) __builtin_trap();  // a name without a number is no answer
  }
}

// The .mmdb path reads a file: one per process, rewritten for every input. The name is never destroyed:
// libFuzzer ends a timed run with exit() from another thread while inputs still run, and a static
// std::string destroyed by then was read after free (ASan in the instrumented build).
const std::string& mmdb_path() {
  static const std::string* path = [] {
    const char* dir = std::getenv("TMPDIR");
    auto* p = new std::string(std::string(dir && *dir ? dir : "/tmp") + "/kuzet-fuzz-asn-" +
                              std::to_string(getpid()) + ".mmdb");
    std::atexit([] { std::remove(mmdb_path().c_str()); });
    return p;
  }();
  return *path;
}

}  // namespace

// Debian 12's libmaxminddb 1.7.1 leaks 4.6 KB (an entry-data pool) when MMDB_open fails on a corrupt data
// section: a plain C program that only calls MMDB_open on the corpus input leak-mmdb-open leaks the same, so
// it is the library's, not ours. For the collector it is a startup error (exit 2) and cannot add up. The
// library has no symbols, so LeakSanitizer is told to skip every allocation made inside it, in this harness
// only; that would also hide a missing MMDB_close of ours (MmdbAsnDatabase closes in its destructor).
extern "C" const char* __lsan_default_suppressions() { return "leak:libmaxminddb.so\n"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] & 1) {
      FILE* f = std::fopen(mmdb_path().c_str(), "wb");
      if (!f) return 0;
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
      lookups(*kuzet::collector::network::load_asn_database(mmdb_path()));
    } else {
      lookups(*kuzet::collector::network::TsvAsnDatabase::parse(text));
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
