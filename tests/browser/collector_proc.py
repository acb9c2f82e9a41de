"""A real kuzet-collector on 127.0.0.1 (port 0) over a database the replay generator filled, for the tests
that talk to it over HTTP (tests/api, tests/timeline). Stopped by stop()."""
import os, re, signal, subprocess, urllib.error, urllib.request


def replay_db(replay_gen, db, days=10, probes=40, start="2022-01-02T00:00:00Z", truth=None):
    args = [replay_gen, "--db", db, "--start", start, "--days", str(days), "--probes", str(probes)]
    if truth:
        args += ["--truth", truth]
    subprocess.run(args, check=True, timeout=900, stdout=subprocess.DEVNULL)


class Collector:
    def __init__(self, binary, db, extra_args=()):
        self.proc = subprocess.Popen([binary, "serve", "--db", db, "--listen", "127.0.0.1:0", *extra_args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError("collector did not start: " + line)
        self.base = "http://127.0.0.1:%s" % m.group(1)

    def get(self, path, headers=None):
        """(status, headers, body bytes); HTTP errors are answers too."""
        req = urllib.request.Request(self.base + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
