#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds, runs ctest (unit, loopback, lab, fuzz corpora,
# package, and last the instrumented fuzz runs). Ends with ctest's summary line. The collector's tests run
# twice, on SQLite and on a throwaway PostgreSQL 15 that ctest starts and stops around them (the fixture tests
# pg_server_start/pg_server_stop: scripts/pg-test-server.sh); if it cannot start, those tests fail, never skip.
# The same for the two-shard ClickHouse cluster of tests/analytics (ch_cluster_start/stop: scripts/ch-test-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
build="${KUZET_BUILD_DIR:-build}"
[[ "$build" = /* ]] || build="$PWD/$build"
scripts/npm-deps.sh "$build/npm"  # the OpenAPI validator and axe-core (tests/api, tests/timeline)

# The clang fuzz build (tests/instrumented) is made while the other tests run, at low priority, when the whole
# suite runs; the ctest fuzz_build takes the same lock, so it waits for this build and then only checks that
# it is complete. Stopped (its whole process group) if ctest ends first.
if [[ $# -eq 0 ]] && grep -q '^KUZET_FUZZ_IN_CI:BOOL=ON' "$build/CMakeCache.txt"; then
  setsid bash -c 'flock 9 && KUZET_FUZZ_BUILD_DIR="$1/clang-fuzz" exec nice -n 15 scripts/fuzz.sh --build-only' \
    _ "$build" 9>"$build/clang-fuzz.lock" >"$build/clang-fuzz.log" 2>&1 &
  fuzz_group=$!
  trap 'kill -- "-$fuzz_group" 2>/dev/null || true' EXIT
fi
cd "$build"
ctest --output-on-failure --timeout 900 "$@"
