#!/usr/bin/env bash
# The whole test suite: installs what the tests need, builds, runs ctest (unit, loopback, lab).
# Ends with ctest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
scripts/build.sh
cd "${KUZET_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 900 "$@"
