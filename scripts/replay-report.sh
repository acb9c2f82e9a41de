#!/usr/bin/env bash
# The January 2022 replay report, end to end: generates the replay (kuzet-replay-gen, synthetic data shaped
# like the events in Kazakhstan), ingests it into a fresh collector database, serves it with the real
# kuzet-collector on 127.0.0.1, builds the report from the collector's API with kuzet-report, then verifies
# the bundle offline. Everything it writes is labelled as replayed (synthetic) data.
#
# usage: scripts/replay-report.sh OUT_DIR [kuzet-report build options, e.g. --lang ru --asn 9198]
# writes OUT_DIR/report.html, report.pdf, bundle.json and replay-truth.json (what the generator put in).
# Binaries come from $KUZET_BUILD_DIR (default: build). Takes ~2 minutes on 2 cores.
set -euo pipefail
if [[ $# -lt 1 || "$1" == -* ]]; then
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
out="$1"
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${KUZET_BUILD_DIR:-build}"
[[ "$build" = /* ]] || build="$root/$build"
gen="$build/collector/replay/kuzet-replay-gen"
collector="$build/collector/kuzet-collector"
report="$build/reports/kuzet-report"
for b in "$gen" "$collector" "$report"; do
  [[ -x "$b" ]] || { echo "replay-report: $b is missing: run scripts/build.sh first" >&2; exit 1; }
done
mkdir -p "$out"
work="$(mktemp -d "${TMPDIR:-/tmp}/kuzet-replay-report.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

from=2022-01-01T00:00:00Z
until=2022-01-12T00:00:00Z
echo "replay-report: generating and ingesting the January 2022 replay (synthetic data)"
"$gen" --db "$work/collector.db" --truth "$out/replay-truth.json" --start "$from" --days 11

# Created here, not by the background job's redirection: under load the job may not have opened them yet when
# the loop below first reads collector.out, and a failed read ends this script (set -e).
: >"$work/collector.out"
: >"$work/collector.err"
"$collector" serve --db "$work/collector.db" --listen 127.0.0.1:0 >"$work/collector.out" 2>"$work/collector.err" &
server_pid=$!
port=""
for _ in $(seq 1 300); do
  port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/collector.out" | head -1)"
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/collector.err" >&2; exit 1; }
  sleep 0.2
done
[[ -n "$port" ]] || { echo "replay-report: the collector did not start" >&2; exit 1; }
base="http://127.0.0.1:$port"

"$report" build --collector "$base" --cc KZ --from "$from" --until "$until" --out "$out" "$@"

# The log key as the collector publishes it (a real reader gets it from an independent source).
key_args=()
if key="$(curl -fsS --max-time 10 "$base/log/key" 2>/dev/null)" && [[ -n "$key" ]]; then key_args=(--log-key "$key"); fi
"$report" verify "$out/bundle.json" "${key_args[@]}"
