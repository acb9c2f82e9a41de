#pragma once
// `kuzet-probe results`: the local history (probe/history) on the terminal — what this probe measured, target by
// target, also after the collector acknowledged it and the queue forgot it.
namespace kuzet::probe::ui {

int results_command(int argc, char** argv);

}  // namespace kuzet::probe::ui
