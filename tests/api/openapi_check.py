#!/usr/bin/env python3
"""Keeps /api/v1/openapi.json true (docs/api.md):
1. the real collector serves it, identical to collector/web/openapi.json;
2. @apidevtools/swagger-parser (npm) finds it a valid OpenAPI 3 document, and rejects a broken copy;
3. every route the collector's sources register is documented, and every documented path is a route;
4. on the real collector over a replayed database, every documented query parameter of every GET is applied
   (its example is not refused as unknown), every GET of /api/v1 with parameters refuses an undocumented one
   with a 400 naming it, and no candidate name outside the document is accepted;
5. every field of the JSON answers to those requests is in the document's schema for it, and the CSV
   columns it names are the ones written.

usage: openapi_check.py --collector BIN --replay-gen BIN --build DIR
Exit 0 on success, 1 on a failed check; without node/npm: 77 (skip) for a developer, a failure in CI."""
import argparse, atexit, copy, glob, json, os, re, shutil, subprocess, sys, tempfile, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "browser"))
import chromium  # noqa: E402  (npm_modules, skip_or_fail)
from checks import check, finish  # noqa: E402
from collector_proc import Collector, replay_db  # noqa: E402

ROOT = chromium.ROOT
DOC = os.path.join(ROOT, "collector", "web", "openapi.json")
def source_routes():
    """(method, regex) of every literal route registration in collector/ (Get/Post on a httplib server, and
    GuardedServer's post_with_body)."""
    routes = []
    pattern = re.compile(r'\.(Get|Post|post_with_body)\(\s*(?:R"\((.*?)\)"|"([^"]*)")', re.S)
    for path in glob.glob(os.path.join(ROOT, "collector", "**", "*.cpp"), recursive=True):
        with open(path) as f:
            for m in pattern.finditer(f.read()):
                method = "post" if m.group(1) == "post_with_body" else m.group(1).lower()
                routes.append((method, m.group(2) or m.group(3), os.path.relpath(path, ROOT)))
    # The embedded files of collector/web (embed_web.cmake): the dashboard page and this document are routes
    # to document; the page's scripts, styles and strings are not.
    routes += [("get", "/", "collector/web/index.html"),
               ("get", "/api/v1/openapi\\.json", "collector/web/openapi.json")]
    return routes


