#!/usr/bin/env python3
"""The permalinks on the real collector: a measurement's and an incident's URL answer a browser with a page in
words (what was seen, signature status, log entry, synthetic data named) and everyone else with JSON; ".json"
forces JSON. Then signed measurements with hostile names (tests/timeline/hostile_upload) are opened in
headless Chromium: no payload runs, the names show as text. Pages are kept as artifacts.

usage: permalink_pages.py --collector BIN --replay-gen BIN --hostile-upload BIN --artifacts DIR
Exit 0 on success, 1 on a failed check; without chromium: 77 (skip) for a developer, a failure in CI."""
import argparse, atexit, hashlib, hmac, http.server, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "browser"))
import chromium  # noqa: E402
from checks import check, finish  # noqa: E402
from collector_proc import Collector, replay_db  # noqa: E402

SECRET = "permalink-pages-webhook-secret"


class Hooks(http.server.BaseHTTPRequestHandler):
    """A webhook subscriber: keeps each POST's headers and body."""
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Hooks.got.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--replay-gen", required=True)
    ap.add_argument("--hostile-upload", required=True)
    ap.add_argument("--artifacts", required=True)
    a = ap.parse_args()
    chromium.require_chromium()
    os.makedirs(a.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kuzet-pages-")
    atexit.register(shutil.rmtree, work, True)  # the scratch directory goes when the test ends, pass or fail
    db = os.path.join(work, "collector.db")
    replay_db(a.replay_gen, db, days=3, probes=8)
    # Signed webhooks (docs/api.md, "Alerts") to a subscriber on loopback, polled every second.
    hooks = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    config = os.path.join(work, "webhooks.json")
    with open(config, "w") as f:
        json.dump({"webhooks": [{"url": "http://127.0.0.1:%d/hook" % hooks.server_address[1], "secret": SECRET,
                                 "cc": "KZ"}]}, f)
    delivery_log = os.path.join(work, "webhooks.jsonl")
    server = Collector(a.collector, db, ["--checkpoint-interval", "1", "--webhooks", config, "--webhook-log",
                                         delivery_log, "--webhook-interval", "1"])
    try:
        status, _, body = server.get("/api/v1/measurements?cc=KZ&asn=9198&verdict=blocked&limit=1")
        env = json.loads(body)["measurements"][0]
        uid = env["measurement"]["measurement_uid"]
        status, headers, page = server.get("/api/v1/measurements/" + uid, BROWSER)
        page = page.decode()
        with open(os.path.join(a.artifacts, "measurement.html"), "w") as f:
            f.write(page)
        check(status == 200 and headers["Content-Type"].startswith("text/html"), "measurement page: %d" % status)
        m = env["measurement"]
        check("measured %s: blocked" % m["target"] in page, "the page does not say what was seen")
        check("Valid: signed by probe key " in page, "the page does not say the signature is valid")
        check(re.search(r"Entry \d+ of the log", page), "the page does not give the log entry")
        check("Synthetic data (replay)" in page, "the replayed measurement is not marked synthetic")
        _, _, kk = server.get("/api/v1/measurements/" + uid, dict(BROWSER, **{"Accept-Language": "kk"}))
        check("Қолтаңба" in kk.decode(), "Accept-Language: kk does not give the Kazakh page")
        for accept in ({}, {"Accept": "application/json"}):
            status, headers, body = server.get("/api/v1/measurements/" + uid, accept)
            check(headers["Content-Type"] == "application/json" and json.loads(body) == env,
                  "Accept %s does not give the envelope" % accept)
        status, headers, body = server.get("/api/v1/measurements/" + uid + ".json", BROWSER)
        check(headers["Content-Type"] == "application/json" and json.loads(body) == env, ".json is not the envelope")
        status, _, body = server.get("/api/v1/measurements/" + uid + "?lang=xx", BROWSER)
        check(status == 400 and b"lang" in body, "lang=xx is not refused")
        status, _, body = server.get("/api/v1/measurements/" + uid + "?verbose=1")
        check(status == 400 and b"verbose" in body, "an unknown parameter of the permalink is not refused")

        # The replay's incidents are the webhook's baseline: wait for it before anything new happens.
        deadline = time.time() + 60
        while time.time() < deadline and not (os.path.exists(delivery_log) and '"subscribed"' in open(delivery_log).read()):
            time.sleep(0.2)
        check(not Hooks.got, "the webhook was sent the history: %d posts" % len(Hooks.got))

        # Hostile names: uploaded signed, then opened in Chromium.
        port = urllib.parse.urlparse(server.base).port
        hostile = json.loads(subprocess.run([a.hostile_upload, str(port)], check=True, capture_output=True,
                                            text=True, timeout=300).stdout)
        status, _, body = server.get("/api/v1/measurements?asn=%d&limit=1" % hostile["asn"])
        huid = json.loads(body)["measurements"][0]["measurement"]["measurement_uid"]
        status, _, body = server.get("/api/v1/incidents?cc=KZ&asn=%d" % hostile["asn"])
        incs = json.loads(body)["incidents"]
        check(incs, "no incident from the hostile uploads")
        urls = {"measurement-hostile": "/api/v1/measurements/" + huid}
        if incs:
            urls["incident-hostile"] = incs[0]["permalink"]
        for name, path in urls.items():
            dom = chromium.dump_dom(server.base + path, work, budget_ms=5000)
            with open(os.path.join(a.artifacts, name + ".html"), "w") as f:
                f.write(dom)
            check("<h1>" in dom, "%s: no page rendered: %s" % (name, dom[:500]))
            title = re.search(r"<title>(.*?)</title>", dom, re.S)
            # A payload that ran would set the whole title to pwned-*; as text it is only part of the title.
            check("data-pwned" not in dom and title and not title.group(1).startswith("pwned"),
                  "%s: a hostile payload ran" % name)
            check(not re.search(r"<(script|img|svg)\b", dom), "%s: a hostile name became markup" % name)
            check("&lt;script&gt;" in dom or "&lt;img" in dom, "%s: the hostile names are not shown as text" % name)
            chromium.screenshot(server.base + path, os.path.join(a.artifacts, name + ".png"), work, size="390,900",
                                budget_ms=5000)
        # The Atom feed of the hostile network is well-formed XML whose titles carry the names as text.
        status, headers, body = server.get("/api/v1/feeds/incidents.atom?cc=KZ&asn=%d" % hostile["asn"])
        try:
            feed = ET.fromstring(body)
        except ET.ParseError as e:
            feed = None
            check(False, "the Atom feed is not well-formed XML: %s" % e)
        if feed is not None:
            ns = {"a": "http://www.w3.org/2005/Atom"}
            titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
            check(len(titles) >= len(incs) and all(any(t in title for t in hostile["targets"]) for title in titles),
                  "the feed's entries do not name the hostile targets as text: %s" % titles)

        # The new incidents reached the webhook subscriber, signed.
        deadline = time.time() + 60
        while time.time() < deadline and len(Hooks.got) < len(incs):
            time.sleep(0.2)
        opened = [json.loads(b) for _, b in Hooks.got]
        check(len(Hooks.got) >= len(incs) and all(e["event"] == "opened" for e in opened)
              and {e["incident"]["id"] for e in opened} >= {i["id"] for i in incs},
              "the webhook got %d posts for %d new incidents: %s" % (len(Hooks.got), len(incs), opened[:3]))
        for headers, body in Hooks.got:
            want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            check(headers.get("X-Kuzet-Signature") == want, "a webhook's signature does not verify")
        log = [json.loads(l) for l in open(delivery_log)]
        check(sum(1 for l in log if l["status"] == "delivered") == len(Hooks.got), "the delivery log: %s" % log[-3:])
    finally:
        hooks.shutdown()
        server.stop()
    return finish("permalink pages OK: words for browsers, JSON otherwise, hostile names inert; artifacts in " + a.artifacts)


if __name__ == "__main__":
    sys.exit(main())
