#!/usr/bin/env python3
"""Dashboard in headless Chromium: replays January 2022 into a fresh database, starts the real collector on
127.0.0.1 (port 0), loads the dashboard and checks the rendered DOM lists the replayed incidents and the
chart drew; checks the CSV download links answer; keeps a screenshot as a test artifact.

usage: dashboard_chromium.py --collector BIN --replay-gen BIN --artifacts DIR
Exit 0 on success, 1 on a failed check, 77 (skip) when chromium is not installed."""
import argparse, json, os, re, shutil, signal, subprocess, sys, tempfile, time, urllib.request

EXPECTED = [  # from the generator's truth for AS9198 (tests/timeline/test_timeline_golden.cpp checks all)
    "KZ.9198.shutdown.20220105T1030Z",
    "KZ.9198.shutdown.20220106T0900Z",
]
EXPECTED_BLOCKED = ["web.whatsapp.com", "web.telegram.org", "signal.org"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def chromium_args(profile):
    return ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=15000"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--replay-gen", required=True)
    ap.add_argument("--artifacts", required=True)
    a = ap.parse_args()
    if not shutil.which("chromium"):
        print("chromium not installed (scripts/install-deps.sh --test installs it): skipped")
        return 77
    os.makedirs(a.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kuzet-dashboard-")
    server = None
    try:
        db = os.path.join(work, "collector.db")
        truth = os.path.join(work, "truth.json")
        subprocess.run([a.replay_gen, "--db", db, "--truth", truth, "--start", "2022-01-02T00:00:00Z",
                        "--days", "10", "--probes", "40"], check=True, timeout=900)
        server = subprocess.Popen([a.collector, "serve", "--db", db, "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            fail("collector did not start: " + line)
        base = "http://127.0.0.1:%s" % m.group(1)
        period = "from=2022-01-02T00:00:00Z&until=2022-01-12T00:00:00Z"
        page = base + "/?cc=KZ&asn=9198&target=web.whatsapp.com&" + period + "&bin=auto"

        profile = tempfile.mkdtemp(prefix="chromium-", dir=work)
        dom = subprocess.run(chromium_args(profile) + ["--dump-dom", page], capture_output=True, text=True,
                             timeout=300).stdout
        with open(os.path.join(a.artifacts, "dashboard.html"), "w") as f:
            f.write(dom)
        if 'data-ready="1"' not in dom:
            fail("the dashboard did not finish loading (status: %s)" %
                 (re.search(r'id="status"[^>]*>([^<]*)<', dom) or [None, "?"])[1])
        for inc in EXPECTED:
            if 'data-id="%s"' % inc not in dom:
                fail("incident %s not listed" % inc)
        rows = re.findall(r'<tr class="(\w+)" data-id="([^"]+)"', dom)
        for target in EXPECTED_BLOCKED:
            if not any(kind == "blocked" and i.startswith("KZ.9198.blocked.20220104T14") and i.endswith("." + target)
                       for kind, i in rows):
                fail("blocking of %s on AS9198 from 4 Jan 14:xx not listed" % target)
        if len(rows) != 2 + len(EXPECTED_BLOCKED):
            fail("expected %d incidents on AS9198, the page lists %s" % (2 + len(EXPECTED_BLOCKED), rows))
        if len(re.findall(r'<rect class="bin blocked"', dom)) < 20:
            fail("the chart has no blocked bars")
        if len(re.findall(r'<rect class="bin offline"', dom)) < 5:
            fail("the network chart shows no shutdown")
        bands = re.findall(r'<rect class="incident" data-id="([^"]+)"', dom)
        if "KZ.9198.shutdown.20220105T1030Z" not in bands or not any(".web.whatsapp.com" in b for b in bands):
            fail("the chart does not mark the incidents: %s" % bands)
        # The CSV links the page offers answer with CSV naming the same incidents.
        link = re.search(r'id="csv-incidents" href="([^"]+)"', dom)
        if not link:
            fail("no incidents CSV link")
        csv = urllib.request.urlopen(base + link.group(1).replace("&amp;", "&"), timeout=60).read().decode()
        for inc in EXPECTED:
            if inc not in csv:
                fail("incidents CSV lacks " + inc)
        link = re.search(r'id="csv-timeline" href="([^"]+)"', dom)
        csv = urllib.request.urlopen(base + link.group(1).replace("&amp;", "&"), timeout=60).read().decode()
        if not csv.startswith("cc,asn,target,category,bin_start") or ",blocked,blocked,tls.timeout," not in csv:
            fail("timeline CSV does not show the blocking")

        shot = os.path.join(a.artifacts, "dashboard.png")
        if os.path.exists(shot):
            os.remove(shot)
        profile = tempfile.mkdtemp(prefix="chromium-", dir=work)
        subprocess.run(chromium_args(profile) + ["--screenshot=" + shot, "--window-size=1280,1100", page],
                       capture_output=True, timeout=300)
        if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
            fail("no screenshot")
        print("dashboard OK: %d incidents listed; screenshot %s" % (len(rows), shot))
        return 0
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
