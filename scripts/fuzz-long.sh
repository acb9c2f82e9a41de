#!/usr/bin/env bash
# Long fuzz runs that survive interruptions: every target up to EXECS executions in chunks of CHUNK runs,
# each chunk resuming from the corpus the earlier ones grew (scripts/fuzz.sh keeps new inputs in
# $KUZET_FUZZ_BUILD_DIR/fuzz-scratch/TARGET/new). Finished chunks are recorded in
# $KUZET_FUZZ_BUILD_DIR/fuzz-long/chunks.tsv (target, time, executions, exec/s, seconds, worker), so a run
# stopped at any moment loses only the chunks in flight, and the next invocation goes on from there.
# A crash stops that target (the reproducer's path is in fuzz-long/log) and the others go on.
# Do not pause the workers (SIGSTOP): libFuzzer's -timeout counts wall time, so the input that was running
# then reads as a hang and stops its target.
#
# Usage: scripts/fuzz-long.sh [--execs N] [--chunk N] [--workers N] [TARGET...]
#   --execs N    executions per target (default 10000000)
#   --chunk N    executions per chunk (default 1000000)
#   --workers N  targets fuzzed at once, one process each (default 1; at most the number of cores)
#   TARGET       targets in order of preference (default: every target of the build, in manifest order)
# Runs what is built (scripts/fuzz.sh --build-only builds it), at the lowest CPU priority.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${KUZET_FUZZ_BUILD_DIR:-build-fuzz}"
[[ "$build" = /* ]] || build="$PWD/$build"
execs=10000000 chunk=1000000 workers=1 wanted=()
while (($#)); do
  case "$1" in
    --execs) execs=$2; shift 2 ;;
    --chunk) chunk=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz-long.sh: unknown option $1" >&2; exit 2 ;;
    *) wanted+=("$1"); shift ;;
  esac
done
manifest="$build/fuzzers.tsv"
[[ -f "$manifest" ]] || { echo "fuzz-long.sh: no $manifest: scripts/fuzz.sh --build-only first" >&2; exit 2; }
known=$(cut -f1 "$manifest")
((${#wanted[@]})) || mapfile -t wanted <<<"$known"
for t in "${wanted[@]}"; do
  grep -qx "$t" <<<"$known" || { echo "fuzz-long.sh: no fuzz target '$t'" >&2; exit 2; }
done

state="$build/fuzz-long"
chunks="$state/chunks.tsv" crashed="$state/crashed" log="$state/log"
rm -rf "$state/claims" && mkdir -p "$state/claims"  # claims of an interrupted run are stale
touch "$chunks" "$crashed"

done_execs() { awk -F'\t' -v t="$1" '$1 == t { s += $3 } END { print s + 0 }' "$chunks"; }

worker() {
  local name=$1 t picked out status start
  while :; do
    picked=""
    for t in "${wanted[@]}"; do
      grep -qx "$t" "$crashed" && continue
      (($(done_execs "$t") >= execs)) && continue
      mkdir "$state/claims/$t" 2>/dev/null || continue
      picked=$t
      break
    done
    [[ -n "$picked" ]] || return 0
    start=$(date +%s)
    out=$(KUZET_FUZZ_BUILD_DIR="$build" KUZET_FUZZ_ARGS="-runs=$chunk ${KUZET_FUZZ_ARGS:-}" \
          nice -n 19 scripts/fuzz.sh --no-build 1000000 "$picked" 2>&1)
    status=$?
    printf '%s\n' "$out" >>"$log"
    if ((status != 0)); then
      echo "$picked" >>"$crashed"
      echo "fuzz-long: $picked stopped (exit $status); see $log"
    else
      read -r n speed < <(sed -n 's/.*s, \([0-9]*\) execs, \([0-9]*\) exec\/s.*/\1 \2/p' <<<"$out")
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$picked" "$(date -u +%FT%TZ)" "${n:-0}" "${speed:-0}" \
        "$(($(date +%s) - start))" "$name" >>"$chunks"
    fi
    rmdir "$state/claims/$picked"
  done
}

for ((w = 1; w <= workers; ++w)); do worker "w$w" & done
wait
status=0
for t in "${wanted[@]}"; do
  n=$(done_execs "$t")
  if grep -qx "$t" "$crashed"; then
    echo "fuzz-long $t: CRASHED after $n executions"; status=1
  elif ((n >= execs)); then
    echo "fuzz-long $t: $n executions, 0 crashes"
  else
    echo "fuzz-long $t: $n of $execs executions"
  fi
done
exit $status
