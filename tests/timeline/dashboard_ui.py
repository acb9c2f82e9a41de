#!/usr/bin/env python3
"""The dashboard as people use it, in headless Chromium driven over the DevTools protocol (tests/browser):
at 1400 px and at 390 px (a phone), against the real collector over the January 2022 replay with network
names from an iptoasn TSV. At each width: a screenshot kept as an artifact, axe-core (npm) with no serious or
critical violation, nothing wider than the screen, chart text at least 10 px, charts with accessible names,
tooltips by keyboard, UTC stated, states told apart by pattern as well as colour, the network's name, the
replay marked synthetic, and the exports (chart as PNG and SVG, its data as CSV) downloaded. Then the language:
switched to Russian in the page, Kazakh from the browser's Accept-Language; the network's own page; and axe on
it, on an incident's permalink page and on a measurement's page (390 px, Kazakh).

usage: dashboard_ui.py --collector BIN --replay-gen BIN --build DIR --artifacts DIR
Exit 0 on success, 1 on a failed check; without chromium or npm: 77 (skip) for a developer, failure in CI."""
import argparse, atexit, json, os, shutil, sys, tempfile, time, urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "browser"))
import chromium  # noqa: E402
from checks import check, finish  # noqa: E402
from collector_proc import Collector, replay_db  # noqa: E402

NAMES = {9198: "JSC Kazakhtelecom", 21299: "Kar-Tel LLC", 29355: "Kcell JSC", 48503: "Mobile Telecom-Service LLP",
         48716: "PS Internet Company LLP"}
READY = "document.body.dataset.ready === '1'"


def tsv(path):
    """An iptoasn TSV naming the replay's networks (docs/collector.md: --asn-db)."""
    with open(path, "w") as f:
        for i, (asn, name) in enumerate(sorted(NAMES.items())):
            f.write("10.%d.0.0\t10.%d.255.255\t%d\tKZ\t%s\n" % (i, i, asn, name))


