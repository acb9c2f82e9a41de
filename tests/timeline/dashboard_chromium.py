#!/usr/bin/env python3
"""Dashboard in headless Chromium: replays January 2022 into a fresh database, starts the real collector on
127.0.0.1 (port 0), loads the dashboard and checks the rendered DOM lists the replayed incidents (confirmed:
each replayed probe is its own vantage point) and the chart drew; checks the CSV download links answer; checks the page names the source it counted (all, kuzet, ooni);
keeps a screenshot as a test artifact. Then uploads signed measurements with hostile names (HTML/JS
payloads, CSV formulas; tests/timeline/hostile_upload.cpp), loads their network's page and checks that no
payload ran, that the names show as literal text, and that the CSV neutralises formulas.

usage: dashboard_chromium.py --collector BIN --replay-gen BIN --hostile-upload BIN --artifacts DIR
Exit 0 on success, 1 on a failed check, 77 (skip) when chromium is not installed."""
import argparse, csv, datetime, html.parser, io, json, os, re, shutil, signal, subprocess, sys, tempfile, time
import urllib.parse, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "browser"))
import chromium  # noqa: E402  (tests/browser/chromium.py: the Chromium setup all browser tests share)

EXPECTED = [  # from the generator's truth for AS9198 (tests/timeline/test_timeline_golden.cpp checks all)
    "KZ.9198.shutdown.20220105T1030Z",
    "KZ.9198.shutdown.20220106T0900Z",
]
EXPECTED_BLOCKED = ["web.whatsapp.com", "web.telegram.org", "signal.org"]


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--replay-gen", required=True)
    ap.add_argument("--hostile-upload", required=True)
    ap.add_argument("--artifacts", required=True)
    a = ap.parse_args()
    chromium.require_chromium()
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

        dom = chromium.dump_dom(page, work)
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
        if len(re.findall(r'<tr class="\w+" data-id="[^"]+" data-confirmed="1"', dom)) != len(rows):
            fail("the replayed incidents are not all shown as confirmed")
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

        # The page shows which source its answers counted: all by default. The replay is all Kuzet probes', so
        # source=kuzet lists the same incidents, and source=ooni (imported OONI measurements) none.
        if 'data-source="all"' not in dom or dom.count('<td class="source" data-label="Source">all sources (') != len(rows):
            fail("the page does not show that it counts all sources")
        for source, listed, label in (("kuzet", len(rows), "Kuzet probes"), ("ooni", 0, "OONI measurements (imported)")):
            d = chromium.dump_dom(page + "&source=" + source, work)
            n = len(re.findall(r'<tr class="\w+" data-id="', d))
            if 'data-ready="1"' not in d or 'data-source="%s"' % source not in d or n != listed:
                fail("source=%s: expected %d incidents shown as from %s, got %d" % (source, listed, source, n))
            if ("from %s." % label) not in d or d.count('<td class="source" data-label="Source">' + label) != listed:
                fail("source=%s: the status line and incident rows do not name %s" % (source, label))
        shot = os.path.join(a.artifacts, "dashboard.png")
        if os.path.exists(shot):
            os.remove(shot)
        chromium.screenshot(page, shot, work)
        if not os.path.exists(shot) or os.path.getsize(shot) < 10000:
            fail("no screenshot")
        check_hostile(a, base, work)
        print("dashboard OK: %d incidents listed; hostile names inert; screenshots in %s" % (len(rows), a.artifacts))
        return 0
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


class Elements(html.parser.HTMLParser):
    """Counts the elements of a serialized DOM (attribute values may hold '<' literally)."""

    def __init__(self):
        super().__init__()
        self.tags = {}

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1


def check_hostile(a, base, work):
    out = subprocess.run([a.hostile_upload, base.rsplit(":", 1)[1]], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        fail("hostile upload failed: " + out.stderr)
    hostile = json.loads(out.stdout)
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:00Z")
    query = urllib.parse.urlencode({"cc": hostile["cc"], "asn": hostile["asn"], "target": hostile["targets"][0],
                                    "from": fmt(now - datetime.timedelta(hours=2)),
                                    "until": fmt(now + datetime.timedelta(minutes=1)), "bin": "10m"})
    page = base + "/?" + query
    dom = chromium.dump_dom(page, work)
    with open(os.path.join(a.artifacts, "dashboard-hostile.html"), "w") as f:
        f.write(dom)
    if 'data-ready="1"' not in dom:
        fail("the dashboard did not finish loading the hostile network's page")
    # Nothing ran: every payload would set document.title or a data-pwned attribute on <body>.
    if "data-pwned" in dom or "pwned-" in re.search(r"<title>([^<]*)</title>", dom).group(1):
        fail("a hostile payload ran in the dashboard")
    elements = Elements()
    elements.feed(dom)
    if elements.tags.get("img", 0) or elements.tags.get("script", 0) != 1 or elements.tags.get("svg", 0) > 2:
        fail("hostile names became elements: %s" % elements.tags)
    # The names show literally, as text (the serializer escapes text nodes' '<').
    for target in hostile["targets"]:
        text = target.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        if text not in dom:
            fail("the target %r is not shown as text" % target)
    rows = re.findall(r'<tr class="(\w+)" data-id="[^"]*" data-confirmed="(\d)"', dom)
    if len(rows) != len(hostile["targets"]) or any(c != "0" for _, c in rows):
        fail("expected %d unconfirmed incidents (two keys, one source), got %s" % (len(hostile["targets"]), rows))
    # CSV: no cell a spreadsheet would run as a formula.
    link = re.search(r'id="csv-incidents" href="([^"]+)"', dom)
    text = urllib.request.urlopen(base + link.group(1).replace("&amp;", "&"), timeout=60).read().decode()
    cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
    if any(c[:1] in ("=", "+", "-", "@", "\t", "\r") for c in cells):
        fail("the incidents CSV has a formula cell: %s" % text)
    if not any(c.startswith("'=HYPERLINK(") for c in cells):
        fail("the formula target is not in the CSV, neutralised: %s" % text)
    shot = os.path.join(a.artifacts, "dashboard-hostile.png")
    if os.path.exists(shot):
        os.remove(shot)
    chromium.screenshot(page, shot, work)
    if not os.path.exists(shot):
        fail("no screenshot of the hostile page")


if __name__ == "__main__":
    sys.exit(main())
