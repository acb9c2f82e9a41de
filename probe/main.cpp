#include <malloc.h>

#include "probe/cli.hpp"

int main(int argc, char** argv) {
  // One malloc arena, not glibc's eight per core: the probe's threads wait on the network, not on malloc, and
  // every extra arena keeps its own freed memory (-0.8 MB resident in the daemon; docs/benchmarks.md, issue 17).
  ::mallopt(M_ARENA_MAX, 1);
  return kuzet::probe::main_cli(argc, argv);
}
