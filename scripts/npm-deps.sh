#!/usr/bin/env bash
# Installs the npm tools the tests run (tests/browser/package.json: the OpenAPI validator, axe-core) into
# DIR/node_modules, exactly as locked (npm ci), once per lock file. Idempotent; safe to run concurrently.
# Usage: scripts/npm-deps.sh DIR      (scripts/test.sh passes <build>/npm; the tests call it when missing)
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)/tests/browser"
dir="${1:?usage: npm-deps.sh DIR}"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [[ -f "$dir/node_modules/.kuzet-lock" ]] && cmp -s "$src/package-lock.json" "$dir/node_modules/.kuzet-lock"; then
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dir/"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
cp "$src/package-lock.json" "$dir/node_modules/.kuzet-lock"
