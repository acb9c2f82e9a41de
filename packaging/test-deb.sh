#!/usr/bin/env bash
# Builds the .deb, installs it on this machine, checks files/user/unit, runs the installed binary as
# the unit does (as user kuzet; with systemctl when systemd is PID 1), then removes and purges it.
# Needs root. Sends traffic to loopback only: the daemon runs with a loopback config.
# Usage: packaging/test-deb.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: packaging/test-deb.sh BUILD_DIR}
# Exit 77 (ctest: skipped) where the test cannot or must not run.
[[ $(id -u) -eq 0 ]] || { echo "needs root (dpkg -i): skipped"; exit 77; }
for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze; do
  command -v $tool >/dev/null || { echo "$tool missing (scripts/install-deps.sh --test installs it): skipped"; exit 77; }
done
# Never replace (and then purge) a kuzet-probe someone installed for real on this machine.
if dpkg-query -W -f='${Status}' kuzet-probe 2>/dev/null | grep -q "ok installed"; then
  echo "kuzet-probe is installed on this machine; not touching it: skipped"; exit 77
fi
src=$(cd "$(dirname "$0")/.." && pwd)
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; exit 1; }

cmake --build "$build" --target kuzet-probe kuzet-collector -j2 >/dev/null
(cd "$build" && cpack -G DEB >/dev/null)
deb=$(ls -t "$build"/kuzet-probe_*.deb | head -1)
[[ -f $deb ]] || fail "no .deb in $build"
pass "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"
dpkg-deb --info "$deb" | sed -n '/Package:/,$p'
dpkg-deb --contents "$deb" | awk '{print $1, $6}'
info=$(dpkg-deb --info "$deb"); conffiles=$(dpkg-deb -I "$deb" conffiles)
grep -q 'Depends:.*libcurl' <<<"$info" || fail "Depends lacks libcurl (shlibdeps)"
grep -qx /etc/kuzet/probe.yaml <<<"$conffiles" || fail "probe.yaml is not a conffile"
pass "package metadata (Depends from shlibdeps, conffiles)"
# libpcap is loaded only when capture is on (probe/capture/libpcap.hpp): not a link-time dependency, so the
# package must name it itself; and the binary must not need it (every probe would map it and its chain).
grep -q 'Recommends:.*libpcap0.8' <<<"$info" || fail "Recommends lacks libpcap0.8 (loaded at run time)"
if objdump -p "$build/probe/kuzet-probe" | grep -q 'NEEDED.*libpcap'; then fail "kuzet-probe links libpcap"; fi
pass "libpcap: recommended by the package, not linked by the binary"

dpkg -i "$deb" | tee /tmp/kuzet-dpkg-i.log
for f in /usr/bin/kuzet-probe /usr/lib/systemd/system/kuzet-probe.service /etc/kuzet/probe.yaml \
         /usr/share/kuzet/specs/kz.yaml /usr/share/doc/kuzet-probe/daemon.md /usr/share/doc/kuzet-probe/consent.md \
         /usr/share/man/man1/kuzet-probe.1.gz /usr/share/bash-completion/completions/kuzet-probe; do
  [[ -e $f ]] || fail "missing $f"
done
pass "files installed (binary, unit, config, specs, docs, man page, bash completion)"
# A fresh install has no consent: postinst says what to do, and does not start a probe that would refuse.
grep -q "sudo kuzet-probe setup" /tmp/kuzet-dpkg-i.log || fail "postinst does not point to kuzet-probe setup"
grep -q "kuzet-probe consent" /tmp/kuzet-dpkg-i.log || fail "postinst does not point to kuzet-probe consent"
rm -f /tmp/kuzet-dpkg-i.log
pass "postinst tells the next step (consent, setup)"
zcat /usr/share/man/man1/kuzet-probe.1.gz | groff -man -Tutf8 -ww -z || fail "installed man page does not render"
/usr/bin/kuzet-probe run --help | grep -q "examples:" || fail "kuzet-probe run --help"
set +e
setpriv --reuid=kuzet --regid=kuzet --init-groups -- /usr/bin/kuzet-probe daemon --config /etc/kuzet/probe.yaml \
  2>/tmp/kuzet-noconsent.log
