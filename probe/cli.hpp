#pragma once

namespace kuzet::probe {
// Entry point of kuzet-probe: parses the command line and runs a subcommand. Returns the exit code.
int main_cli(int argc, char** argv);
}  // namespace kuzet::probe
