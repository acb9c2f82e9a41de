#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "probe/cli.hpp"
#include "probe/memory/memory.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define KUZET_CHECKS_LEAKS_AT_EXIT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KUZET_CHECKS_LEAKS_AT_EXIT 1
#endif
#endif

int main(int argc, char** argv) {
#ifndef KUZET_CHECKS_LEAKS_AT_EXIT  // the sanitizers bring their own allocator
  // glibc's per-thread cache of freed chunks off: ~1 MB of a 40-target run's peak (probe/memory/memory.hpp).
  kuzet::probe::memory::restart_without_thread_cache(argv);
#endif
  // One malloc arena, not glibc's eight per core: the probe's threads wait on the network, not on malloc, and
  // every extra arena keeps its own freed memory (-0.8 MB resident in the daemon; docs/benchmarks.md, issue 17).
  ::mallopt(M_ARENA_MAX, 1);
  const int status = kuzet::probe::main_cli(argc, argv);
  // Everything main_cli opened is closed and written by now. What exit would still run is the libraries'
  // teardown (OpenSSL, GnuTLS, Kerberos, ...), which frees memory the kernel frees anyway and, after a run
  // gave back their pages (probe/memory/memory.hpp), maps ~2.5 MB of their code again to do it: that alone
  // raised a 40-target run's peak RSS by 2.5 MB (docs/benchmarks.md). So flush and leave; the sanitizer
  // builds keep the normal exit, where the leak check runs.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
#ifndef KUZET_CHECKS_LEAKS_AT_EXIT
  std::_Exit(status);
#endif
  return status;
}