rc=$?
set -e
[[ $rc -eq 3 ]] || { cat /tmp/kuzet-noconsent.log; fail "daemon without consent: exit $rc, not 3"; }
grep -q "kuzet-probe setup" /tmp/kuzet-noconsent.log || fail "no-consent message does not name kuzet-probe setup"
rm -f /tmp/kuzet-noconsent.log
pass "the packaged config (no consent yet): the daemon refuses with status 3 and names kuzet-probe setup"
getent passwd kuzet >/dev/null || fail "user kuzet missing"
[[ $(stat -c '%U %a' /var/lib/kuzet) == "kuzet 700" ]] || fail "/var/lib/kuzet not kuzet 0700"
pass "user kuzet, /var/lib/kuzet kuzet 0700"
if [[ -L /etc/systemd/system/multi-user.target.wants/kuzet-probe.service ]]; then pass "service enabled"; else fail "service not enabled"; fi
if systemd-analyze verify /usr/lib/systemd/system/kuzet-probe.service; then pass "systemd-analyze verify"; else fail "systemd-analyze verify"; fi
/usr/bin/kuzet-probe --version

# A config like the default one, but with loopback targets only.
tmp=$(mktemp -d); chmod 755 "$tmp"
python3 -m http.server --bind 127.0.0.1 0 --directory "$tmp" >"$tmp/http.log" 2>&1 &
web=$!
trap 'kill $web 2>/dev/null || true' EXIT
for _ in $(seq 50); do port=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$web," '$0 ~ p {split($4,a,":"); print a[2]}'); [[ -n $port ]] && break; sleep 0.1; done
[[ -n ${port:-} ]] || fail "loopback web server did not start"
cat >"$tmp/spec.yaml" <<YAML
targets:
  - {url: "http://127.0.0.1:$port/", category: control}
YAML
cat >"$tmp/probe.yaml" <<YAML
collectors: []
specs: [$tmp/spec.yaml]
data_dir: /var/lib/kuzet
schedule: {interval: 1, jitter: 0, shutdown_interval: 1}
consent: {version: 1, accepted_at: "2026-01-01T00:00:00Z", language: en}
YAML
chmod 644 "$tmp"/*.yaml
if [[ -d /run/systemd/system ]]; then
  mkdir -p /run/systemd/system/kuzet-probe.service.d
  printf '[Service]\nExecStart=\nExecStart=/usr/bin/kuzet-probe daemon --config %s/probe.yaml\nPrivateTmp=no\n' "$tmp" \
    >/run/systemd/system/kuzet-probe.service.d/test.conf
  systemctl daemon-reload && systemctl restart kuzet-probe
  sleep 5
  systemctl is-active kuzet-probe || fail "service not active"
  kuzet-probe status --data-dir /var/lib/kuzet
  systemctl stop kuzet-probe
  rm -rf /run/systemd/system/kuzet-probe.service.d; systemctl daemon-reload
  pass "service ran under systemd"
else
  echo "systemd is not PID 1 here ($(ps -p 1 -o comm=)): running the unit's ExecStart as user kuzet instead"
  setpriv --reuid=kuzet --regid=kuzet --init-groups -- /usr/bin/kuzet-probe daemon --config "$tmp/probe.yaml" 2>"$tmp/daemon.log" &
  daemon=$!
  for _ in $(seq 120); do
    runs=$(python3 -c 'import json;print(json.load(open("/var/lib/kuzet/status.json"))["runs"])' 2>/dev/null || echo 0)
    [[ $runs -ge 2 ]] && break; sleep 0.5
  done
  [[ ${runs:-0} -ge 2 ]] || { cat "$tmp/daemon.log"; fail "daemon did not run twice"; }
  kuzet-probe status --data-dir /var/lib/kuzet
  # Someone else than root or kuzet is told they cannot read the state, not that the daemon never ran.
  set +e
  other=$(setpriv --reuid=nobody --regid=nogroup --clear-groups -- /usr/bin/kuzet-probe status 2>&1); rc=$?
  set -e
  [[ $rc -eq 1 ]] && grep -q "cannot read" <<<"$other" && ! grep -q "has not run" <<<"$other" \
    || { echo "$other"; fail "status as a normal user: $rc"; }
  pass "status as a normal user: 'cannot read ... try: sudo kuzet-probe status'"
  [[ $(stat -c %U /var/lib/kuzet/identity.key) == kuzet ]] || fail "identity.key not owned by kuzet"
  [[ $(stat -c %U /var/lib/kuzet/queue) == kuzet ]] || fail "queue not owned by kuzet"
  kill -TERM $daemon; wait $daemon || fail "daemon exit status $?"
  grep -q stopping "$tmp/daemon.log" || fail "no clean stop in the log"
  pass "installed binary ran as kuzet: 2 runs, queue and keys in /var/lib/kuzet, clean SIGTERM"
fi

# The volunteer's path with a collector (issue 16): setup names a collector on loopback (checked live) and
# records consent; the installed daemon, as user kuzet, uploads to it, and its local status page lists the
# upload with its receipt and the collector's log as the probe's witness verified it. A loopback spec and no
# jitter replace the packaged ones first, so nothing leaves loopback and nothing waits.
cport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$build/collector/kuzet-collector" serve --listen "127.0.0.1:$cport" --db "$tmp/collector.db" >"$tmp/collector.log" 2>&1 &
collector=$!
trap 'kill $web $collector 2>/dev/null || true' EXIT
python3 - "$cport" <<'PY' || { cat "$tmp/collector.log"; fail "the loopback collector did not start"; }
import sys, time, urllib.request
for _ in range(200):
    try:
        urllib.request.urlopen("http://127.0.0.1:%s/healthz" % sys.argv[1], timeout=5)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit(1)
PY
printf 'specs: [%s/spec.yaml]\nschedule: {interval: 1h, jitter: 0, shutdown_interval: 1h}\nstatus_page: "127.0.0.1:0"\n' "$tmp" \
  >/etc/kuzet/probe.yaml
kuzet-probe setup --non-interactive --consent --collector "http://127.0.0.1:$cport/" --spec "$tmp/spec.yaml" \
  >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; fail "setup with a live loopback collector"; }
setpriv --reuid=kuzet --regid=kuzet --init-groups -- /usr/bin/kuzet-probe daemon --config /etc/kuzet/probe.yaml \
  2>"$tmp/daemon2.log" &
daemon=$!
page_ok=""
for _ in $(seq 240); do
  page=$(grep -o 'status page on http://127.0.0.1:[0-9]*/' "$tmp/daemon2.log" | grep -o 'http://[^ ]*' || true)
  if [[ -n $page ]] && python3 - "$page" "$cport" <<'PY'
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "api/status", timeout=10))
ups = d["uploads"]
ok = ups and ups[0]["stored"] >= 1 and ups[0]["first_log_index"] == 0 and not ups[0]["failure"] \
    and d["logs"] and d["logs"][0]["state"] == "verified" and not d["warnings"]
