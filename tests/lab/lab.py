#!/usr/bin/python3
"""Kuzet censorship lab: runs scenarios in network namespaces and checks the probe's measurements.

  lab.py run SCENARIO.yaml... --probe BIN [--collector-bin BIN] [--work DIR] [--keep]
        one scenario after another: fresh topology, censor rules, servers, probe, comparison, teardown
  lab.py up SCENARIO.yaml [--work DIR] [--prefix NAME]
        builds one scenario's lab and leaves it running for a look inside (see docs/lab.md)
  lab.py down PREFIX        removes a lab left by `up` (or by a killed run): processes and namespaces
  lab.py list               labs (namespace prefixes) currently present

Topology (namespace names are PREFIX-probe, PREFIX-censor, PREFIX-net; PREFIX = kz<pid> by default):

  probe (95.58.10.2) --p0/c0-- censor (router: nftables, tc, lying resolver, injector, DPI proxy)
                                 --c1/n0-- net ("the internet": DNS, one address per site, blockpage, collector)

Assertions: env KUZET_LAB_ASSERT=both (default) checks observations and verdicts; =observations checks only each target's expect_observation;
=verdicts checks expect: {verdict, method}; =both checks both.
"""
import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

sys.dont_write_bytecode = True  # keep tests/lab free of __pycache__

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"  # Debian's python3 with python3-dnslib, python3-cryptography, python3-yaml
BLOCKPAGE_NAME = "blocked.kaztelecom.kz"
RESOLVER_PORT, TLS_PROXY_PORT, HTTP_PROXY_PORT = 5353, 15443, 15080

# The real interception roots (field notes) plus the lab's own Qaznet-like root (added per run).
KNOWN_ROOTS = [
    ("Qaznet Trust Network (2019)", "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2"),
    ("ISCA (2020 exercise)", "61c0fc2e38b5b6f9071b42cee54a9013d858b6697c68b460948551b3249576a1"),
]


class LabError(Exception):
    """The lab itself could not be built (not a probe mismatch)."""


def sh(*args, check=True, capture=False, ns=None, timeout=60):
    cmd = list(args)
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise LabError(f"command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.strip()}")
    return r.stdout if capture else r


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


# ------------------------------------------------------------------------------------------ preflight

