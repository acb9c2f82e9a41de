#!/usr/bin/env bash
# The man pages render without groff warnings and name every command and option the programs take (asked from
# the binaries, so a new option without documentation fails here); the bash completion completes commands,
# options and values. Usage: test_man_completion.sh SOURCE_DIR PROBE_BIN COLLECTOR_BIN
set -euo pipefail
src=$1 probe=$2 collector=$3
command -v groff >/dev/null || { echo "groff missing (Debian: groff-base): skipped"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
render() { groff -man -Tascii -P-c "$1" 2>&1 | sed 's/.\x08//g'; }

for page in kuzet-probe kuzet-collector; do
  warnings=$(groff -man -Tutf8 -ww -z "$src/packaging/man/$page.1" 2>&1)
  [[ -z $warnings ]] || fail "$page.1: groff warnings: $warnings"
done
probe_page=$(render "$src/packaging/man/kuzet-probe.1")
for command in $("$probe" _complete | grep -v '^--'); do
  grep -q "^       $command" <<<"$probe_page" || fail "kuzet-probe.1 lacks the command $command"
  for option in $("$probe" _complete "$command"); do
    [[ $option == --help ]] && continue
    grep -q -- "$option" <<<"$probe_page" || fail "kuzet-probe.1 lacks $command $option"
  done
done
grep -q "EXIT STATUS" <<<"$probe_page" || fail "kuzet-probe.1 has no EXIT STATUS"
echo "PASS: kuzet-probe.1 renders cleanly and documents every command and option"

collector_page=$(render "$src/packaging/man/kuzet-collector.1")
# The options of `kuzet-collector --help` (usage), each in the page.
for option in $("$collector" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -q -- "$option" <<<"$collector_page" || fail "kuzet-collector.1 lacks $option"
done
echo "PASS: kuzet-collector.1 renders cleanly and documents every option of its usage"

# Bash completion, with the binary under test first on PATH as `kuzet-probe`.
bin=$(mktemp -d); trap 'rm -rf "$bin"' EXIT
ln -s "$probe" "$bin/kuzet-probe"
export PATH="$bin:$PATH"
source "$src/packaging/bash-completion/kuzet-probe"
complete_words() {  # complete_words WORD... : COMPREPLY for the last word
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
  _kuzet_probe
  echo "${COMPREPLY[*]}"
}
[[ $(complete_words kuzet-probe se) == "setup" ]] || fail "kuzet-probe se<TAB>: '$(complete_words kuzet-probe se)'"
[[ " $(complete_words kuzet-probe "") " == *" status "* ]] || fail "commands not completed"
[[ $(complete_words kuzet-probe run --tar) == "--target" ]] || fail "run --tar<TAB>: '$(complete_words kuzet-probe run --tar)'"
[[ $(complete_words kuzet-probe daemon --log-level w) == "warning" ]] || fail "--log-level w<TAB>"
[[ $(complete_words kuzet-probe setup --lang k) == "kk" ]] || fail "--lang k<TAB>"
[[ " $(complete_words kuzet-probe daemon --) " == *" --log-level "* ]] || fail "daemon options not completed"
source "$src/packaging/bash-completion/kuzet-collector"
COMP_WORDS=(kuzet-collector serve --lis); COMP_CWORD=2; COMPREPLY=(); _kuzet_collector
[[ ${COMPREPLY[*]} == "--listen" ]] || fail "kuzet-collector serve --lis<TAB>: '${COMPREPLY[*]}'"
echo "PASS: bash completion of commands, options and values"
