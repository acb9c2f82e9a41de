#!/usr/bin/env bash
# Builds the instrumented fuzz build (clang, libFuzzer, ASan + UBSan in every library; docs/fuzzing.md) and
# runs its fuzz targets, one after the other, each with its kept corpus.
#
# Usage: scripts/fuzz.sh [--merge] [--build-only | --no-build] [SECONDS] [TARGET...]
#   SECONDS       time per target (default 60)
#   TARGET        names given to kuzet_add_fuzzer (default: every target of the build)
#   --merge       afterwards, add the new inputs that bring new coverage to the committed corpus
#   --build-only  configure and build, run nothing;  --no-build  run what is already built
# New inputs go to a scratch dir ($KUZET_FUZZ_BUILD_DIR/fuzz-scratch/TARGET), never straight into the
# corpus. Stops at the first crash, prints the reproducer's path and exits 1.
# Environment: KUZET_FUZZ_BUILD_DIR (default build-fuzz), KUZET_FUZZ_ARGS (more libFuzzer flags).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build="${KUZET_FUZZ_BUILD_DIR:-build-fuzz}"
[[ "$build" = /* ]] || build="$root/$build"

merge=0 do_build=1 do_run=1 seconds=60 targets=()
for arg in "$@"; do
  case "$arg" in
    --merge) merge=1 ;;
    --build-only) do_run=0 ;;
    --no-build) do_build=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $arg" >&2; exit 2 ;;
    *) if [[ -z "${seconds_given:-}" && ${#targets[@]} -eq 0 && "$arg" =~ ^[0-9]+$ ]]; then
         seconds=$arg seconds_given=1
       else
         targets+=("$arg")
       fi ;;
  esac
done

if ((do_build)); then
  scripts/install-deps.sh --fuzz
  CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DKUZET_FUZZ=ON \
    -DCMAKE_BUILD_TYPE="${KUZET_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
  cmake --build "$build" -j"$(nproc)" --target kuzet_fuzzers
fi
((do_run)) || exit 0

manifest="$build/fuzzers.tsv"
if [[ ! -f "$manifest" ]]; then
  echo "fuzz.sh: no $manifest: build first (scripts/fuzz.sh --build-only)" >&2
  exit 2
fi
declare -A binary corpus_of
order=()
while IFS=$'\t' read -r name bin corpus; do
  [[ -n "$name" ]] || continue
  binary[$name]=$bin corpus_of[$name]=$corpus
  order+=("$name")
done <"$manifest"
((${#targets[@]})) || targets=("${order[@]}")
for t in "${targets[@]}"; do
  if [[ -z "${binary[$t]:-}" ]]; then
    echo "fuzz.sh: no fuzz target '$t' (known: ${order[*]})" >&2
    exit 2
  fi
done

# Crashes and UB abort with a stack; leaks count as crashes too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for t in "${targets[@]}"; do
  scratch="$build/fuzz-scratch/$t"
  mkdir -p "$scratch/new" "$scratch/crashes"
  log="$scratch/last.log"
  status=0
  # The scratch dir comes first: libFuzzer writes new inputs there, the corpus is only read.
  # shellcheck disable=SC2086
  "${binary[$t]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$scratch/crashes/" ${KUZET_FUZZ_ARGS:-} "$scratch/new" "${corpus_of[$t]}" >"$log" 2>&1 || status=$?
  if ((status != 0)); then
    tail -n 60 "$log"
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "FUZZ CRASH in $t (exit $status); log: $log"
    if [[ -n "$reproducer" ]]; then
      echo "reproducer: $reproducer"
      echo "replay: ${binary[$t]} $reproducer"
    fi
    exit 1
  fi
  # One summary line per target: executions, speed, coverage (edges), features, corpus size.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  done_line=$(grep -E '^#[0-9]+[[:space:]].* cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$done_line")
  echo "fuzz $t: ${seconds}s, ${execs:-?} execs, ${speed:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}, 0 crashes"
  if ((merge)); then
    "${binary[$t]}" -merge=1 -artifact_prefix="$scratch/crashes/" "${corpus_of[$t]}" "$scratch/new" >"$scratch/merge.log" 2>&1
    echo "merged into ${corpus_of[$t]}: $(grep -o 'MERGE-OUTER: [0-9]* new files' "$scratch/merge.log" || echo '?')"
  fi
done
