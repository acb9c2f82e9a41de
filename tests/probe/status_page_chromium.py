#!/usr/bin/env python3
"""The daemon's local status page in headless Chromium: a daemon (no collector, so a warning) measures a loopback
web server, a closed port and a URL carrying an HTML payload; the page must list all three with their verdicts,
show the payload as literal text (textContent only: no element from it, no script run), show the no-collector
warning, answer its JSON at /api/status, send its answers uncompressed whatever the browser takes, and refuse a
request whose Host is not its own (DNS rebinding). Then a second daemon uploads to a real collector on loopback:
the page lists the upload with its receipt (the log index the collector gave) and the collector's log as the
probe's witness verified it.

usage: status_page_chromium.py --probe BIN --collector BIN --artifacts DIR
Exit 0 on success, 1 on a failed check, 77 (skip) when chromium is not installed."""
import argparse, html, http.server, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "browser"))
import chromium  # noqa: E402  (tests/browser/chromium.py: the Chromium setup all browser tests share)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><title>target</title>hello</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def stop(process):
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    ap.add_argument("--collector", required=True)
    ap.add_argument("--artifacts", required=True)
    a = ap.parse_args()
    chromium.require_chromium()
    os.makedirs(a.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kuzet-status-page-")
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    ok_url = "http://127.0.0.1:%d/" % web.server_address[1]
    closed_url = "http://127.0.0.1:%d/" % free_port()
    # No spaces (not a valid URL), but markup all the same: <b/id=...> and <img/src/onerror> parse as elements.
    hostile_url = ok_url + "?q=<b/id=injected>x</b><img/src=x/onerror=document.title=1>"
    daemon, collector = None, None
    try:
        with open(os.path.join(work, "spec.yaml"), "w") as f:
            f.write("targets:\n")
            for url in (ok_url, closed_url, hostile_url):
                f.write("  - {url: %s, category: news}\n" % json.dumps(url))
        data = os.path.join(work, "data")
        with open(os.path.join(work, "probe.yaml"), "w") as f:
            f.write("collectors: []\nspecs: [spec.yaml]\ndata_dir: %s\nstatus_page: \"127.0.0.1:0\"\n"
                    "schedule: {interval: 1h, jitter: 0, shutdown_interval: 1h}\n"
                    "timeouts: {dns: 2s, tcp: 3s, tls: 3s, http: 10s}\n"
                    "consent: {version: 1, accepted_at: \"2026-01-01T00:00:00Z\", language: en}\n" % data)
        log_path = os.path.join(work, "daemon.log")
        daemon = subprocess.Popen([a.probe, "daemon", "--config", os.path.join(work, "probe.yaml")],
                                  stderr=open(log_path, "w"))
        port, deadline = None, time.time() + 120
        while time.time() < deadline:
            log = open(log_path).read()
            m = re.search(r"status page on http://127\.0\.0\.1:(\d+)/", log)
            port = port or (m and int(m.group(1)))
            if port and re.search(r"kuzet-probe: run \w+: 3 targets", log):
                break
            if daemon.poll() is not None:
                fail("the daemon exited: " + log)
            time.sleep(0.2)
        else:
            fail("no status page or no run within 120 s: " + open(log_path).read())
        base = "http://127.0.0.1:%d/" % port

        status = json.load(urllib.request.urlopen(base + "api/status", timeout=30))
        inputs = sorted(e["input"] for e in status["history"])
        if inputs != sorted([ok_url, closed_url, hostile_url]):
            fail("/api/status history lists %s" % inputs)
        if [w["code"] for w in status["warnings"]] != ["no_collector"]:
            fail("warnings: %s" % status["warnings"])
        print("PASS: /api/status lists the run's 3 targets and the no-collector warning")

        # Sent as they are, whatever the browser takes: httplib would answer br with Brotli at its slowest setting.
        for path in ("", "page.js", "api/status"):
            for accept in ("br", "gzip, deflate, br, zstd"):
                asked = urllib.request.Request(base + path, headers={"Accept-Encoding": accept})
                answer = urllib.request.urlopen(asked, timeout=30)
                body = answer.read()
                if answer.headers.get("Content-Encoding") or int(answer.headers.get("Content-Length", -1)) != len(body):
                    fail("/%s for Accept-Encoding %r: Content-Encoding %r, %d bytes" % (
                        path, accept, answer.headers.get("Content-Encoding"), len(body)))
            if path == "api/status":
                json.loads(body)
        print("PASS: the page, its script and /api/status are sent uncompressed, whatever the browser takes")

        rebinding = urllib.request.Request(base + "api/status", headers={"Host": "attacker.example:%d" % port})
        try:
            urllib.request.urlopen(rebinding, timeout=30)
            fail("a request with a foreign Host was answered")
        except urllib.error.HTTPError as e:
            if e.code != 403:
                fail("a foreign Host got %d, not 403" % e.code)
        print("PASS: a foreign Host header (DNS rebinding) is refused with 403")

        dom = chromium.dump_dom(base, work, budget_ms=10000)
        with open(os.path.join(a.artifacts, "status_page.html"), "w") as f:
            f.write(dom)
        chromium.screenshot(base, os.path.join(a.artifacts, "status_page.png"), work, size="1200,800",
                            budget_ms=10000)
        if 'data-ready="1"' not in dom:
            fail("the page did not finish loading: " + dom[:2000])
        rows = re.findall(r"<tr class=\"(\w*)\">(.*?)</tr>", dom, re.S)
        if len(rows) != 3:
            fail("expected 3 result rows, the page has %d" % len(rows))
        # Each row shows its entry's URL, verdict and what was seen, as /api/status has them.
        cells = {}
        for _, r in rows:
            c = [html.unescape(x) for x in re.findall(r"<td>(.*?)</td>", r)]
            cells[c[2]] = c
        for e in status["history"]:
            c = cells.get(e["input"])
            if not c or c[4] != e["verdict"] or c[6] != e["seen"]:
                fail("the row of %s shows %s, /api/status says %s/%s" % (e["input"], c, e["verdict"], e["seen"]))
        if cells[closed_url][6] != "tcp.refused":
            fail("the closed port's row does not show what was seen (tcp.refused): %s" % cells[closed_url])
        if 'id="injected"' in dom or "<img" in dom or "<title>1</title>" in dom:
            fail("the hostile URL became markup or ran")
        if "&lt;b/id=injected&gt;x&lt;/b&gt;" not in dom:
            fail("the hostile URL is not shown as literal text")
        if "No collector is configured" not in dom:
            fail("the no-collector warning is not shown")
        print("PASS: Chromium shows the 3 results, the warning, and the hostile URL as literal text only")

        # The same page in Russian (?lang=) and, by the browser's Accept-Language, in Kazakh.
        ru = chromium.dump_dom(base + "?lang=ru", work, budget_ms=10000)
        if 'data-ready="1"' not in ru or "Коллектор не настроен" not in ru or "вердикт" not in ru or 'lang="ru"' not in ru:
            fail("the Russian page: " + ru[:1500])
        kk = chromium.dump_dom(base, work, budget_ms=10000, extra_args=["--accept-lang=kk-KZ,kk"])
        if 'data-ready="1"' not in kk or "Коллектор бапталмаған" not in kk or "үкім" not in kk:
            fail("the Kazakh page (Accept-Language: kk): " + kk[:1500])
        print("PASS: the page in Russian (?lang=ru) and Kazakh (Accept-Language: kk)")
        daemon.send_signal(signal.SIGTERM)
        if daemon.wait(timeout=120) != 0:
            fail("the daemon did not stop cleanly with its page (status %s)" % daemon.returncode)
        print("PASS: SIGTERM stops the daemon and its page cleanly (status 0)")

        # With a real collector: the upload, its receipt (log indexes) and the witness's view of the log.
        cport = free_port()
        collector = subprocess.Popen([a.collector, "serve", "--listen", "127.0.0.1:%d" % cport, "--db",
                                      os.path.join(work, "collector.db"), "--checkpoint-interval", "1"],
                                     stderr=open(os.path.join(work, "collector.log"), "w"))
        collector_url = "http://127.0.0.1:%d" % cport
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(collector_url + "/healthz", timeout=5)
                break
            except Exception:
                if time.time() > deadline or collector.poll() is not None:
                    fail("the collector did not start: " + open(os.path.join(work, "collector.log")).read())
                time.sleep(0.2)
        with open(os.path.join(work, "spec2.yaml"), "w") as f:
            f.write("targets:\n  - {url: %s, category: news}\n" % json.dumps(ok_url))
        with open(os.path.join(work, "probe2.yaml"), "w") as f:
            f.write("collectors: [\"%s\"]\nspecs: [spec2.yaml]\ndata_dir: %s\nstatus_page: \"127.0.0.1:0\"\n"
                    "schedule: {interval: 1h, jitter: 0, shutdown_interval: 1h}\n"
                    "timeouts: {dns: 2s, tcp: 3s, tls: 3s, http: 10s}\n"
                    "consent: {version: 1, accepted_at: \"2026-01-01T00:00:00Z\", language: en}\n"
                    % (collector_url, os.path.join(work, "data2")))
        log_path = os.path.join(work, "daemon2.log")
        daemon = subprocess.Popen([a.probe, "daemon", "--config", os.path.join(work, "probe2.yaml")],
                                  stderr=open(log_path, "w"))
        port, status, deadline = None, None, time.time() + 180
        while time.time() < deadline:
            m = re.search(r"status page on http://127\.0\.0\.1:(\d+)/", open(log_path).read())
            port = port or (m and int(m.group(1)))
            if port:
                status = json.load(urllib.request.urlopen("http://127.0.0.1:%d/api/status" % port, timeout=30))
                if status["uploads"] and status["logs"]:
                    break
            if daemon.poll() is not None:
                fail("the second daemon exited: " + open(log_path).read())
            time.sleep(0.5)
        else:
            fail("no upload on the status page within 180 s: %s\n%s" % (status, open(log_path).read()))
        up = status["uploads"][0]
        if up["collector"] != collector_url or up["stored"] != 1 or up["first_log_index"] != 0 or up["failure"]:
            fail("the upload on /api/status: %s" % up)
        if status["logs"][0]["state"] != "verified" or status["warnings"]:
            fail("logs %s, warnings %s" % (status["logs"], status["warnings"]))
        base = "http://127.0.0.1:%d/" % port
        dom = chromium.dump_dom(base, work, budget_ms=10000)
        with open(os.path.join(a.artifacts, "status_page_uploads.html"), "w") as f:
            f.write(dom)
        uploads = re.search(r'<tbody id="uploads">(.*?)</tbody>', dom, re.S)
        cells = [html.unescape(x) for x in re.findall(r"<td>(.*?)</td>", uploads.group(1))] if uploads else []
        if len(cells) != 6 or cells[1] != collector_url or cells[3] != "1" or cells[4] != "#0" or cells[5] != "ok":
            fail("the uploads table shows %s" % cells)
        if collector_url + ": log verified consistent up to" not in html.unescape(dom):
            fail("the collector's log state is not shown: " + dom[:3000])
        print("PASS: with a collector, the page lists the upload with its receipt (#0) and the log verified by the witness")
        daemon.send_signal(signal.SIGTERM)
        if daemon.wait(timeout=120) != 0:
            fail("the second daemon did not stop cleanly (status %s)" % daemon.returncode)
        return 0
    finally:
        for process in (daemon, collector):
            stop(process)
        web.shutdown()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
