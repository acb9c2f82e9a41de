#!/usr/bin/env python3
"""The documented replay command end to end: scripts/replay-report.sh fills a collector with the January 2022
replay, builds the report from the collector's API and verifies the bundle. Then checks:
- the incidents the report states are the generator's truth: every shutdown and blocking, start and end within
  one 10-minute bin, nothing else confirmed (as tests/timeline/test_timeline_golden.cpp does for the engine);
- the PDF renders (pdftoppm -> PNG) and pdftotext finds the title, the first incident and the replay label on
  every page;
- the HTML lists the same incidents and runs no script;
- tampered copies of the bundle fail `verify`, which names what was changed.

usage: replay_report.py --script scripts/replay-report.sh --build-dir DIR --artifacts DIR
Exit 0 on success, 1 on a failed check."""
import argparse, datetime, json, os, re, shutil, subprocess, sys, tempfile

BIN_S = 600


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def ts(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def verify(report, bundle, key):
    args = [report, "verify", bundle] + (["--log-key", key] if key else [])
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    return r.returncode, r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", required=True)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--artifacts", required=True)
    a = ap.parse_args()
    for tool in ("pdftoppm", "pdftotext", "chromium"):
        if not shutil.which(tool):
            fail(tool + " is not installed (scripts/install-deps.sh --test installs it)")
    out = a.artifacts
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    env = dict(os.environ, KUZET_BUILD_DIR=os.path.abspath(a.build_dir))
    # Two networks keep the test short: an access network (blockings and shutdowns) and the data centre.
    asns = [9198, 48716]
    args = [a.script, out]
    for asn in asns:
        args += ["--asn", str(asn)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=1500, env=env)
    print(r.stdout[-3000:], r.stderr[-3000:])
    report = os.path.join(a.build_dir, "reports", "kuzet-report")
    bundle_path = os.path.join(out, "bundle.json")
    for name in ("report.html", "report.pdf", "bundle.json", "replay-truth.json"):
        if not os.path.exists(os.path.join(out, name)):
            fail("the replay command wrote no " + name)

    # The report's incidents against the generator's truth.
    truth = [t for t in json.load(open(os.path.join(out, "replay-truth.json")))["incidents"] if t["asn"] in asns]
    bundle = json.load(open(bundle_path))
    if bundle["synthetic"] != "replay":
        fail("the bundle is not labelled as replay data: %r" % bundle["synthetic"])
    stated = [i for i in bundle["incidents"] if i["confirmed"]]
    matched = set()
    for t in truth:
        hits = [i for i in stated if i["asn"] == t["asn"] and i["target"] == t["target"] and i["kind"] == t["kind"]
                and abs(ts(i["start"]) - ts(t["start"])) <= BIN_S]
        if len(hits) != 1:
            fail("truth %s: %d matching incidents in the report" % (t, len(hits)))
        i = hits[0]
        if i["end"] is None or abs(ts(i["end"]) - ts(t["end"])) > BIN_S:
            fail("truth %s: the report ends it at %s" % (t, i["end"]))
        matched.add(i["id"])
    extra = [i["id"] for i in stated if i["id"] not in matched]
    if extra:
        fail("confirmed incidents the generator did not put in: %s" % extra)
    if len(truth) != 3 + 2 * 2:  # AS9198: 3 messengers blocked, 2 shutdowns; AS48716: 2 shutdowns
        fail("the truth has %d incidents on AS9198 and AS48716, expected 7" % len(truth))
    print("report incidents match the truth: %d" % len(truth))

    # HTML: the same incidents, no script anywhere.
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    rows = re.findall(r'<tr data-id="([^"]+)"', html)
    if sorted(rows) != sorted(matched):
        fail("the HTML lists %s" % rows)
    if re.search(r"<script", html, re.I):
        fail("the HTML contains a script element")

    # PDF: renders, names the title and the first incident, the replay label on every page.
    pdf = os.path.join(out, "report.pdf")
    subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", pdf, os.path.join(out, "page")],
                   check=True, timeout=120)
    pngs = [f for f in os.listdir(out) if f.startswith("page") and f.endswith(".png")]
    if not pngs or os.path.getsize(os.path.join(out, pngs[0])) < 5000:
        fail("pdftoppm rendered no first page")
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
    if "Internet shutdowns and blocking in KZ" not in text:
        fail("pdftotext does not find the title")
    first = rows[0]
    if first not in text.replace("\n", ""):
        fail("pdftotext does not find the first incident " + first)
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    unlabelled = [n + 1 for n, p in enumerate(pages) if "SYNTHETIC DATA (replay)" not in p]
    if unlabelled:
        fail("pages without the replay label: %s" % unlabelled)
    print("PDF OK: %d pages, first incident %s" % (len(pages), first))

    # The untouched bundle: everything verifies. (A collector without a transparency log gives a bundle
    # without proofs: then the only failure allowed is exactly that, and the script's verify says so.)
    logged = bool(bundle["log"]["checkpoint"])
    code, output = verify(report, bundle_path, bundle["log"]["key"] if logged else "")
    failures = [l for l in output.splitlines() if l.startswith("FAIL ")]
    if logged:
        if code != 0 or r.returncode != 0:
            fail("verify fails on the untouched bundle:\n" + output[-3000:])
        if not re.search(r"VERIFIED: \d+ measurements, (\d+) inclusion proofs", output) or \
                int(re.search(r"(\d+) inclusion proofs", output).group(1)) != len(bundle["measurements"]):
            fail("not every measurement's inclusion proof was checked:\n" + output[-1000:])
    elif failures != ["FAIL log: the bundle has no checkpoint, so no measurement is shown to be in a log"]:
        fail("verify on a bundle without a log:\n" + output[-3000:])
    print("verify on the untouched bundle: %s" % output.strip().splitlines()[-1])

    # Tampering: each changed copy fails and verify names it.
    work = tempfile.mkdtemp(prefix="kuzet-report-tamper-")
    try:
        original = open(bundle_path, encoding="utf-8").read()
        lines = original.split("\n")
        m_line = next(n for n, l in enumerate(lines) if '"envelope"' in l and '\\"verdict\\":\\"offline' in l)
        uid = re.search(r'measurement_uid\\":\\"([^\\]+)', lines[m_line]).group(1)
        cases = []
        changed = lines[m_line].replace('\\"verdict\\":\\"offline', '\\"verdict\\":\\"ok', 1)
        cases.append(("measurement", m_line, changed, uid + ": envelope does not verify"))
        if logged:
            # A hash of an inclusion proof (first character of the first hash of a measurement's tlog-proof).
            # The tlog-proof's first hash follows its index line (its newlines are JSON's \\n escapes).
            p_line = next(n for n, l in enumerate(lines) if re.search(r'"tlog_proof":"[^"]*\\nindex \d+\\n[A-Za-z0-9+/]', l))
            p_uid = re.search(r'measurement_uid\\":\\"([^\\]+)', lines[p_line]).group(1)
            at = re.search(r'"tlog_proof":"[^"]*?\\nindex \d+\\n', lines[p_line]).end()
            ch = "B" if lines[p_line][at] == "A" else "A"
            cases.append(("proof", p_line, lines[p_line][:at] + ch + lines[p_line][at + 1:],
                          "measurement " + p_uid + ": inclusion proof"))
            # A byte of the checkpoint: its tree size.
            c_line = next(n for n, l in enumerate(lines) if '"checkpoint":' in l)
            m = re.search(r'\\n(\d)', lines[c_line])
            digit = "1" if m.group(1) != "1" else "2"
            cases.append(("checkpoint", c_line, lines[c_line][:m.start(1)] + digit + lines[c_line][m.end(1):],
                          "checkpoint: does not verify under the log key"))
        for name, line_no, new_line, expected in cases:
            t = list(lines)
            t[line_no] = new_line
            path = os.path.join(work, name + ".json")
            open(path, "w", encoding="utf-8").write("\n".join(t))
            code, output = verify(report, path, bundle["log"]["key"])
            if code == 0 or expected not in output:
                fail("tampered %s: verify exit %d, output lacks %r:\n%s" % (name, code, expected, output[-2000:]))
            print("tampered %s: rejected (%s)" % (name, expected))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
