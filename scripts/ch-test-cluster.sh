#!/usr/bin/env bash
# A throwaway two-shard ClickHouse cluster for the tests (docs/deployment.md, "Tests"): two clickhouse-server
# processes on 127.0.0.1 only, each with its data in a fresh directory under /tmp, both knowing the cluster
# "kuzet" (shard 1 and shard 2, one replica each) for Distributed tables. No password (loopback, nothing kept).
# Usage: scripts/ch-test-cluster.sh start STATE_DIR PORT   (prints the --analytics URL the tests take as
#                                                           KUZET_TEST_CLICKHOUSE; shard i uses PORT+10*i+0..2:
#                                                           HTTP, native TCP, interserver)
#        scripts/ch-test-cluster.sh stop STATE_DIR         (stops both and removes their data directory)
# STATE_DIR (e.g. the build directory's ch-test/) remembers the data directory; a second start while the
# servers run reuses them.
set -euo pipefail
cmd="${1:-}" state="${2:-}"
[[ -n "$cmd" && -n "$state" ]] || { sed -n '2,10p' "$0" >&2; exit 2; }
shards=2

url_of() {  # the collector's --analytics value for the cluster on base port $1
  local base=$1 u="clickhouse://127.0.0.1:$(($1 + 10))/default?cluster=kuzet"
  for ((i = 1; i <= shards; i++)); do u+="&shard=127.0.0.1:$((base + 10 * i))"; done
  echo "$u"
}

running() {  # every shard's process alive and answering
  [[ -f "$state/datadir" ]] || return 1
  local data i
  data=$(cat "$state/datadir")
  for ((i = 1; i <= shards; i++)); do
    [[ -f "$data/shard$i/pid" ]] && kill -0 "$(cat "$data/shard$i/pid")" 2>/dev/null || return 1
    curl -fsS "http://127.0.0.1:$(cat "$data/shard$i/http_port")/ping" >/dev/null 2>&1 || return 1
  done
}

write_config() {  # dir http tcp interserver base
  local dir=$1 http=$2 tcp=$3 inter=$4 base=$5 i
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  {
    echo '<?xml version="1.0"?>'
    echo '<yandex>'
    echo "  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><size>10M</size><count>2</count></logger>"
    echo "  <http_port>$http</http_port><tcp_port>$tcp</tcp_port><interserver_http_port>$inter</interserver_http_port>"
    echo '  <interserver_http_host>127.0.0.1</interserver_http_host><listen_host>127.0.0.1</listen_host>'
    echo '  <max_connections>256</max_connections><keep_alive_timeout>3</keep_alive_timeout>'
    echo '  <max_concurrent_queries>64</max_concurrent_queries>'
    echo '  <uncompressed_cache_size>8589934592</uncompressed_cache_size><mark_cache_size>268435456</mark_cache_size>'
    echo "  <path>$dir/data/</path><tmp_path>$dir/tmp/</tmp_path><user_files_path>$dir/user_files/</user_files_path>"
    echo "  <format_schema_path>$dir/format_schemas/</format_schema_path>"
    echo "  <users_config>$dir/users.xml</users_config>"
    echo '  <default_profile>default</default_profile><default_database>default</default_database>'
    echo '  <timezone>UTC</timezone>'
    echo '  <remote_servers><kuzet>'
    for ((i = 1; i <= shards; i++)); do
      echo "    <shard><replica><host>127.0.0.1</host><port>$((base + 10 * i + 1))</port></replica></shard>"
    done
    echo '  </kuzet></remote_servers>'
    echo '</yandex>'
  } >"$dir/config.xml"
  cat >"$dir/users.xml" <<'XML'
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage><load_balancing>random</load_balancing></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
}

case "$cmd" in
  start)
    base="${3:?port}"
    command -v clickhouse-server >/dev/null || PATH="$PATH:/usr/sbin"
    command -v clickhouse-server >/dev/null ||
      { echo "ch-test-cluster: clickhouse-server is not installed (scripts/install-deps.sh --test)" >&2; exit 1; }
    mkdir -p "$state"
    if running; then url_of "$(cat "$state/base_port")"; exit 0; fi
    "$0" stop "$state"
    # A port held by any socket (a listener, or the local end of a connection) keeps a shard from starting.
    for ((i = 1; i <= shards; i++)); do
      for ((p = base + 10 * i; p <= base + 10 * i + 2; p++)); do
        if [[ -n "$(ss -Htan "sport = :$p" 2>/dev/null)" ]]; then
          echo "ch-test-cluster: port $p of shard $i is in use:" >&2
          ss -tanp "sport = :$p" >&2 || true
          exit 1
        fi
      done
    done
    data=$(mktemp -d /tmp/kuzet-ch.XXXXXX)
    echo "$data" >"$state/datadir"
    echo "$base" >"$state/base_port"
    for ((i = 1; i <= shards; i++)); do
      dir="$data/shard$i" http=$((base + 10 * i))
      write_config "$dir" "$http" $((http + 1)) $((http + 2)) "$base"
      echo "$http" >"$dir/http_port"
      # Its own session, so the test runner's signals do not reach it; stopped by pid below.
      (cd "$dir" && exec setsid clickhouse-server --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1) &
      echo $! >"$dir/pid"
    done
    for ((t = 0; t < 600; t++)); do
      if running; then url_of "$base"; exit 0; fi
      for ((i = 1; i <= shards; i++)); do
        kill -0 "$(cat "$data/shard$i/pid")" 2>/dev/null && continue
        echo "ch-test-cluster: shard $i did not start (its ports $((base + 10 * i))..+2 taken?):" >&2
        tail -20 "$data/shard$i/log/error.log" "$data/shard$i/log/stdout.log" >&2 2>/dev/null || true
        "$0" stop "$state"
        exit 1
      done
      sleep 0.1
    done
    echo "ch-test-cluster: the servers did not answer within 60 s" >&2
    "$0" stop "$state"
    exit 1
    ;;
  stop)
    [[ -f "$state/datadir" ]] || exit 0
    data=$(cat "$state/datadir")
    for ((i = 1; i <= shards; i++)); do
      pidfile="$data/shard$i/pid"
      [[ -f "$pidfile" ]] || continue
      pid=$(cat "$pidfile")
      kill "$pid" 2>/dev/null || continue
      for ((t = 0; t < 300; t++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    done
    case "$data" in /tmp/kuzet-ch.*) rm -rf "$data" ;; esac
    rm -f "$state/datadir" "$state/base_port"
    ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
