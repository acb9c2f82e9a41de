#!/usr/bin/env bash
# Quick start: install dependencies, build, and run the probe once over the default spec (no upload).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/probe/kuzet-probe run --spec tests-spec/kz.yaml --no-upload --out kuzet-results.jsonl "$@"
