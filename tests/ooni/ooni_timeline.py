#!/usr/bin/env python3
"""Imported OONI measurements in timelines and incidents, end to end on the real binary: six OONI reports
(distinct report ids, so six pseudonymous probes) seeing www.change.org blocked by DNS, ten minutes apart,
imported with import-ooni and served. With source=ooni or all they make a series, bins and a blocked
incident that is never confirmed (imported rows carry no vantage tag); with source=kuzet none of it shows."""
import atexit, copy, json, os, shutil, sqlite3, subprocess, sys, tempfile, urllib.error, urllib.request
from datetime import datetime, timedelta

from checks import check, finish, runner

collector, fixtures = sys.argv[1], sys.argv[2]
run = runner(collector)

work = tempfile.mkdtemp(prefix="kuzet-ooni-timeline-")
atexit.register(shutil.rmtree, work, True)  # the scratch directory goes when the test ends, pass or fail
base = json.load(open(os.path.join(fixtures, "v04_dns_bogon.json")))
start = datetime(2022, 1, 4, 15, 2, 11)
lines = []
for i in range(6):
    m = copy.deepcopy(base)
    t = start + timedelta(minutes=10 * i)
    m["measurement_start_time"] = t.strftime("%Y-%m-%d %H:%M:%S")
    m["test_start_time"] = m["measurement_start_time"]
    m["report_id"] = f"{t:%Y%m%dT%H%M%S}Z_webconnectivity_KZ_9198_n1_BBBBBBBBBBBBBBB{i}"
    m["measurement_uid"] = f"{t:%Y%m%d%H%M%S}.000001_KZ_webconnectivity_000000000000010{i}"
    lines.append(json.dumps(m))
src = os.path.join(work, "blocked.jsonl")
with open(src, "w") as f:
    f.write("\n".join(lines) + "\n")
db = os.path.join(work, "t.db")
r = run("import-ooni", "--db", db, src)
check(r.returncode == 0 and "stored 6," in r.stdout, "six OONI measurements imported: " + r.stdout.strip().splitlines()[0])

# An index an earlier version kept inside the database (its tables' names are what count): serve drops it
# and keeps the index in a file of its own next to the database.
stale = sqlite3.connect(db)
stale.executescript("CREATE TABLE timeline_meta (base_bin_ms INTEGER); CREATE TABLE timeline_probe_bins (x);")
stale.close()

server = subprocess.Popen([collector, "serve", "--listen", "127.0.0.1:0", "--db", db],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
try:
    port = int(server.stdout.readline().split("listening on 127.0.0.1:")[1].split()[0])

    def get(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    place = "cc=KZ&asn=AS9198&target=www.change.org"
    window = "&from=2022-01-04&until=2022-01-05"
    for source in ("ooni", "all"):
        status, j = get(f"/api/v1/series?{place}&source={source}")
        check(status == 200 and j["source"] == source and len(j["series"]) == 1 and
              j["series"][0]["first"] == "2022-01-04T15:00:00Z" and j["series"][0]["last"] == "2022-01-04T16:00:00Z",
              f"series, source={source}: www.change.org from 15:00 to 16:00")
        status, j = get(f"/api/v1/timeline?{place}{window}&source={source}")
        bins = [b for b in j["series"][0]["bins"] if b["probes"]] if status == 200 and j["series"] else []
        check(j.get("source") == source and len(bins) == 6 and
              all(b["state"] == "blocked" and b["counts"][0]["method"] == "dns.bogon" for b in bins),
              f"timeline, source={source}: six 10-minute bins, each one probe blocked/dns.bogon")
        status, j = get(f"/api/v1/timeline?{place}{window}&source={source}&bin=1h")
        hour = [b for b in j["series"][0]["bins"] if b["probes"]] if status == 200 and j["series"] else []
        check(len(hour) == 1 and hour[0]["probes"] == 6, f"timeline, source={source}, 1-hour bins: six probes in one bin")
        status, j = get(f"/api/v1/incidents?cc=KZ{window}&source={source}")
        found = [i for i in j.get("incidents", []) if i["target"] == "www.change.org"]
        check(status == 200 and len(found) == 1 and found[0]["kind"] == "blocked" and found[0]["source"] == source,
              f"incidents, source={source}: www.change.org blocked")
        if found:
            inc = found[0]
            check(not inc["confirmed"] and inc["vantage_points"] == 0,
                  f"incidents, source={source}: not confirmed, no vantage point (imports have no vantage tag)")
            status, one = get(inc["permalink"])
            check(status == 200 and one["id"] == inc["id"], f"the permalink answers: {inc['permalink']}")
            status, page = get(inc["measurements"] + "&limit=1000")
            check(status == 200 and len(page["measurements"]) == 6 and
                  all("imported" in e for e in page["measurements"]),
                  "its measurements link lists the six imported measurements")

    status, j = get(f"/api/v1/series?{place}&source=kuzet")
    check(status == 200 and j["series"] == [], "series, source=kuzet: none")
    status, j = get(f"/api/v1/timeline?cc=KZ{window}&source=kuzet")
    check(status == 200 and j["series"] == [], "timeline, source=kuzet: no series")
    status, j = get(f"/api/v1/incidents?cc=KZ{window}&source=kuzet")
    check(status == 200 and j["incidents"] == [], "incidents, source=kuzet: none")
    for path in (f"/api/v1/timeline?{place}&source=OONI", f"/api/v1/incidents?source=", "/api/v1/series?source=x",
                 "/api/v1/incidents/KZ.9198.blocked.20220104T1500Z.www.change.org?source=both",
                 "/api/v1/incidents/KZ.9198.blocked.20220104T1500Z.www.change.org?cc=KZ"):
        status, j = get(path)
        check(status == 400 and ("source" in j["detail"] or "cc" in j["detail"]), f"{path}: 400")
    inside = sqlite3.connect(db)
    left = inside.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 'timeline%'").fetchone()[0]
    inside.close()
    check(left == 0 and os.path.getsize(db + ".timelines") > 0,
          "the timeline index is in t.db.timelines, and the stale one inside t.db is gone")
finally:
    server.terminate()
    server.wait(timeout=30)

finish()