def example_path(template, op):
    """A concrete path for a documented template, from its path parameters' examples."""
    for p in op.get("parameters", []):
        if p.get("in") == "path":
            template = template.replace("{%s}" % p["name"], str(p["example"]))
    return template


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def undocumented_fields(doc, schema, value, where):
    """Paths of fields in `value` its schema does not list (objects with properties, arrays of them)."""
    schema = deref(doc, schema)
    out = []
    if isinstance(value, dict) and "properties" in schema:
        for k, v in value.items():
            if k not in schema["properties"]:
                if not schema.get("additionalProperties"):
                    out.append(where + "." + k)
            else:
                out += undocumented_fields(doc, schema["properties"][k], v, where + "." + k)
    elif isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value[:20]):
            out += undocumented_fields(doc, schema["items"], v, "%s[%d]" % (where, i))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--replay-gen", required=True)
    ap.add_argument("--build", required=True)
    a = ap.parse_args()
    node_modules = chromium.npm_modules(a.build)
    with open(DOC) as f:
        doc = json.load(f)

    # 2. The validator, on the document and on a copy it must reject (so this check can fail).
    env = dict(os.environ, NODE_PATH=node_modules)
    validator = os.path.join(HERE, "validate_openapi.js")
    r = subprocess.run(["node", validator, DOC], capture_output=True, text=True, env=env, timeout=300)
    check(r.returncode == 0, "swagger-parser rejects openapi.json: " + r.stdout + r.stderr)
    print(r.stdout.strip())
    broken = copy.deepcopy(doc)
    del broken["components"]["parameters"]["cc"]["in"]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(broken, f)
    r = subprocess.run(["node", validator, f.name], capture_output=True, text=True, env=env, timeout=300)
    os.unlink(f.name)
    check(r.returncode != 0, "swagger-parser accepts a parameter without 'in': the validator checks nothing")

    # 3. Routes in the sources <-> paths in the document.
    routes = source_routes()
    check(len(routes) >= 15, "found only %d route registrations in collector/: the scan is broken" % len(routes))
    documented = {(m, p): op for p, item in doc["paths"].items() for m, op in item.items()}
    for method, regex, where in routes:
        hits = [p for (m, p), op in documented.items() if m == method and re.fullmatch(regex, example_path(p, op))]
        check(hits, "%s %s (%s) is not in openapi.json" % (method.upper(), regex, where))
    for (method, path), op in documented.items():
        concrete = example_path(path, op)
        check(any(m == method and re.fullmatch(regex, concrete) for m, regex, _ in routes),
              "openapi.json documents %s %s, which no source registers" % (method.upper(), path))

    # 1, 4, 5. Against the real collector.
    work = tempfile.mkdtemp(prefix="kuzet-openapi-")
    atexit.register(shutil.rmtree, work, True)  # the scratch directory goes when the test ends, pass or fail
    db = os.path.join(work, "collector.db")
    replay_db(a.replay_gen, db, days=3, probes=8)
    server = Collector(a.collector, db)
    try:
        status, _, body = server.get("/api/v1/openapi.json")
        check(status == 200 and json.loads(body) == doc, "/api/v1/openapi.json is not collector/web/openapi.json")
        # Real ids for path parameters, from the data.
        status, _, body = server.get("/api/v1/measurements?limit=1")
        uid = json.loads(body)["measurements"][0]["measurement"]["measurement_uid"] if status == 200 else "x"
        status, _, body = server.get("/api/v1/incidents?cc=KZ")
        incidents = json.loads(body).get("incidents", []) if status == 200 else []
        check(incidents, "the replay gives no incident to open")
        real = {"uid": uid, "id": incidents[0]["id"] if incidents else "x"}

        all_names = {p["name"] for item in doc["paths"].values() for op in item.values()
                     for p in [deref(doc, x) for x in op.get("parameters", [])] if p["in"] == "query"}
        candidates = sorted(all_names | {"q", "page", "offset", "sort", "order", "lang", "fields", "probe_id",
                                         "country", "network", "test_name", "since", "until_ms", "callback"})
        for (method, path), op in sorted(documented.items()):
            if method != "get":
                continue
            params = [deref(doc, x) for x in op.get("parameters", [])]
            concrete = path
            for p in params:
                if p["in"] == "path":
                    concrete = concrete.replace("{%s}" % p["name"], urllib.parse.quote(str(real.get(p["name"], p["example"])), safe="/"))
            query = [p for p in params if p["in"] == "query"]
            required = [p for p in query if p.get("required")]
            base_q = {p["name"]: str(p["example"]) for p in required}

            def get(extra):
                q = dict(base_q, **extra)
                return server.get(concrete + ("?" + urllib.parse.urlencode(q) if q else ""))

            status, headers, body = get({})
            check(not (status == 404 and b"no such endpoint" in body), "GET %s is not served" % concrete)
            ctype = (headers.get("Content-Type") or "").split(";")[0]
            if status == 200 and ctype == "application/json":
                schema = op["responses"]["200"]["content"]["application/json"]["schema"]
                extra = undocumented_fields(doc, schema, json.loads(body), path)
                check(not extra, "GET %s answers fields openapi.json does not list: %s" % (path, extra[:10]))
            for p in query:
                status, _, body = get({p["name"]: str(p["example"])})
                check(not (status == 400 and b"unknown parameter" in body),
                      "GET %s refuses its documented parameter %s: %s" % (path, p["name"], body[:200]))
                check(status != 400, "GET %s?%s=%s (the document's example) gives %d: %s" %
                      (path, p["name"], p["example"], status, body[:200]))
            # The CSV columns the document names are the ones the endpoint writes, in order.
            columns = re.search(r"\(([a-z_]+(?:,[a-z_]+)+)\)", op["responses"]["200"].get("description", ""))
            if columns and "text/csv" in op["responses"]["200"].get("content", {}):
                status, _, body = get({"format": "csv"})
                check(status == 200 and body.decode().split("\n", 1)[0] == columns.group(1),
                      "GET %s?format=csv writes %r, openapi.json says %r" %
                      (path, body.decode().split("\n", 1)[0], columns.group(1)))
            if not path.startswith("/api/v1/") or not query:
                continue
            status, _, body = get({"zz_undocumented": "1"})
            check(status == 400 and b"zz_undocumented" in body,
                  "GET %s does not refuse an undocumented parameter (status %d)" % (path, status))
            names = {p["name"] for p in query}
            for name in candidates:
                if name in names:
                    continue
                status, _, body = get({name: "1"})
                check(status == 400 and name.encode() in body,
                      "GET %s applies '%s', which openapi.json does not document for it" % (path, name))
    finally:
        server.stop()
    return finish("openapi.json: valid, %d routes documented, every parameter checked on the collector" % len(routes))


if __name__ == "__main__":
    sys.exit(main())
