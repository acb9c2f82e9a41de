#!/usr/bin/env python3
"""import-ooni and export --format ooni end to end, on the spec-written fixtures:
plain and gzip files, malformed lines counted (never fatal), idempotent re-import, export -> import
into a second database gives the same verdicts, bad usage exits 2."""
import atexit, glob, gzip, json, os, shutil, sqlite3, subprocess, sys, tempfile

from checks import check, finish, runner

collector, fixtures = sys.argv[1], sys.argv[2]
run = runner(collector)

def rows(db):
    con = sqlite3.connect(db)
    out = sorted(con.execute("SELECT target, verdict, method, source FROM measurements").fetchall())
    con.close()
    return out

work = tempfile.mkdtemp(prefix="kuzet-ooni-")
atexit.register(shutil.rmtree, work, True)  # the scratch directory goes when the test ends, pass or fail
lines = [json.dumps(json.load(open(f))) for f in sorted(glob.glob(os.path.join(fixtures, "*.json")))]
valid = len(lines) - 1  # odd_null_test_keys has no test keys
hostile = ["not json at all", "{}", "[" * 100 + "]" * 100, json.dumps({"test_name": "web_connectivity", "test_keys": {}, "input": "ftp://x/"})]
plain = os.path.join(work, "a.jsonl")
with open(plain, "w") as f:
    f.write("\n".join(lines + hostile) + "\n")
packed = os.path.join(work, "b.jsonl.gz")
with gzip.open(packed, "wt") as f:
    f.write("\n".join(lines) + "\n")

db = os.path.join(work, "t.db")
r = run("import-ooni", "--db", db, plain)
print(r.stdout, r.stderr)
check(r.returncode == 0, "import-ooni exits 0 with malformed lines among the good ones")
check(f"stored {valid}," in r.stdout, f"{valid} measurements stored")
check("skipped malformed: 2" in r.stdout, "malformed lines counted (not JSON, nested too deep)")
check("skipped no_test_keys: 1" in r.stdout, "null test keys counted")
check("skipped not_web_connectivity: 1" in r.stdout, "a line of another test counted apart")
check("skipped bad_input: 1" in r.stdout, "a non-http input counted")
stored = rows(db)
check(len(stored) == valid and all(s[3] == "ooni" for s in stored), "every imported row is labelled source=ooni")
check(("www.change.org", "blocked", "dns.bogon", "ooni") in stored, "the DNS-bogon fixture is judged blocked/dns.bogon")

r = run("import-ooni", "--db", db, packed)
print(r.stdout, r.stderr)
check(r.returncode == 0 and "stored 0," in r.stdout and f"duplicate {valid}," in r.stdout, "re-import of the gzip copy stores nothing new")

out = os.path.join(work, "export.jsonl")
r = run("export", "--db", db, "--format", "ooni", "--out", out)
print(r.stderr)
exported = [json.loads(l) for l in open(out)]
check(r.returncode == 0 and len(exported) == valid, "export writes one OONI line per measurement")
check(all(e["test_name"] == "web_connectivity" and e["probe_asn"].startswith("AS") and len(e["measurement_start_time"]) == 19 for e in exported), "exported lines have OONI's base fields")
check(all("x_kuzet" in e and e["x_kuzet"]["verdict"] for e in exported), "Kuzet's verdict rides under x_kuzet")

db2 = os.path.join(work, "t2.db")
r = run("import-ooni", "--db", db2, out)
print(r.stdout, r.stderr)
check(r.returncode == 0 and f"stored {valid}," in r.stdout, "the export imports into a second database")
check(rows(db2) == stored, "export -> import gives the same targets, verdicts and methods")

r = run("export", "--db", db, "--format", "ooni", "--cc", "kz", "--from", "2024-01-01", "--out", os.path.join(work, "f.jsonl"))
n = sum(1 for _ in open(os.path.join(work, "f.jsonl")))
check(r.returncode == 0 and n == 3, f"export filters by country (any case) and date: {n} lines from 2024")
for source, expected in (("ooni", valid), ("all", valid), ("kuzet", 0)):
    r = run("export", "--db", db, "--format", "ooni", "--source", source, "--out", os.path.join(work, "s.jsonl"))
    n = sum(1 for _ in open(os.path.join(work, "s.jsonl")))
    check(r.returncode == 0 and n == expected, f"export --source {source}: {n} lines")
check(run("export", "--db", db, "--format", "ooni", "--source", "both").returncode == 2, "an unknown source is a usage error")
check(run("export", "--db", db, "--format", "csv").returncode == 2, "an unknown export format is a usage error")
check(run("import-ooni", "--db", db).returncode == 2, "import-ooni without a file is a usage error")
check(run("import-ooni", "--db", db, os.path.join(work, "missing.jsonl")).returncode == 1, "a missing file is an error")

finish()
