#!/usr/bin/env python3
"""GET /api/v1/measurements?format=ooni-jsonl on loopback against the real binary: the API's lines are the
CLI export's lines for the same data and filters, page by page (limit, cursor), with OONI's content type;
source= selects imported OONI rows (ooni, all) or none of them (kuzet); bad values are 400s."""
import atexit, glob, json, os, shutil, subprocess, sys, tempfile, urllib.error, urllib.request

from checks import check, finish, runner

collector, fixtures = sys.argv[1], sys.argv[2]
run = runner(collector)

work = tempfile.mkdtemp(prefix="kuzet-ooni-api-")
atexit.register(shutil.rmtree, work, True)  # the scratch directory goes when the test ends, pass or fail
lines = [json.dumps(json.load(open(f))) for f in sorted(glob.glob(os.path.join(fixtures, "*.json")))]
src = os.path.join(work, "in.jsonl")
with open(src, "w") as f:
    f.write("\n".join(lines) + "\n")
db = os.path.join(work, "t.db")
r = run("import-ooni", "--db", db, src)
check(r.returncode == 0, "fixtures imported: " + r.stdout.strip().splitlines()[0])

def cli_export(*filters):
    out = os.path.join(work, "cli.jsonl")
    r = run("export", "--db", db, "--format", "ooni", "--out", out, *filters)
    check(r.returncode == 0, "CLI export " + " ".join(filters))
    return open(out).read().splitlines()

server = subprocess.Popen([collector, "serve", "--listen", "127.0.0.1:0", "--db", db],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    first = server.stdout.readline()
    port = int(first.split("listening on 127.0.0.1:")[1].split()[0])

    def get(query):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/measurements?{query}", timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def api_lines(query, limit):
        out, cursor, pages = [], "", 0
        while True:
            status, headers, body = get(f"format=ooni-jsonl&limit={limit}&{query}" + (f"&cursor={cursor}" if cursor else ""))
            check(status == 200 and headers.get("Content-Type") == "application/x-ndjson",
                  f"page {pages} of '{query}': 200 application/x-ndjson")
            check(headers.get("X-Kuzet-Skipped") == "0", "no row left out")
            if status != 200:
                return out, pages
            out += body.splitlines()
            pages += 1
            cursor = headers.get("X-Next-Cursor", "")
            if not cursor or pages > 50:
                return out, pages

    everything = cli_export()
    got, pages = api_lines("", 3)
    check(len(everything) > 6 and got == everything,
          f"all {len(everything)} lines, in {pages} pages of 3, are the CLI export's lines byte for byte")
    filtered = cli_export("--cc", "kz", "--from", "2024-01-01")
    got, _ = api_lines("cc=kz&from=2024-01-01", 1000)
    check(len(filtered) == 3 and got == filtered, "the same filters give the same 3 lines")
    got, _ = api_lines("source=ooni", 1000)
    check(got == everything, "source=ooni: every imported line")
    got, _ = api_lines("source=all", 1000)
    check(got == everything, "source=all: the same")
    got, _ = api_lines("source=kuzet", 1000)
    check(got == [], "source=kuzet: no imported line")
    status, _, body = get("source=kuzet")
    check(status == 200 and json.loads(body)["measurements"] == [], "source=kuzet in JSON: empty")
    status, _, body = get("source=ooni&format=csv")
    check(status == 200 and len(body.splitlines()) == len(everything) + 1, "source=ooni in CSV: every row")
    for bad, named in (("format=ooni", "format"), ("source=both", "source"), ("format=ooni-jsonl&limit=0", "limit")):
        status, _, body = get(bad)
        check(status == 400 and named in json.loads(body)["detail"], f"{bad}: 400 naming {named}")
finally:
    server.terminate()
    server.wait(timeout=30)

finish()