def serious(violations):
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def wait_downloads(directory, names, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        have = set(os.listdir(directory))
        if all(n in have for n in names):
            return True
        time.sleep(0.2)
    return False


def check_width(page, url, width, artifacts, node_modules):
    page.resize(width, 1000)
    page.goto(url, READY, timeout=120)
    time.sleep(0.3)
    shot = page.screenshot(os.path.join(artifacts, "dashboard-%d.png" % width))
    check(os.path.getsize(shot) > 20000, "%d px: the screenshot is empty" % width)
    with open(os.path.join(artifacts, "dashboard-%d.html" % width), "w") as f:
        f.write(page.eval("document.documentElement.outerHTML"))

    bad = serious(page.run_axe(node_modules))
    with open(os.path.join(artifacts, "axe-%d.json" % width), "w") as f:
        json.dump(bad, f, indent=1)
    check(not bad, "%d px: axe-core finds serious violations: %s" % (width, json.dumps(bad)[:1500]))

    layout = page.eval("""(() => {
      const w = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll('body *')].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > w + 1 && !e.closest('.table-scroll');
      }).map((e) => e.tagName + '#' + e.id + '.' + e.className);
      const svg = document.querySelector('#chart svg');
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      const cells = [...document.querySelectorAll('#incidents td')].filter((td) => td.getBoundingClientRect().right > w + 1);
      return {scrollWidth: document.documentElement.scrollWidth, width: w, wide: wide.slice(0, 5), scale,
              cellsOff: cells.length};
    })()""")
    check(layout["scrollWidth"] <= layout["width"] + 1 and not layout["wide"],
          "%d px: the page is wider than the screen: %s" % (width, layout))
    check(layout["scale"] * 11 >= 10, "%d px: chart text renders at %.1f px" % (width, layout["scale"] * 11))
    check(layout["cellsOff"] == 0, "%d px: %d incident cells fall off the screen" % (width, layout["cellsOff"]))

    names = page.eval("""[...document.querySelectorAll('.chart svg')].map((s) => ({role: s.getAttribute('role'),
        name: s.getAttribute('aria-labelledby').split(' ').map((id) => document.getElementById(id).textContent).join(' '),
        tabindex: s.getAttribute('tabindex')}))""")
    check(len(names) == 2 and all(n["role"] == "img" and n["tabindex"] == "0" for n in names),
          "%d px: charts are not focusable images: %s" % (width, names))
    check("web.whatsapp.com" in names[0]["name"] and "AS9198 JSC Kazakhtelecom" in names[0]["name"]
          and "UTC" in names[0]["name"], "%d px: the chart's accessible name: %s" % (width, names[0]["name"]))

    # Keyboard: Tab reaches the chart, arrow keys move along the bins, the live region reads them out.
    page.eval("document.querySelector('#chart svg').focus()")
    page.key("End", "End", 35)
    last = page.eval("document.getElementById('chart-tip').textContent")
    page.key("ArrowLeft", "ArrowLeft", 37)
    before = page.eval("document.getElementById('chart-tip').textContent")
    check("UTC" in last and last != before and page.eval("document.querySelector('#chart svg').dataset.cursor") is not None,
          "%d px: the keyboard does not move the tooltip (%r, %r)" % (width, last, before))
    page.key("Home", "Home", 36)
    first = page.eval("document.getElementById('chart-tip').textContent")
    check(first.startswith("2022-01-02 00:00 UTC"), "%d px: Home does not go to the first bin: %r" % (width, first))

    fills = page.eval("""(() => { const f = (c) => { const r = document.querySelector('#chart rect.bin.' + c) ||
        document.querySelector('#network-chart rect.bin.' + c); return r ? r.getAttribute('fill') : null; };
        return {ok: f('ok'), online: f('online'), blocked: f('blocked'), offline: f('offline')}; })()""")
    check(len(set(fills.values())) == 4 and fills["blocked"].startswith("url(#") and fills["offline"].startswith("url(#"),
          "%d px: states are not each their own colour and pattern: %s" % (width, fills))
    status = page.eval("document.getElementById('status').textContent")
    check("UTC" in status and "AS9198 JSC Kazakhtelecom" in status, "%d px: the status line: %r" % (width, status))
    synthetic = page.eval("(() => { const b = document.getElementById('synthetic'); return b.hidden ? '' : b.textContent; })()")
    check("Synthetic data (replay)" in synthetic, "%d px: the replay is not marked synthetic: %r" % (width, synthetic))


def check_exports(page):
    for f in os.listdir(page.downloads):
        os.remove(os.path.join(page.downloads, f))
    page.eval("document.querySelector('[data-chart=chart] .export-svg').click()")
    page.eval("document.querySelector('[data-chart=chart] .export-png').click()")
    page.eval("document.querySelector('[data-chart=chart] .export-csv').click()")
    ok = wait_downloads(page.downloads, ["kuzet-chart.svg", "kuzet-chart.png"])
    check(ok, "the chart exports were not downloaded: %s" % os.listdir(page.downloads))
    if ok:
        with open(os.path.join(page.downloads, "kuzet-chart.svg")) as f:
            svg = f.read()
        check(svg.startswith("<svg") and "<pattern" in svg and "web.whatsapp.com" in svg,
              "the SVG export is not the chart: %s" % svg[:200])
        with open(os.path.join(page.downloads, "kuzet-chart.png"), "rb") as f:
            png = f.read()
        check(png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, "the PNG export is not a PNG image")
    deadline = time.time() + 30
    csvs = []
    while time.time() < deadline and not csvs:
        csvs = [f for f in os.listdir(page.downloads) if f.endswith(".csv")]
        time.sleep(0.2)
    check(csvs, "the chart's data CSV was not downloaded: %s" % os.listdir(page.downloads))
    if csvs:
        with open(os.path.join(page.downloads, csvs[0])) as f:
            data = f.read()
        check(data.startswith("cc,asn,target,category,bin_start") and ",blocked,blocked,tls.timeout," in data
              and "JSC Kazakhtelecom" in data, "the CSV export: %s" % data[:300])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collector", required=True)
    ap.add_argument("--replay-gen", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--artifacts", required=True)
    a = ap.parse_args()
    # Every text of the dashboard in every language (i18n/dashboard), translated.
    texts = {l: json.load(open(os.path.join(chromium.ROOT, "i18n", "dashboard", l + ".json"))) for l in ("en", "ru", "kk")}
    for lang in ("ru", "kk"):
        check(set(texts[lang]) == set(texts["en"]), "i18n/dashboard/%s.json keys differ from en: %s" %
              (lang, set(texts[lang]) ^ set(texts["en"])))
        same = [k for k in texts["en"] if texts[lang].get(k) == texts["en"][k] and not k.startswith(("export.p", "export.s", "chart.axis"))]
        check(not same, "i18n/dashboard/%s.json leaves English: %s" % (lang, same))
    chromium.require_chromium()
    node_modules = chromium.npm_modules(a.build)
    os.makedirs(a.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="kuzet-dashboard-ui-")
    atexit.register(shutil.rmtree, work, True)  # the scratch directory goes when the test ends, pass or fail
    db = os.path.join(work, "collector.db")
    replay_db(a.replay_gen, db, days=10, probes=40)
    names = os.path.join(work, "asn.tsv")
    tsv(names)
    server = Collector(a.collector, db, ["--asn-db", names])
    period = "from=2022-01-02T00:00:00Z&until=2022-01-12T00:00:00Z"
    url = server.base + "/?cc=KZ&asn=9198&target=web.whatsapp.com&" + period + "&bin=auto"
    try:
        with chromium.Page(work, lang="en-US") as page:
            for width in (1400, 390):
                check_width(page, url, width, a.artifacts, node_modules)
            page.resize(1400, 1000)
            page.goto(url, READY, timeout=120)
            check_exports(page)

            # Language: the picker switches the page to Russian, texts and charts included, and remembers it.
            page.eval("(() => { const s = document.getElementById('lang'); s.value = 'ru';"
                      " s.dispatchEvent(new Event('change')); })()")
            page.wait_for("document.documentElement.lang === 'ru' && document.getElementById('status')"
                          ".textContent.startsWith('Инцидентов')", 30)
            ru = page.eval("({status: document.getElementById('status').textContent, title: document.title,"
                           " show: document.querySelector('#controls button').textContent,"
                           " chart: document.querySelector('#chart svg title').textContent})")
            check(ru["show"] == "Показать" and "хронология" in ru["title"] and "Доля зондов" in ru["chart"],
                  "the Russian switch left English: %s" % ru)
            page.screenshot(os.path.join(a.artifacts, "dashboard-ru-1400.png"))
            page.goto(server.base + "/?cc=KZ&asn=9198&target=signal.org&" + period, READY, timeout=120)
            check(page.eval("document.documentElement.lang") == "ru", "the language choice is not remembered")

            # The network's own page: its targets, each linking to its timeline; the synthetic banner too.
            page.goto(server.base + "/?cc=KZ&asn=9198&target=*&" + period + "&lang=en", READY, timeout=120)
            net = page.eval("({targets: [...document.querySelectorAll('#targets a')].map((a) => a.textContent),"
                            " title: document.getElementById('targets-title').textContent,"
                            " synthetic: !document.getElementById('synthetic').hidden,"
                            " chartHidden: document.getElementById('target-section').hidden})")
            check("web.whatsapp.com" in net["targets"] and "AS9198 JSC Kazakhtelecom" in net["title"]
                  and net["synthetic"] and net["chartHidden"], "the network page: %s" % net)
            page.screenshot(os.path.join(a.artifacts, "network-page-1400.png"))
            bad = serious(page.run_axe(node_modules))
            check(not bad, "the network page has serious axe violations: %s" % json.dumps(bad)[:1000])

            # An incident's permalink page: accessible too.
            incident = json.loads(server.get("/api/v1/incidents?cc=KZ&asn=9198&" + period)[2])["incidents"][0]
            page.goto(server.base + incident["permalink"] + "?lang=en", "document.readyState === 'complete'")
            bad = serious(page.run_axe(node_modules))
            check(not bad, "the incident page has serious axe violations: %s" % json.dumps(bad)[:1000])
            page.screenshot(os.path.join(a.artifacts, "incident-page-1400.png"))
            # A measurement's page, at phone width and in Kazakh: accessible too.
            uid = json.loads(server.get("/api/v1/measurements?cc=KZ&asn=9198&verdict=blocked&limit=1")[2])[
                "measurements"][0]["measurement"]["measurement_uid"]
            page.resize(390, 900)
            page.goto(server.base + "/api/v1/measurements/" + uid + "?lang=kk", "document.readyState === 'complete'")
            check(page.eval("document.documentElement.lang") == "kk", "the measurement page is not in Kazakh")
            bad = serious(page.run_axe(node_modules))
            check(not bad, "the measurement page has serious axe violations: %s" % json.dumps(bad)[:1000])
            wide = page.eval("document.documentElement.scrollWidth")
            check(wide <= 391, "the measurement page is %d px wide at 390 px" % wide)
            page.screenshot(os.path.join(a.artifacts, "measurement-page-kk-390.png"))

        # Kazakh from the browser's language alone.
        with chromium.Page(work, width=390, height=900, lang="kk-KZ") as page:
            page.goto(url, READY, timeout=120)
            kk = page.eval("({lang: document.documentElement.lang, show: document.querySelector('#controls button')"
                           ".textContent})")
            check(kk == {"lang": "kk", "show": "Көрсету"}, "Accept-Language kk does not give Kazakh: %s" % kk)
            page.screenshot(os.path.join(a.artifacts, "dashboard-kk-390.png"))
    finally:
        server.stop()
    return finish("dashboard UI OK at 1400 and 390 px (axe: no serious violations), exports, en/ru/kk; artifacts in "
                  + a.artifacts)


if __name__ == "__main__":
    sys.exit(main())
