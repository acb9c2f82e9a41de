#include "probe/cli.hpp"

#include <cstdio>

namespace kuzet::probe {
int main_cli(int, char**) {
  std::fprintf(stderr, "kuzet-probe: not wired up yet\n");
  return 2;
}
}  // namespace kuzet::probe
