#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests (docs/deployment.md, "Tests"): a fresh data directory under
# /tmp, listening on 127.0.0.1:PORT only, trust authentication (loopback, nothing kept), database kuzet_test.
# Runs as the `postgres` system user when started as root (postgres refuses to run as root).
# Usage: scripts/pg-test-server.sh start STATE_DIR PORT   (prints the URL; the tests take it as KUZET_TEST_DB)
#        scripts/pg-test-server.sh stop STATE_DIR          (stops it and removes its data directory)
# STATE_DIR (e.g. the build directory's pg-test/) remembers the data directory; a second start while it runs
# reuses it.
set -euo pipefail
cmd="${1:-}" state="${2:-}"
[[ -n "$cmd" && -n "$state" ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
bin=/usr/lib/postgresql/15/bin
as_db_user() {  # from /tmp: the postgres user may not be allowed into the caller's directory (e.g. under /root)
  if [[ $(id -u) -eq 0 ]]; then (cd /tmp && runuser -u postgres -- "$@"); else "$@"; fi
}

case "$cmd" in
  start)
    port="${3:?port}"
    [[ -x "$bin/pg_ctl" ]] || { echo "pg-test-server: PostgreSQL 15 is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
    mkdir -p "$state"
    url="postgresql://postgres@127.0.0.1:$port/kuzet_test"
    if [[ -f "$state/datadir" ]] && as_db_user "$bin/pg_ctl" -D "$(cat "$state/datadir")" status >/dev/null 2>&1; then
      echo "$url"
      exit 0
    fi
    data=$(mktemp -d /tmp/kuzet-pg.XXXXXX)
    [[ $(id -u) -eq 0 ]] && chown postgres: "$data"
    echo "$data" >"$state/datadir"
    as_db_user "$bin/initdb" -D "$data/db" -U postgres --auth=trust --locale=C.UTF-8 --encoding=UTF8 \
      >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; exit 1; }
    # The socket lives in the data directory too, so nothing is left in /var/run; fsync stays on: the tests
    # check durability across kill -9 of the collector, not of the server, but a real setting is what runs.
    as_db_user "$bin/pg_ctl" -D "$data/db" -l "$data/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data -c max_connections=300" \
      start >/dev/null || { cat "$data/server.log" >&2; exit 1; }
    as_db_user "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres kuzet_test
    echo "$url"
    ;;
  stop)
    [[ -f "$state/datadir" ]] || exit 0
    data=$(cat "$state/datadir")
    if [[ -d "$data/db" ]]; then
      as_db_user "$bin/pg_ctl" -D "$data/db" -m fast -w stop >/dev/null 2>&1 || true
    fi
    case "$data" in /tmp/kuzet-pg.*) rm -rf "$data" ;; esac
    rm -f "$state/datadir"
    ;;
  *) sed -n '2,9p' "$0" >&2; exit 2 ;;
esac