sys.exit(0 if ok else 1)
PY
  then page_ok=1; break; fi
  sleep 0.5
done
[[ -n $page_ok ]] || { cat "$tmp/daemon2.log" "$tmp/setup.log"; fail "the status page never showed the upload and its receipt"; }
kill -TERM $daemon; wait $daemon || fail "daemon exit status $?"
kill -TERM $collector; wait $collector || true
pass "setup with a loopback collector, the installed daemon uploads, its page shows the upload, receipt #0 and the verified log"

# setup records consent in the installed config, keeping it loadable (no collector: nothing leaves loopback).
kuzet-probe setup --non-interactive --consent --no-collector --interval 2h
grep -q '^consent:' /etc/kuzet/probe.yaml || fail "setup did not record consent in /etc/kuzet/probe.yaml"
grep -q 'interval: 7200s' /etc/kuzet/probe.yaml || fail "setup did not set the interval"
pass "kuzet-probe setup --non-interactive wrote /etc/kuzet/probe.yaml with consent"

dpkg -r kuzet-probe
[[ ! -e /usr/bin/kuzet-probe ]] || fail "binary left after dpkg -r"
[[ -d /var/lib/kuzet ]] || fail "dpkg -r removed the evidence in /var/lib/kuzet"
pass "dpkg -r removed the package, kept /var/lib/kuzet"
dpkg -P kuzet-probe
[[ ! -e /var/lib/kuzet ]] || fail "purge left /var/lib/kuzet"
! getent passwd kuzet >/dev/null || fail "purge left user kuzet"
[[ ! -e /etc/kuzet/probe.yaml ]] || fail "purge left the conffile"
pass "dpkg -P removed state, user and conffile"
rm -rf "$tmp"