def preflight():
    """The lab needs root, namespaces, veth, nftables and tc. Fails loudly, saying what is missing."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not running as root (namespaces, nftables and tc need root)")
    for tool in ("ip", "nft", "tc"):
        if shutil.which(tool) is None:
            problems.append(f"'{tool}' not found (scripts/install-deps.sh --test installs it)")
    try:
        import dnslib  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError as e:
        problems.append(f"python module missing: {e} (Debian: python3-dnslib, python3-cryptography)")
    if not problems:
        probe_ns = f"kzpre{os.getpid()}"
        try:
            sh("ip", "netns", "add", probe_ns)
            sh("ip", "link", "add", "t0", "type", "veth", "peer", "name", "t1", ns=probe_ns)
            sh("nft", "list", "ruleset", ns=probe_ns)
        except (LabError, OSError) as e:
            problems.append(f"network namespaces / veth / nftables do not work here: {e}")
        finally:
            sh("ip", "netns", "del", probe_ns, check=False)
    if problems:
        raise LabError("the lab cannot run on this machine:\n  - " + "\n  - ".join(problems))


# ------------------------------------------------------------------------------------------ scenario

def default_ok_checks(url):
    checks = ['dns.failure == ""', 'tcp[0].failure == ""', 'http.failure == ""',
              "http.requests[-1].status == 200"]
    if url.startswith("https://"):
        checks[2:2] = ['tls[0].failure == ""', 'tls[0].verify_failure == ""']
    return checks


def load_scenario(path, world):
    sc = load_yaml(path)
    sc.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    sc.setdefault("censor", {})
    targets = list(sc.get("targets", []))
    # Every scenario keeps the world's control sites: they must come out ok (the false-positive guard),
    # unless the scenario says what they must look like instead (e.g. a total shutdown).
    control_expect = sc.get("control_expect", {"expect": {"verdict": "ok", "method": ""}})
    for site in world["sites"]:
        if site.get("control"):
            url = f"https://{site['name']}/"
            if not any(t["url"] == url for t in targets):
                targets.append({"url": url, "category": "control", **control_expect})
    for t in targets:
        t.setdefault("category", "other")
        t.setdefault("expect", {"verdict": "ok", "method": ""})
        if "expect_observation" not in t:
            if t["expect"].get("verdict") != "ok":
                raise LabError(f"{path}: target {t['url']} needs expect_observation")
            t["expect_observation"] = default_ok_checks(t["url"])
    if not any(t["category"] == "control" and t["expect"].get("verdict") == "ok" for t in targets) \
            and not sc.get("no_ok_controls"):
        raise LabError(f"{path}: no control target expected ok (set no_ok_controls: true only for shutdowns)")
    sc["targets"] = targets
    return sc


def site_address(world, name):
    for s in world["sites"]:
        if s["name"] == name:
            return s["address"]
    raise LabError(f"censor rule names '{name}', which is not a site in world.yaml")


def build_state(sc, world, pki, run_dir, prefix):
    net = world["network"]
    censor = sc["censor"]
    zone = {s["name"]: [s["address"]] for s in world["sites"]}
    zone[BLOCKPAGE_NAME] = [net["blockpage"]]
    zone["collector.kuzet.example"] = [net["collector"]]
    regional = {s["name"]: [s["probe_region_address"]] for s in world["sites"] if s.get("probe_region_address")}
    for rule in censor.get("dns", []):
        if rule["action"] == "hijack":
            rule.setdefault("address", net["blockpage"])
        elif rule["action"] in ("bogon", "inject"):
            rule.setdefault("address", "10.10.34.34" if rule["action"] == "bogon" else "31.13.72.9")
    with open(os.path.join(HERE, "blockpage.html"), encoding="utf-8") as f:
        blockpage_html = f.read()
    return {
        "world": world, "pki": pki, "run_dir": run_dir, "prefix": prefix,
        "blockpage_name": BLOCKPAGE_NAME, "blockpage_html": blockpage_html,
        "censor_probe_iface": "c0",
        "dns": {"zone": zone, "probe_region_zone": regional, "delay_ms": sc.get("dns_server_delay_ms", 0)},
        "censor": censor,
    }


# ------------------------------------------------------------------------------------------ the lab

class Lab:
    def __init__(self, sc, world, work_dir, prefix, keep=False):
        self.sc, self.world, self.prefix, self.keep = sc, world, prefix, keep
        self.ns = {role: f"{prefix}-{role}" for role in ("probe", "censor", "net")}
        self.procs = []
        os.makedirs(work_dir, exist_ok=True)
        self.run_dir = tempfile.mkdtemp(prefix=f"{sc['name']}-", dir=work_dir)
        from pki import ensure  # noqa: E402  (tests/lab/pki.py)
        names = [s["name"] for s in world["sites"]]
        self.pki = ensure(os.path.join(work_dir, "pki-cache"), names, BLOCKPAGE_NAME)
        self.state = build_state(sc, world, self.pki, self.run_dir, prefix)
        self.state_path = os.path.join(self.run_dir, "state.json")
        with open(self.state_path, "w") as f:
            json.dump(self.state, f, indent=1)

    # --- topology
    def build(self):
        net = self.world["network"]
        P, C, N = self.ns["probe"], self.ns["censor"], self.ns["net"]
        for ns in (P, C, N):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", "p0", "netns", P, "type", "veth", "peer", "name", "c0", "netns", C)
        sh("ip", "link", "add", "c1", "netns", C, "type", "veth", "peer", "name", "n0", "netns", N)
        probe_prefix = net["probe"].split("/")[1]
        sh("ip", "addr", "add", net["probe"], "dev", "p0", ns=P)
        sh("ip", "addr", "add", f"{net['censor_probe_side']}/{probe_prefix}", "dev", "c0", ns=C)
        sh("ip", "addr", "add", net["censor_internet_side"], "dev", "c1", ns=C)
        sh("ip", "addr", "add", net["internet_gateway"], "dev", "n0", ns=N)
        for ns, dev in ((P, "p0"), (C, "c0"), (C, "c1"), (N, "n0")):
            sh("ip", "link", "set", dev, "up", ns=ns)
        sh("ip", "route", "add", "default", "via", net["censor_probe_side"], ns=P)
        sh("ip", "route", "add", "default", "via", net["internet_gateway"].split("/")[0], ns=C)
        probe_net = str(ipaddress.ip_interface(net["probe"]).network)
        sh("ip", "route", "add", probe_net, "via", net["censor_internet_side"].split("/")[0], ns=N)
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=C)
        # Every server address of the internet lives on the net namespace's one interface.
        addresses = {s["address"] for s in self.world["sites"]}
        addresses |= {s["probe_region_address"] for s in self.world["sites"] if s.get("probe_region_address")}
        addresses |= {net["resolver"], net["blockpage"], net["collector"]}
        for a in sorted(addresses):
            sh("ip", "addr", "add", f"{a}/32", "dev", "n0", ns=N)

    def censor_rules(self):
        """The nftables ruleset of the censor namespace, from the scenario's rules."""
        net, censor = self.world["network"], self.sc["censor"]
        fwd, nat = [], []
        if censor.get("shutdown"):
            fwd.append("counter drop comment \"total shutdown\"")
        if censor.get("block_collector"):
            fwd.append(f"ip daddr {net['collector']} counter drop comment \"collector blocked\"")
        for rule in censor.get("tcp", []):
            for name in rule["names"]:
                a = site_address(self.world, name)
                ports = "{ " + ", ".join(str(p) for p in rule.get("ports", [80, 443])) + " }"
                if rule["action"] == "blackhole":
                    fwd.append(f"ip daddr {a} tcp dport {ports} counter drop comment \"blackhole {name}\"")
                elif rule["action"] == "reset":
                    fwd.append(f"ip daddr {a} tcp dport {ports} counter reject with tcp reset "
                               f"comment \"rst {name}\"")
                else:
                    raise LabError(f"unknown tcp action {rule['action']}")
        lying = [r for r in censor.get("dns", []) if r["action"] != "inject"]
        if lying:
            nat.append(f"ip daddr {net['resolver']} udp dport 53 counter redirect to :{RESOLVER_PORT}")
            nat.append(f"ip daddr {net['resolver']} tcp dport 53 counter redirect to :{RESOLVER_PORT}")
        dpi_names = {n for r in censor.get("tls", []) for n in r["sni"]}
        dpi_names |= {n for r in censor.get("http", []) for n in r["host"]}
        if dpi_names:
            addrs = ", ".join(sorted({site_address(self.world, n) for n in dpi_names}))
            nat.append(f"ip daddr {{ {addrs} }} tcp dport 443 counter redirect to :{TLS_PROXY_PORT}")
            nat.append(f"ip daddr {{ {addrs} }} tcp dport 80 counter redirect to :{HTTP_PROXY_PORT}")
        lines = ["table ip kuzet_censor {",
                 "  chain forward {", "    type filter hook forward priority 0; policy accept;"]
        lines += [f"    {r}" for r in fwd] + ["  }"]
        lines += ["  chain input {", "    type filter hook input priority 0; policy accept;"]
        if censor.get("shutdown"):
            lines.append("    iifname \"c0\" counter drop")
        lines += ["  }"]
        lines += ["  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;"]
        lines += [f"    iifname \"c0\" {r}" for r in nat] + ["  }", "}"]
        return "\n".join(lines) + "\n"

    def apply_censor(self):
        C = self.ns["censor"]
        path = os.path.join(self.run_dir, "censor.nft")
        with open(path, "w") as f:
            f.write(self.censor_rules())
        sh("nft", "-f", path, ns=C)
        link = self.sc["censor"].get("link")
        if link:
            # A uniformly slow link (everything, both ways): not throttling, which is selective.
            rate = f"{int(link['rate_kbit'])}kbit"
            for dev in ("c0", "c1"):
                sh("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate, "burst", "16kb",
                   "latency", "400ms", ns=C)

    # --- processes
    def start(self, role, name, args, ready):
        log = os.path.join(self.run_dir, f"{name}.log")
        f = open(log, "w")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[role]] + args, stdout=f, stderr=subprocess.STDOUT,
                             start_new_session=True, cwd=HERE)
        self.procs.append((name, p, log))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise LabError(f"{name} exited with {p.returncode}:\n{open(log).read()[-3000:]}")
            if ready in open(log, errors="replace").read():
                return p
            time.sleep(0.05)
        raise LabError(f"{name} not ready after 30 s:\n{open(log).read()[-3000:]}")

    def start_servers(self, collector_bin=None):
        self.start("net", "dns", [PY, "servers.py", "dns", self.state_path], "dns: authoritative")
        self.start("net", "web", [PY, "servers.py", "web", self.state_path], "web: ")
        censor = self.sc["censor"]
        if any(r["action"] != "inject" for r in censor.get("dns", [])):
            self.start("censor", "resolver", [PY, "censor.py", "resolver", self.state_path], "resolver: lying")
        if any(r["action"] == "inject" for r in censor.get("dns", [])):
            self.start("censor", "injector", [PY, "censor.py", "injector", self.state_path], "injector: watching")
        if censor.get("tls") or censor.get("http"):
            self.start("censor", "proxy", [PY, "censor.py", "proxy", self.state_path], "proxy: tls rules")
        if collector_bin:
            self.start_collector(collector_bin)

    def start_collector(self, binary):
        net = self.world["network"]
        asn = os.path.join(self.run_dir, "asn.tsv")
        with open(asn, "w") as f:
            for start, end, number, cc, name in self.world["asn"]:
                f.write(f"{start}\t{end}\t{number}\t{cc}\t{name}\n")
        listen = f"{net['collector']}:{net['collector_port']}"
        self.start("net", "collector", [binary, "serve", "--listen", listen,
                                        "--db", os.path.join(self.run_dir, "collector.db"),
                                        "--resolver", net["resolver"], "--ca-bundle",
                                        f"{self.pki}/public-root.pem", "--asn-db", asn,
                                        "--allow-private-targets"], "")
        # The collector prints nothing we rely on: wait until it answers on its port.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = sh(PY, "-c", f"import socket;socket.create_connection(('{net['collector']}',"
                             f"{net['collector_port']}),1)", ns=self.ns["net"], check=False)
            if r.returncode == 0:
                return
            time.sleep(0.2)
        raise LabError("collector did not start listening")

    # --- the probe
    def write_probe_inputs(self):
        qaz = open(f"{self.pki}/qaznet-root.sha256").read().strip()
        spec = {
            "name": f"lab {self.sc['name']}",
            "targets": [{k: v for k, v in t.items() if k in ("url", "category", "throughput_url")}
                        for t in self.sc["targets"]],
            "interception_roots": [{"name": "Qaznet Trust Network (lab)", "sha256": qaz}]
            + [{"name": n, "sha256": h} for n, h in KNOWN_ROOTS],
            "blockpages": [{"name": "Kazakhtelecom blockpage (lab)", "body_contains": "lab-blockpage-7f3a"},
                           {"name": "Kazakhtelecom blockpage server (lab)",
                            "address": self.world["network"]["blockpage"]}],
        }
        # Short enough for a quick lab, long enough for Python servers on a loaded 2-core machine.
        t = {"dns": "3s", "tcp": "4s", "tls": "4s", "http": "10s"}
        t.update(self.sc.get("probe_timeouts", {}))
        config = {"timeouts": t}
        spec_path = os.path.join(self.run_dir, "spec.yaml")
        config_path = os.path.join(self.run_dir, "probe.yaml")
        with open(spec_path, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False, allow_unicode=True)
        with open(config_path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        return spec_path, config_path

    def run_probe(self, probe_bin, with_collector):
        spec_path, config_path = self.write_probe_inputs()
        out = os.path.join(self.run_dir, "out.jsonl")
        bundle = self.sc.get("ca_bundle", "public-root.pem")
        net = self.world["network"]
        cmd = [probe_bin, "run", "--spec", spec_path, "--resolver", net["resolver"], "--ca-bundle",
               f"{self.pki}/{bundle}", "--out", out, "--no-upload", "--config", config_path, "--quiet"]
        if with_collector:
            cmd += ["--collector", f"http://{net['collector']}:{net['collector_port']}"]
        t0 = time.monotonic()
        r = subprocess.run(["ip", "netns", "exec", self.ns["probe"]] + cmd, capture_output=True, text=True,
                           timeout=300)
        took = time.monotonic() - t0
        with open(os.path.join(self.run_dir, "probe.log"), "w") as f:
            f.write(f"$ {' '.join(cmd)}\nexit {r.returncode} after {took:.1f}s\n{r.stdout}\n{r.stderr}")
        if r.returncode != 0:
            raise LabError(f"probe exited with {r.returncode} after {took:.1f}s\n$ {' '.join(cmd)}\n"
                           f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
        records = []
        with open(out) as f:
            for line in f:
                if line.strip():
                    records.append(json.loads(line))
        return records, took

    # --- teardown
    def teardown(self):
        for name, p, _ in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for name, p, _ in self.procs:
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=3)
        self.procs = []
        remove_namespaces(self.prefix)
        if not self.keep:
            shutil.rmtree(self.run_dir, ignore_errors=True)


def lab_namespaces(prefix=None):
    out = sh("ip", "netns", "list", capture=True, check=False) or ""
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    pattern = re.compile(r"^(kz[\w-]*)-(probe|censor|net)$")
    return [n for n in names if pattern.match(n) and (prefix is None or n.rsplit("-", 1)[0] == prefix)]


def remove_stale_labs():
    """Removes labs of earlier runs that died without cleaning up (kz<pid> prefix, pid no longer alive)."""
    for prefix in sorted({n.rsplit("-", 1)[0] for n in lab_namespaces()}):
        m = re.fullmatch(r"kz(\d+)", prefix)
        if m and not os.path.exists(f"/proc/{m.group(1)}"):
            print(f"   removing stale lab {prefix}")
            remove_namespaces(prefix)


def remove_namespaces(prefix):
    """Kills whatever still runs inside the lab's namespaces (ours by construction), then deletes them."""
    for ns in lab_namespaces(prefix):
        pids = (sh("ip", "netns", "pids", ns, capture=True, check=False) or "").split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        sh("ip", "netns", "del", ns, check=False)


# ------------------------------------------------------------------------------------------ checks

CHECK_RE = re.compile(r"^\s*(\S+)\s+(==|!=|<=|>=|<|>|has|!has|~|!~|in)\s*(.*?)\s*$")
MISSING = object()


def resolve_path(root, path):
    """Values at a dotted path; `[n]` indexes (negative from the end), `[*]` fans out over a list."""
    values = [root]
    for part in re.findall(r"[^.\[\]]+|\[[^\]]*\]", path):
        nxt = []
        for v in values:
            if part.startswith("["):
                idx = part[1:-1]
                if not isinstance(v, list):
                    nxt.append(MISSING)
                elif idx == "*":
                    nxt.extend(v or [MISSING])
                else:
                    i = int(idx)
                    nxt.append(v[i] if -len(v) <= i < len(v) else MISSING)
            else:
                nxt.append(v.get(part, MISSING) if isinstance(v, dict) else MISSING)
        values = nxt
    return values


def literal(text):
    if text == '""' or text == "''":
        return ""
    if text == "null":
        return None
    try:
        return float(text)
    except ValueError:
        return text.strip('"')


def evaluate(check, record):
    """(passed, what was seen) for one check string against one probe record."""
    m = CHECK_RE.match(check)
    if not m:
        raise LabError(f"malformed check '{check}' (want: PATH OP VALUE)")
    path, op, rhs = m.groups()
    root = record if path.startswith("record.") else record.get("observations", {})
    path = path[len("record."):] if path.startswith("record.") else path
    seen = resolve_path(root, path)
    # Right-hand side: a literal, or "[N *] $path" for comparisons between two observations.
    ref = re.match(r"^(?:([\d.]+)\s*\*\s*)?\$(\S+)$", rhs)
    if ref:
        factor = float(ref.group(1) or 1)
        rroot = record if ref.group(2).startswith("record.") else record.get("observations", {})
        rvals = resolve_path(rroot, ref.group(2).removeprefix("record."))
        rv = rvals[0] if rvals else MISSING
        want = MISSING if rv is MISSING or not isinstance(rv, (int, float)) else factor * rv
    elif op == "in":
        want = [literal(x.strip()) for x in rhs.split(",")]
    else:
        want = literal(rhs)

    def one(v):
        if v is MISSING or want is MISSING:
            return op in ("!=", "!has", "!~") and v is MISSING and want is not MISSING
        if op in ("==", "!="):
            eq = (float(v) == want) if isinstance(want, float) and isinstance(v, (int, float)) else v == want
            return eq if op == "==" else not eq
        if op in ("<", ">", "<=", ">="):
            if not isinstance(v, (int, float)) or not isinstance(want, (int, float)):
                return False
            return {"<": v < want, ">": v > want, "<=": v <= want, ">=": v >= want}[op]
        if op in ("has", "!has"):
            found = isinstance(v, list) and any(x == want or str(x) == str(want) for x in v)
            return found if op == "has" else not found
        if op in ("~", "!~"):
            found = isinstance(v, str) and str(want) in v
            return found if op == "~" else not found
        if op == "in":
            return v in want
        return False

    passed = any(one(v) for v in seen)
    shown = [("<missing>" if v is MISSING else v) for v in seen]
    return passed, shown[0] if len(shown) == 1 else shown


def summarize(record):
    """The probe's measurement in a few lines, to print next to a failed expectation."""
    o = record.get("observations", {}) or {}
    dns = o.get("dns", {}) or {}
    lines = [f"verdict={record.get('verdict')!r} method={record.get('method')!r} "
             f"explanation={record.get('explanation')!r}",
             f"dns: failure={dns.get('failure')!r} addresses={dns.get('addresses')} "
             f"rcodes={[q.get('rcode') for q in dns.get('queries', [])]}"]
    for t in o.get("tcp", []) or []:
        lines.append(f"tcp {t.get('address')}:{t.get('port')} failure={t.get('failure')!r} "
                     f"{t.get('duration_ms', 0):.0f}ms")
    for t in o.get("tls", []) or []:
        chain = [c.get("issuer", "") for c in t.get("chain", [])]
        lines.append(f"tls {t.get('address')} sni={t.get('sni')!r} failure={t.get('failure')!r} "
                     f"verify={t.get('verify_failure')!r} issuers={chain}")
    for key in ("http", "neutral_sni_http"):
        h = o.get(key)
        if h:
            reqs = [f"{r.get('status')} {r.get('title')!r} {r.get('body_length')}B {r.get('failure')!r}"
                    for r in h.get("requests", [])]
            lines.append(f"{key}: failure={h.get('failure')!r} throughput_bps={h.get('throughput_bps')} "
                         f"requests={reqs}")
    return lines


def compare(sc, records, mode):
    """Prints one line per target; returns the number of mismatches."""
    by_url = {r.get("input"): r for r in records}
    failures = 0
    for t in sc["targets"]:
        rec = by_url.get(t["url"])
        if rec is None:
            print(f"  FAIL {t['url']}: no measurement in the probe's output")
            failures += 1
            continue
        problems = []
        if mode in ("observations", "both"):
            for check in t["expect_observation"]:
                ok, seen = evaluate(check, rec)
                if not ok:
                    problems.append(f"expected {check}   saw {json.dumps(seen, ensure_ascii=False)[:300]}")
        if mode in ("verdicts", "both"):
            exp = t["expect"]
            if rec.get("verdict") != exp.get("verdict"):
                problems.append(f"expected verdict {exp.get('verdict')!r}   saw {rec.get('verdict')!r}")
            # method: one string, or a list of acceptable ones where the vocabulary is not settled
            methods = exp.get("method", "")
            methods = [m or "" for m in methods] if isinstance(methods, list) else [methods or ""]
            if "method" in exp and (rec.get("method") or "") not in methods:
                problems.append(f"expected method {' or '.join(map(repr, methods))}   saw {rec.get('method')!r}")
        tag = "ok  " if not problems else "FAIL"
        print(f"  {tag} {t['url']} [{t['category']}] -> verdict={rec.get('verdict')} method={rec.get('method')}")
        if problems:
            failures += 1
            for p in problems:
                print(f"         {p}")
            print("       probe measured:")
            for line in summarize(rec):
                print(f"         {line}")
    return failures


# ------------------------------------------------------------------------------------------ commands

def run_one(path, world, args, mode):
    sc = load_scenario(path, world)
    prefix = f"kz{os.getpid()}"
    print(f"== scenario {sc['name']}: {sc.get('description', '').strip()}")
    lab = Lab(sc, world, args.work, prefix, keep=args.keep)
    t0 = time.monotonic()
    try:
        lab.build()
        lab.apply_censor()
        use_collector = bool(args.collector_bin)
        lab.start_servers(args.collector_bin if use_collector else None)
        records, took = lab.run_probe(args.probe, use_collector)
        print(f"   probe took {took:.1f}s; assertions: {mode}")
        failures = compare(sc, records, mode)
        if failures:
            lab.keep = True  # logs, spec, config and the probe's output, for a post-mortem
            print(f"   run dir kept: {lab.run_dir}")
        return failures
    except LabError:
        lab.keep = True
        print(f"   run dir kept: {lab.run_dir}")
        raise
    finally:
        lab.teardown()
        print(f"   scenario time {time.monotonic() - t0:.1f}s")


def cmd_run(args):
    mode = os.environ.get("KUZET_LAB_ASSERT", "both")
    if mode not in ("observations", "verdicts", "both"):
        raise LabError(f"KUZET_LAB_ASSERT must be observations, verdicts or both, not '{mode}'")
    preflight()
    remove_stale_labs()
    if not os.access(args.probe, os.X_OK):
        raise LabError(f"probe binary {args.probe} is missing or not executable")
    world = load_yaml(os.path.join(HERE, "world.yaml"))
    total = 0
    for path in args.scenarios:
        try:
            total += run_one(path, world, args, mode)
        except LabError as e:
            print(f"  FAIL scenario {path}: {e}")
            total += 1
    print(f"== {'PASS' if total == 0 else f'FAIL ({total} mismatches)'}")
    return 0 if total == 0 else 1


def cmd_up(args):
    preflight()
    world = load_yaml(os.path.join(HERE, "world.yaml"))
    sc = load_scenario(args.scenario, world)
    lab = Lab(sc, world, args.work, args.prefix, keep=True)
    try:
        lab.build()
        lab.apply_censor()
        lab.start_servers(args.collector_bin)
        spec, config = lab.write_probe_inputs()
    except BaseException:
        lab.teardown()
        raise
    n = lab.ns
    net = world["network"]
    collector = (f" \\\n             --collector http://{net['collector']}:{net['collector_port']}"
                 if args.collector_bin else "")
    print(f"""lab '{sc['name']}' is up (prefix {args.prefix}); run dir {lab.run_dir}
  probe:   ip netns exec {n['probe']} {args.probe or 'kuzet-probe'} run --spec {spec} --config {config} \\
             --resolver {net['resolver']} --ca-bundle {lab.pki}/{sc.get('ca_bundle', 'public-root.pem')} \\
             --out {lab.run_dir}/out.jsonl --no-upload{collector}
  curl:    ip netns exec {n['probe']} curl -v --cacert {lab.pki}/public-root.pem \\
             --resolve www.facebook.com:443:157.240.1.35 https://www.facebook.com/
  dig:     ip netns exec {n['probe']} dig @{net['resolver']} www.facebook.com
  censor:  ip netns exec {n['censor']} nft list ruleset ;  logs in {lab.run_dir}/*.log
  remove:  {PY} {os.path.abspath(__file__)} down {args.prefix}""")
    # Servers run in their own sessions and survive this process; `down` removes them.
    return 0


def cmd_down(args):
    found = lab_namespaces(args.prefix)
    remove_namespaces(args.prefix)
    print(f"removed {len(found)} namespaces of {args.prefix}")
    return 0


def cmd_list(args):
    for ns in lab_namespaces():
        print(ns)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("scenarios", nargs="+")
    r.add_argument("--probe", required=True)
    r.add_argument("--collector-bin", default=os.environ.get("KUZET_LAB_COLLECTOR", ""))
    r.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "kuzet-lab"))
    r.add_argument("--keep", action="store_true", help="keep the run directory (logs, spec, output)")
    u = sub.add_parser("up")
    u.add_argument("scenario")
    u.add_argument("--probe", default="")
    u.add_argument("--collector-bin", default="")
    u.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "kuzet-lab"))
    u.add_argument("--prefix", default="kzlab")
    d = sub.add_parser("down")
    d.add_argument("prefix")
    sub.add_parser("list")
    args = ap.parse_args()
    sys.path.insert(0, HERE)

    # Tear down on SIGTERM/SIGINT too (ctest timeouts send SIGTERM): turn them into an exception.
    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    try:
        return {"run": cmd_run, "up": cmd_up, "down": cmd_down, "list": cmd_list}[args.cmd](args)
    except LabError as e:
        print(f"lab: FAIL: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"lab: interrupted ({e}); cleaned up", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
