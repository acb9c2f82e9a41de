#include "probe/cli.hpp"

int main(int argc, char** argv) { return kuzet::probe::main_cli(argc, argv); }
