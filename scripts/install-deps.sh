#!/usr/bin/env bash
# Installs everything Kuzet needs to build, run and test, from Debian 12 packages only. Idempotent.
# Usage: scripts/install-deps.sh [--test] [--fuzz]   (--test adds what the test suite needs: nftables, ...;
# --fuzz the fuzz build's clang with libFuzzer and the sanitizer runtimes, for scripts/fuzz.sh)
set -euo pipefail
packages=(build-essential cmake pkg-config ccache git ca-certificates openssl curl
  libcurl4-openssl-dev libc-ares-dev libssl-dev libpcap-dev libyaml-cpp-dev nlohmann-json3-dev doctest-dev
  libsqlite3-dev libpq-dev libmaxminddb-dev libcpp-httplib-dev libidn2-dev zlib1g-dev
  libgoogle-perftools-dev)  # tcmalloc, the collector's allocator (docs/collector.md)
test=0 fuzz=0
for arg in "$@"; do
  case "$arg" in
    --test) test=1 ;;
    --fuzz) fuzz=1 ;;
    *) echo "install-deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
if ((fuzz || test)); then
  packages+=(clang-14 libclang-rt-14-dev)  # docs/fuzzing.md; the test suite runs every fuzzer briefly
fi
if ((test)); then
  packages+=(iproute2 nftables python3 procps psmisc python3-yaml python3-dnslib python3-cryptography
    chromium fonts-dejavu-core  # chromium: the dashboard test (tests/timeline), report PDFs (tests/report)
    poppler-utils               # pdftoppm/pdftotext: the report PDF test reads the PDF back (docs/reports.md)
    dpkg-dev systemd            # the .deb test (tests/package): cpack's shlibdeps, systemctl enable
    nginx                       # the TLS reverse proxy test (tests/collector/test_collector_proxy)
    golang-go golang-golang-x-mod-dev  # Go's sumdb/tlog and sumdb/note check our log (tests/collector_log)
    postgresql-15               # the collector's tests on PostgreSQL (scripts/pg-test-server.sh, docs/deployment.md)
    clickhouse-server clickhouse-client  # the two-shard analytics cluster of tests/analytics (scripts/ch-test-cluster.sh)
    nodejs)  # node runs the npm test tools (tests/browser/package.json, installed by scripts/npm-deps.sh)
  # npm from Debian, unless a node that brings its own npm is installed already.
  command -v npm >/dev/null || packages+=(npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
