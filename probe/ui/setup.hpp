#pragma once
// `kuzet-probe setup`: from an installed package to a configured probe, guided: consent, collectors (checked
// live), schedule, specs, data directory; writes the config and prints the next step. Interactive on stdin
// (prompts on stdout), or driven by options (--non-interactive asks nothing). `kuzet-probe consent` prints
// the consent text.
namespace kuzet::probe::ui {

int setup_command(int argc, char** argv);
int consent_command(int argc, char** argv);

}  // namespace kuzet::probe::ui
