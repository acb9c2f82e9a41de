"""Headless Chromium for the browser tests (dashboard, status page, API pages), in one place.

- require_chromium(): the chromium binary; without one the test is skipped (exit 77) on a developer's machine
  and fails under CI (CI=true), where scripts/install-deps.sh --test must have installed it.
- dump_dom() / screenshot(): one-shot runs (--dump-dom, --screenshot) for pages that need no interaction.
- Page: a Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: no port, no
  websocket library), for what needs interaction: a window width, clicks and keys, running axe-core, reading
  downloads.
- npm_modules(): tests/browser/package.json's node_modules (axe-core, the OpenAPI validator), installed by
  scripts/npm-deps.sh when missing.
"""
import base64, json, os, select, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def skip_or_fail(why):
    """Missing tooling: a skip (77) for a developer, a failure in CI, where the project installs everything."""
    if os.environ.get("CI"):
        print("FAIL: %s (CI must have it: scripts/install-deps.sh --test, scripts/npm-deps.sh)" % why)
        sys.exit(1)
    print("%s: skipped (scripts/install-deps.sh --test installs it)" % why)
    sys.exit(77)


def require_chromium():
    path = shutil.which("chromium")
    if not path:
        skip_or_fail("chromium not installed")
    return path


def npm_modules(build_dir):
    """<build>/npm/node_modules, installed from tests/browser/package-lock.json when missing or stale."""
    if not shutil.which("node") or not shutil.which("npm"):
        skip_or_fail("node/npm not installed")
    dest = os.path.join(build_dir, "npm")
    r = subprocess.run([os.path.join(ROOT, "scripts", "npm-deps.sh"), dest], capture_output=True, text=True,
                       timeout=600)
    if r.returncode != 0:
        skip_or_fail("npm ci of tests/browser failed: " + r.stderr[-2000:])
    return os.path.join(dest, "node_modules")


def base_args(profile, budget_ms=15000):
    return ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=%d" % budget_ms]


def dump_dom(url, work, budget_ms=15000, timeout=300, extra_args=()):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=work)
    return subprocess.run(base_args(profile, budget_ms) + list(extra_args) + ["--dump-dom", url],
                          capture_output=True, text=True, timeout=timeout).stdout


def screenshot(url, path, work, size="1280,1100", budget_ms=15000, timeout=300):
    profile = tempfile.mkdtemp(prefix="chromium-", dir=work)
    subprocess.run(base_args(profile, budget_ms) + ["--screenshot=" + path, "--window-size=" + size, url],
                   capture_output=True, timeout=timeout)
    return os.path.exists(path)


class Page:
    """One tab of a headless Chromium over the DevTools protocol (JSON messages ending in NUL on fds 3/4)."""

    def __init__(self, work, width=1400, height=1000, lang="en-US"):
        require_chromium()
        profile = tempfile.mkdtemp(prefix="chromium-cdp-", dir=work)
        self.downloads = tempfile.mkdtemp(prefix="downloads-", dir=work)
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds():  # Chromium reads commands on fd 3 and writes answers on fd 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile, "--remote-debugging-pipe",
                "--lang=" + lang, "--accept-lang=" + lang, "--hide-scrollbars", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=fds, close_fds=False, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env=dict(os.environ, LANGUAGE=lang.replace("-", "_")))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime"):
            self.call(domain + ".enable", session=True)
        self.call("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": self.downloads})
        self.resize(width, height)

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def call(self, method, params=None, session=False, timeout=60):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def _read(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError("no answer from chromium")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def resize(self, width, height):
        self.width, self.height = width, height
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}, session=True)

    def goto(self, url, ready_expr=None, timeout=60):
        self.call("Page.navigate", {"url": url}, session=True)
        if ready_expr:
            self.wait_for(ready_expr, timeout)

    def eval(self, expr, timeout=60):
        r = self.call("Runtime.evaluate", {"expression": expr, "awaitPromise": True, "returnByValue": True},
                      session=True, timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % json.dumps(r["exceptionDetails"])[:2000])
        return r["result"].get("value")

    def wait_for(self, expr, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.eval("!!(%s)" % expr):
                    return
            except RuntimeError:
                pass
            time.sleep(0.2)
        raise TimeoutError("waited %ds for %s" % (timeout, expr))

    def key(self, key, code=None, key_code=0):
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", {"type": kind, "key": key, "code": code or key,
                                                 "windowsVirtualKeyCode": key_code}, session=True)

    def screenshot(self, path, full_page=True):
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            h = int(self.eval("Math.ceil(document.documentElement.scrollHeight)") or self.height)
            params["clip"] = {"x": 0, "y": 0, "width": self.width, "height": min(h, 8000), "scale": 1}
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def run_axe(self, node_modules):
        """axe-core's WCAG A/AA rules on the current page: the list of violations (id, impact, nodes)."""
        with open(os.path.join(node_modules, "axe-core", "axe.min.js")) as f:
            self.eval(f.read() + ";true")
        return self.eval("axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a','wcag2aa','wcag21a',"
                         "'wcag21aa']}, resultTypes: ['violations']}).then(r => r.violations.map(v => ({id: v.id,"
                         " impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))"
                         "})))", timeout=120)
