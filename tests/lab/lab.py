#!/usr/bin/python3
"""Kuzet censorship lab: runs scenarios in network namespaces and checks the probe's measurements.

  lab.py run SCENARIO.yaml... --probe BIN [--collector-bin BIN] [--work DIR] [--keep]
        one scenario after another: fresh topology, censor rules, servers, probe, comparison, teardown
  lab.py up SCENARIO.yaml [--work DIR] [--prefix NAME]
        builds one scenario's lab and leaves it running for a look inside (see docs/lab.md)
  lab.py daemon-shutdown --probe BIN --collector-bin BIN [--work DIR] [--keep]
  lab.py daemon-capture --probe BIN --collector-bin BIN [--work DIR] [--keep]
        the probe daemon through a total shutdown and its end: every result measured during it arrives
        at the collector with its original time
  lab.py down PREFIX        removes a lab left by `up` (or by a killed run): processes and namespaces
  lab.py list               labs (namespace prefixes) currently present

Topology (namespace names are PREFIX-probe, PREFIX-censor, PREFIX-net; PREFIX = kz<pid> by default):

  probe (95.58.10.2) --p0/c0-- censor (router: nftables, tc, lying resolver, injector, DPI proxy)
                                 --c1/n0-- net ("the internet": DNS, one address per site, blockpage, collector)

Assertions: env KUZET_LAB_ASSERT=both (default) checks observations and verdicts; =observations checks only each target's expect_observation;
=verdicts checks expect: {verdict, method}; =both checks both.
"""
import argparse
import csv
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
# What `kuzet-probe setup` records once a volunteer accepted the consent text (docs/consent.md).
LAB_CONSENT = {"version": 1, "accepted_at": "2026-01-01T00:00:00Z", "language": "en"}
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


# TLS rule actions carried out by the on-path injector (censor.py injector) rather than the DPI proxy.
INJECTOR_TLS_ACTIONS = ("inject_rst",)
POLICE_MARK = 0x70  # socket mark of the proxy's policed connections (one per police rule: +index)

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
    return prepare_scenario(sc, world, path)


def prepare_scenario(sc, world, path):
    """Adds the world's control sites and the default checks to a scenario (a file's, or one built in code)."""
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
        elif rule["action"] == "relay":
            rule.setdefault("address", net["relay_proxy"])
        elif rule["action"] in ("bogon", "inject"):
            rule.setdefault("address", "10.10.34.34" if rule["action"] == "bogon" else "31.13.72.9")
    with open(os.path.join(HERE, "blockpage.html"), encoding="utf-8") as f:
        blockpage_html = f.read()
    return {
        "world": world, "pki": pki, "run_dir": run_dir, "prefix": prefix,
        "blockpage_name": BLOCKPAGE_NAME, "blockpage_html": blockpage_html,
        "censor_probe_iface": "c0",
        "dns": {"zone": zone, "probe_region_zone": regional, "delay_ms": sc.get("dns_server_delay_ms", 0)},
        "web": {"delay_ms": sc.get("web_server_delay_ms", 0)},
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
        cert_kinds = {s["name"]: s["cert"] for s in world["sites"] if s.get("cert")}
        self.pki = ensure(os.path.join(work_dir, "pki-cache"), names, BLOCKPAGE_NAME, cert_kinds)
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
        addresses = {s["address"] for s in self.world["sites"] if s["kind"] != "dns_only"}
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
                elif rule["action"] == "drop_after_hello":
                    # The handshake passes; from the first packet with data (ClientHello, HTTP request) on,
                    # the whole connection is dropped both ways (conntrack mark), silently.
                    fwd.append(f"ip daddr {a} tcp dport {ports} ip length > 120 ct mark set 0x5 "
                               f"comment \"drop after hello {name}\"")
                    fwd.append("ct mark 0x5 counter drop")
                else:
                    raise LabError(f"unknown tcp action {rule['action']}")
        lying = [r for r in censor.get("dns", []) if r["action"] != "inject"]
        if lying:
            nat.append(f"ip daddr {net['resolver']} udp dport 53 counter redirect to :{RESOLVER_PORT}")
            nat.append(f"ip daddr {net['resolver']} tcp dport 53 counter redirect to :{RESOLVER_PORT}")
        dpi_names = {n for r in censor.get("tls", []) if r["action"] not in INJECTOR_TLS_ACTIONS for n in r["sni"]}
        dpi_names |= {n for r in censor.get("http", []) for n in r["host"]}
        if dpi_names:
            addrs = ", ".join(sorted({site_address(self.world, n) for n in dpi_names}))
            nat.append(f"ip daddr {{ {addrs} }} tcp dport 443 counter redirect to :{TLS_PROXY_PORT}")
            nat.append(f"ip daddr {{ {addrs} }} tcp dport 80 counter redirect to :{HTTP_PROXY_PORT}")
        # Declaring and deleting the table first makes `nft -f` replace the ruleset atomically (set_censor).
        lines = ["table ip kuzet_censor", "delete table ip kuzet_censor", "table ip kuzet_censor {",
                 "  chain forward {", "    type filter hook forward priority 0; policy accept;"]
        lines += [f"    {r}" for r in fwd] + ["  }"]
        # A policer (action police): the proxy marks its connection to the probe; the censor's kernel drops
        # what exceeds the rate, per connection, with no queue (as a token-bucket policer does).
        policed = [r for r in censor.get("tls", []) if r["action"] == "police"]
        if policed:
            lines += ["  set policed { type ipv4_addr . inet_service; flags dynamic; timeout 5m; }"]
            lines += ["  chain output {", "    type filter hook output priority 0; policy accept;"]
            for i, r in enumerate(policed):
                rate = int(r.get("rate_kbit", 150) * 1000 / 8)
                lines.append(f"    meta mark {POLICE_MARK + i} update @policed {{ ip daddr . tcp dport limit rate over "
                             f"{rate} bytes/second burst {r.get('burst_bytes', 8000)} bytes }} counter drop")
            lines += ["  }"]
        lines += ["  chain input {", "    type filter hook input priority 0; policy accept;"]
        if censor.get("shutdown"):
            lines.append("    iifname \"c0\" counter drop")
        lines += ["  }"]
        lines += ["  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;"]
        lines += [f"    iifname \"c0\" {r}" for r in nat] + ["  }", "}"]
        return "\n".join(lines) + "\n"

    def apply_censor(self):
        C = self.ns["censor"]
        self.load_censor_rules()
        if any(r["action"] == "police" for r in self.sc["censor"].get("tls", [])):
            # A real link carries packets of at most one MTU and a policer counts them one by one; veth would
            # pass 64 KB TSO super-packets, each one larger than any token bucket.
            sh("ip", "link", "set", "dev", "c0", "gso_max_size", "1500", ns=C)
        link = self.sc["censor"].get("link")
        if link:
            # A uniformly slow link (everything, both ways): not throttling, which is selective.
            rate = f"{int(link['rate_kbit'])}kbit"
            for dev in ("c0", "c1"):
                sh("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate, "burst", "16kb",
                   "latency", "400ms", ns=C)

    def load_censor_rules(self):
        path = os.path.join(self.run_dir, "censor.nft")
        with open(path, "w") as f:
            f.write(self.censor_rules())
        sh("nft", "-f", path, ns=self.ns["censor"])

    def set_censor(self, **rules):
        """Changes the censor's nftables rules while the lab runs (e.g. shutdown=True, then False)."""
        self.sc["censor"].update(rules)
        self.load_censor_rules()

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
        if any(r["action"] == "relay" for r in censor.get("dns", [])):
            # The relaying proxy owns its address on the censor (the probe's traffic is routed through it).
            sh("ip", "addr", "add", f"{self.world['network']['relay_proxy']}/32", "dev", "lo", ns=self.ns["censor"])
            self.start("censor", "relay", [PY, "censor.py", "relay", self.state_path], "relay: passing")
        if any(r["action"] == "inject" for r in censor.get("dns", [])) or \
                any(r["action"] in INJECTOR_TLS_ACTIONS for r in censor.get("tls", [])):
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
        # The lab records the volunteer's consent explicitly, as `kuzet-probe setup` would.
        config = {"timeouts": t, "consent": LAB_CONSENT}
        spec_path = os.path.join(self.run_dir, "spec.yaml")
        config_path = os.path.join(self.run_dir, "probe.yaml")
        if self.sc.get("spec_format") == "citizenlab_csv":
            # A Citizen Lab test list as researchers keep them: URLs and category codes only, no knowledge.
            # The run knows only what is built into the probe.
            spec_path = os.path.join(self.run_dir, "kz-lab.csv")
            with open(spec_path, "w", encoding="utf-8", newline="") as f:
                w = csv.writer(f, lineterminator="\r\n")
                w.writerow(["url", "category_code", "category_description", "date_added", "source", "notes"])
                for t in self.sc["targets"]:
                    code = "CTRL" if t["category"] == "control" else t.get("csv_category")
                    if not code:
                        raise LabError(f"{t['url']}: a citizenlab_csv scenario needs csv_category for every target")
                    w.writerow([t["url"], code, "", "2026-11-30", "kuzet lab", t.get("csv_notes", "")])
        else:
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
        # The pristine public bundle is the lab's public CA (standing in for Debian's Mozilla set); the local
        # store may hold more (a scenario's installed interception root).
        cmd = [probe_bin, "run", "--resolver", net["resolver"], "--ca-bundle", f"{self.pki}/{bundle}",
               "--public-ca-bundle", f"{self.pki}/public-root.pem", "--out", out, "--no-upload",
               "--config", config_path, "--quiet"]
        if self.sc.get("bare_targets"):
            # A bare run: no spec, so only the knowledge built into the probe applies.
            for t in self.sc["targets"]:
                cmd += ["--target", t["url"]]
        else:
            cmd += ["--spec", spec_path]
        if with_collector:
            cmd += ["--collector", f"http://{net['collector']}:{net['collector_port']}"]
        if self.sc.get("capture"):
            cmd += ["--capture"]
        if self.sc.get("locate"):
            cmd += ["--locate"]
        if self.sc.get("drop_net_raw"):
            # Root without CAP_NET_RAW (bounding set, so exec cannot regain it): the probe must say capture
            # is unavailable and measure exactly as before.
            cmd = ["setpriv", "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", "--"] + cmd
        t0 = time.monotonic()
        r = subprocess.run(["ip", "netns", "exec", self.ns["probe"]] + cmd, capture_output=True, text=True,
                           timeout=300)
        took = time.monotonic() - t0
        with open(os.path.join(self.run_dir, "probe.log"), "w") as f:
            f.write(f"$ {' '.join(cmd)}\nexit {r.returncode} after {took:.1f}s\n{r.stdout}\n{r.stderr}")
        if r.returncode != 0:
            raise LabError(f"probe exited with {r.returncode} after {took:.1f}s\n$ {' '.join(cmd)}\n"
                           f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
        said = r.stderr.count("packet capture unavailable")
        if self.sc.get("capture") and said != (1 if self.sc.get("drop_net_raw") else 0):
            raise LabError(f"the probe said 'packet capture unavailable' {said} times (capture "
                           f"{'without' if self.sc.get('drop_net_raw') else 'with'} CAP_NET_RAW)\n{r.stderr[-2000:]}")
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


def packet_evidence_problems(sc, target, record):
    """With capture on, each target's packet_evidence must hold exactly the finding kinds it expects
    (expect_packet_evidence: [kind, ...] with optional per-kind sign checks; default: none at all)."""
    o = record.get("observations", {}) or {}
    if sc.get("drop_net_raw"):
        return [] if "packet_evidence" not in o else ["expected no packet_evidence (no CAP_NET_RAW)   saw some"]
    if "packet_evidence" not in o:
        return ["expected packet_evidence (capture was on)   saw none recorded"]
    want = target.get("expect_packet_evidence", [])
    seen = o["packet_evidence"]
    kinds = sorted({f["kind"] for f in seen})
    problems = []
    if kinds != sorted({w["kind"] if isinstance(w, dict) else w for w in want}):
        problems.append(f"expected packet_evidence kinds {sorted({w['kind'] if isinstance(w, dict) else w for w in want})}"
                        f"   saw {json.dumps(seen)[:600]}")
    for w in want:
        if not isinstance(w, dict):
            continue
        mine = [f for f in seen if f["kind"] == w["kind"]]
        for s in w.get("signs", []):
            if not any(s in f.get("signs", []) for f in mine):
                problems.append(f"expected a {w['kind']} finding with sign {s!r}   saw {json.dumps(mine)[:400]}")
        if "hop" in w and not any(f.get("hop") == w["hop"] for f in mine):
            problems.append(f"expected a {w['kind']} finding at hop {w['hop']}   saw {json.dumps(mine)[:400]}")
        for s in w.get("not_signs", []):
            if any(s in f.get("signs", []) for f in mine):
                problems.append(f"expected no {w['kind']} finding with sign {s!r}   saw {json.dumps(mine)[:400]}")
    if seen and not o.get("packet_pcap"):
        problems.append("expected the packets (packet_pcap) with the findings   saw none")
    return problems


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
        if sc.get("capture"):
            problems += packet_evidence_problems(sc, t, rec)
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


# ------------------------------------------------------------------------------------------ the daemon

# `lab.py daemon-shutdown`: the probe daemon through a total shutdown and its end (docs/lab.md).
DAEMON_SHUTDOWN = {
    "name": "daemon-shutdown-restore",
    "description": "The daemon measures normally, keeps measuring through a total shutdown (nothing forwarded, "
                   "collector included) at the shutdown pace, and delivers everything measured during it, "
                   "with its original time, once the network is back.",
    "targets": [{"url": "https://www.facebook.com/", "category": "social"},
                {"url": "https://www.azattyq.org/", "category": "news"}],
}
DAEMON_INTERVAL_S = 12         # normal pace: longer than a shutdown run's upload attempt (see the pace check)
DAEMON_SHUTDOWN_RUNS = 3       # runs measured during the shutdown before it is lifted


def parse_time(text):
    """RFC 3339 UTC as the probe writes it ("2026-11-23T10:00:01.000Z") -> seconds since the epoch."""
    import datetime
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def wait_until(predicate, timeout_s, step_s=0.25):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step_s)


def brief_status(st):
    if not st:
        return "no status"
    run, up = st.get("last_run") or {}, st.get("last_upload") or {}
    return (f"runs {st['runs']}, mode {st['mode']}, queue {st['queue'].get('records_now')}, last run verdicts "
            f"{run.get('verdicts')}, last upload failure {up.get('failure')!r}, last ok {st['last_upload_ok_at']!r}")


def read_queue(data_dir):
    """uid -> envelope of every result the daemon has queued and no collector has acknowledged yet,
    read from the segment files after the cursor (docs/daemon.md, "Durable queue"). Lines whose CRC does
    not match are returned under the key None (the test fails on them)."""
    import zlib
    qdir = os.path.join(data_dir, "queue")
    cursor_seg, cursor_off = 0, 0
    if os.path.exists(os.path.join(qdir, "cursor")):
        cursor_seg, cursor_off = (int(x) for x in open(os.path.join(qdir, "cursor")).read().split())
    out, bad = {}, []
    for name in sorted(os.listdir(qdir) if os.path.isdir(qdir) else []):
        m = re.fullmatch(r"seg-(\d{16})\.jsonl", name)
        if not m or int(m.group(1)) < cursor_seg:
            continue
        with open(os.path.join(qdir, name), "rb") as f:
            data = f.read()
        if int(m.group(1)) == cursor_seg:
            data = data[cursor_off:]
        for line in data.split(b"\n")[:-1]:  # a last line without its newline is still being written
            crc, _, payload = line.partition(b" ")
            if f"{zlib.crc32(payload):08x}".encode() != crc.lower():
                bad.append(line[:200])
                continue
            env = json.loads(payload)
            out[env["measurement"]["measurement_uid"]] = env
    if bad:
        out[None] = bad
    return out


class DaemonCheck:
    """The daemon-shutdown test's state: the lab, the daemon process, and the failures seen so far."""

    def __init__(self, lab, probe_bin):
        self.lab, self.probe_bin = lab, probe_bin
        self.data_dir = os.path.join(lab.run_dir, "data")
        self.failures = 0
        self.daemon = None
        net = lab.world["network"]
        self.collector_url = f"http://{net['collector']}:{net['collector_port']}"

    def fail(self, what, expected, seen):
        self.failures += 1
        print(f"  FAIL {what}\n         expected {expected}\n         saw      {seen}")

    def check(self, ok, what, expected, seen):
        if ok:
            print(f"  ok   {what}: {json.dumps(seen, ensure_ascii=False)[:160]}")
        else:
            self.fail(what, expected, seen)
        return ok

    def write_config(self):
        spec_path, _ = self.lab.write_probe_inputs()
        net = self.lab.world["network"]
        config = {
            "collectors": [self.collector_url + "/"],
            "specs": [spec_path],
            "resolver": net["resolver"],
            "ca_bundle": f"{self.lab.pki}/public-root.pem",
            "public_ca_bundle": f"{self.lab.pki}/public-root.pem",  # the lab's public CA stands in for Mozilla's
            "data_dir": self.data_dir,
            "schedule": {"interval": DAEMON_INTERVAL_S, "jitter": 0, "shutdown_interval": 1},
            # Short enough that an offline run (DNS timeouts, collector unreachable) takes seconds.
            "timeouts": {"dns": "2s", "tcp": "3s", "tls": "4s", "http": "10s"},
            "consent": LAB_CONSENT,
        }
        path = os.path.join(self.lab.run_dir, "daemon.yaml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        return path

    def start_daemon(self):
        config = self.write_config()
        self.daemon = self.lab.start("probe", "daemon", [self.probe_bin, "daemon", "--config", config,
                                                         "--retry-initial", "1s", "--retry-max", "2s"],
                                     "kuzet-probe: started")

    def daemon_log(self):
        return open(os.path.join(self.lab.run_dir, "daemon.log"), errors="replace").read()

    def status(self):
        """`kuzet-probe status --json` (None before the daemon wrote its first status)."""
        r = subprocess.run([self.probe_bin, "status", "--data-dir", self.data_dir, "--json"],
                           capture_output=True, text=True, timeout=30)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def collector_measurements(self):
        """uid -> envelope of everything the collector stores (GET /api/v1/measurements, every page)."""
        code = ("import json,sys,urllib.request\n"
                "out,cursor=[],''\n"
                "while True:\n"
                "    u=sys.argv[1]+'/api/v1/measurements?limit=100'+('&cursor='+cursor if cursor else '')\n"
                "    page=json.load(urllib.request.urlopen(u,timeout=10))\n"
                "    out+=page['measurements']; cursor=page.get('next_cursor','')\n"
                "    if not cursor: break\n"
                "json.dump(out,sys.stdout)\n")
        r = sh(PY, "-c", code, self.collector_url, ns=self.lab.ns["net"], capture=True, check=False)
        if not r:
            return {}
        return {e["measurement"]["measurement_uid"]: e for e in json.loads(r)}

    def stop_daemon(self):
        """SIGTERM: the daemon must exit 0 (docs/daemon.md, Signals)."""
        os.kill(self.daemon.pid, signal.SIGTERM)  # `ip netns exec` execs: this pid is kuzet-probe itself
        try:
            code = self.daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = "still running 60 s after SIGTERM"
        self.lab.procs = [p for p in self.lab.procs if p[1] is not self.daemon]
        self.check(code == 0, "SIGTERM: the daemon exits 0", "exit 0", f"exit {code}")


def daemon_shutdown(lab, probe_bin):
    """Returns the number of failures. Each phase waits for a bounded time, then checks what it expects."""
    d = DaemonCheck(lab, probe_bin)
    n_targets = len(lab.sc["targets"])
    d.start_daemon()

    # 1. Normal: the first run (jitter 0: at once) is measured, found ok and uploaded.
    print("-- phase 1: normal network")
    s = wait_until(lambda: (lambda st: st if st and st["runs"] >= 1 and st["queue"]["records_now"] == 0
                            and st["last_upload_ok_at"] else None)(d.status()), 60)
    if not d.check(bool(s), "first run measured and uploaded within 60 s",
                   "runs >= 1, queue empty, an upload acknowledged", brief_status(s or d.status())):
        return d.failures
    run = s["last_run"]
    d.check(s["mode"] == "normal" and run["verdicts"].get("ok") == n_targets and run["collector_reachable"],
            f"first run: mode normal, {n_targets} verdicts ok, collector reachable",
            f"normal, {{'ok': {n_targets}}}, True", f"{s['mode']}, {run['verdicts']}, {run['collector_reachable']}")
    first = d.collector_measurements()
    d.check(len(first) == n_targets and all(e["measurement"]["verdict"] == "ok" for e in first.values()),
            "collector has the first run's results", f"{n_targets} measurements, verdict ok",
            f"{len(first)}: {[e['measurement']['verdict'] for e in first.values()]}")
    runs_before = s["runs"]
    home = {(e["measurement"]["network"]["cc"], e["measurement"]["network"]["asn"]) for e in first.values()}
    d.check(len(home) == 1 and next(iter(home))[1] != 0, "first run: one network, told by the collector",
            "one (cc, asn) with asn != 0", sorted(home))

    # 2. Total shutdown: the censor forwards nothing (collector included) and answers nothing.
    print(f"-- phase 2: total shutdown at the censor; waiting for {DAEMON_SHUTDOWN_RUNS} runs")
    shutdown_at = time.time()
    lab.set_censor(shutdown=True)
    seen_runs, queue_sizes = {}, []   # run_id -> last_run summary, as `status` showed it; queue lengths

    def enough_runs():
        st = d.status()
        if st:
            queue_sizes.append(st["queue"]["records_now"])
            if st["last_run"] and st["last_run"]["run_id"] and st["runs"] > runs_before:
                seen_runs[st["last_run"]["run_id"]] = st["last_run"]
        return st if st and st["runs"] >= runs_before + DAEMON_SHUTDOWN_RUNS else None
    s = wait_until(enough_runs, DAEMON_INTERVAL_S + DAEMON_SHUTDOWN_RUNS * 20)
    if not d.check(bool(s), f"{DAEMON_SHUTDOWN_RUNS} runs during the shutdown (within "
                   f"{time.time() - shutdown_at:.1f} s)", f"runs >= {runs_before + DAEMON_SHUTDOWN_RUNS}",
                   brief_status(s or d.status())):
        return d.failures
    shutdown_runs = s["runs"] - runs_before
    run = s["last_run"]
    d.check(s["mode"] == "shutdown", "status mode during the shutdown", "shutdown", s["mode"])
    d.check(run["all_offline"] and run["verdicts"] == {"offline": n_targets} and not run["collector_reachable"],
            "last run during the shutdown: every target offline, collector unreachable",
            f"{{'offline': {n_targets}}}, unreachable", f"{run['verdicts']}, reachable={run['collector_reachable']}")
    upload = s["last_upload"] or {}
    d.check(bool(upload.get("failure")) and s["upload_failures_in_row"] > 0,
            "uploads fail during the shutdown", "a failure and upload_failures_in_row > 0",
            f"failure={upload.get('failure')!r}, in a row {s['upload_failures_in_row']}")
    sizes = [n for i, n in enumerate(queue_sizes) if i == 0 or n != queue_sizes[i - 1]]
    d.check(all(b >= a for a, b in zip(sizes, sizes[1:])) and sizes[-1] > 0,
            "the queue only grows during the shutdown", "non-decreasing, > 0", sizes)
    said = [line for line in d.daemon_log().splitlines() if "shutdown suspected" in line]
    d.check(bool(said), "daemon log says shutdown suspected", "a line 'shutdown suspected'",
            said[0] if said else d.daemon_log()[-600:])
    # The pace: after a run that found everything offline the next starts within shutdown_interval (plus
    # the failed upload attempt in between), well before the normal interval would have let it.
    ordered = sorted(seen_runs.values(), key=lambda r: r["started_at"])
    gaps = [round(parse_time(b["started_at"]) - parse_time(a["finished_at"]), 1)
            for a, b in zip(ordered, ordered[1:]) if a["all_offline"]]
    d.check(gaps and all(g < DAEMON_INTERVAL_S - 2 for g in gaps),
            "shutdown pace: next run starts soon after an all-offline run",
            f"gaps < {DAEMON_INTERVAL_S - 2} s (normal interval {DAEMON_INTERVAL_S} s)", f"gaps {gaps} s")

    # What the daemon holds: exactly the shutdown's results, measured inside the shutdown window, signed.
    during = read_queue(d.data_dir)
    restore_at = time.time()
    lab.set_censor(shutdown=False)
    print(f"-- phase 3: network restored after {restore_at - shutdown_at:.1f} s of shutdown "
          f"({shutdown_runs} runs, {len(during)} results queued)")
    d.check(None not in during, "queue lines pass their CRC", "no bad line", during.get(None))
    during.pop(None, None)
    d.check(len(during) == shutdown_runs * n_targets, "the queue holds every result of the shutdown runs",
            f"{shutdown_runs} runs x {n_targets} = {shutdown_runs * n_targets}", len(during))
    outside = {u: e["measurement"]["started_at"] for u, e in during.items()
               if not shutdown_at <= parse_time(e["measurement"]["started_at"]) <= restore_at}
    d.check(not outside, "queued results were measured during the shutdown",
            "started_at inside the shutdown window", outside)
    verdicts = sorted({e["measurement"]["verdict"] for e in during.values()})
    d.check(verdicts == ["offline"], "queued results: verdict offline", ["offline"], verdicts)
    # Whoami cannot answer during a shutdown: the results carry the network last reported, marked so,
    # otherwise they could not be counted on their network's timeline.
    labels = sorted({(e["measurement"]["network"]["cc"], e["measurement"]["network"]["asn"],
                      e["measurement"]["network"]["source"]) for e in during.values()})
    d.check(labels == [(*next(iter(home)), "last_known")] if len(home) == 1 else False,
            "queued results: labelled with the network of the first run, source last_known",
            [(*h, "last_known") for h in sorted(home)], labels)
    d.check(len({e["measurement"]["run_id"] for e in during.values()}) == shutdown_runs,
            "queued results come from each shutdown run", f"{shutdown_runs} run ids",
            sorted({e["measurement"]["run_id"] for e in during.values()}))

    # 3. Restored: everything measured during the shutdown arrives, as queued (so with its original time).
    stored = {}

    def all_arrived():
        stored.update(d.collector_measurements())
        return all(uid in stored for uid in during)
    t0 = time.monotonic()
    arrived = wait_until(all_arrived, 60, step_s=0.5)
    missing = sorted(set(during) - set(stored))
    d.check(arrived, f"every shutdown result at the collector (took {time.monotonic() - t0:.1f} s)",
            f"{len(during)} of {len(during)} within 60 s", f"{len(during) - len(missing)}; missing {missing[:5]}")
    for uid, env in during.items():
        got = stored.get(uid)
        if got is None:
            continue
        if got["measurement"]["started_at"] != env["measurement"]["started_at"]:
            d.fail(f"{uid}: started_at at the collector", env["measurement"]["started_at"],
                   got["measurement"]["started_at"])
        elif got != env:
            d.fail(f"{uid}: stored envelope identical to the queued one (signature included)",
                   json.dumps(env)[:300], json.dumps(got)[:300])
        elif not (env.get("signature") or (env.get("batch") or {}).get("signature")):  # /1 or batch-signed
            d.fail(f"{uid}: envelope signed", "a signature or a batch signature", env.get("signature"))
    print(f"  {'ok  ' if arrived else 'FAIL'} {len(during) - len(missing)} stored envelopes compared with the queue")
    s = wait_until(lambda: (lambda st: st if st and st["mode"] == "normal" and st["queue"]["records_now"] == 0
                            else None)(d.status()), 30)
    st = s or d.status() or {}
    d.check(bool(s), "after restoration: mode normal, queue empty", "normal, 0",
            f"{st.get('mode')}, {st.get('queue', {}).get('records_now')}")
    d.stop_daemon()
    return d.failures


# `lab.py daemon-capture`: the daemon with `capture: true` (docs/packet-evidence.md). It opens the capture once
# and drops CAP_NET_RAW, so every later run must still record: each run's results reach the collector with
# packet_evidence, the forged reset found in every run, nothing found for the clean targets.
DAEMON_CAPTURE = {
    "name": "daemon-capture",
    "description": "The daemon with capture on: the capture is opened once (CAP_NET_RAW dropped after), and every "
                   "run's results carry packet_evidence; an on-path RST injector is found in each run.",
    # The servers answer 200 ms late so that the Python injector wins its race on a loaded machine (at 20 ms,
    # CI once saw the first run's ClientHello answered before the forged reset).
    "web_server_delay_ms": 200,
    "censor": {"tls": [{"sni": ["www.facebook.com"], "action": "inject_rst"}]},
    "targets": [{"url": "https://www.facebook.com/", "category": "social",
                 "expect_observation": ['tls[0].failure == tls.reset'],
                 "expect": {"verdict": "blocked", "method": "tls.reset"}},
                {"url": "https://twitter.com/", "category": "social"}],
}
DAEMON_CAPTURE_RUNS = 2


def daemon_capture(lab, probe_bin):
    d = DaemonCheck(lab, probe_bin)
    path = d.write_config()
    with open(path) as f:
        config = yaml.safe_load(f)
    config["capture"] = True
    config["status_page"] = "off"
    config["schedule"] = {"interval": "3s", "jitter": "0s", "shutdown_interval": "1s"}
    with open(path, "w") as f:
        yaml.safe_dump(config, f, sort_keys=False)
    r = subprocess.run(["ip", "netns", "exec", lab.ns["probe"], probe_bin, "daemon", "--config", path,
                        "--runs", str(DAEMON_CAPTURE_RUNS), "--retry-initial", "1s", "--retry-max", "2s"],
                       capture_output=True, text=True, timeout=240)
    with open(os.path.join(lab.run_dir, "daemon.log"), "w") as f:
        f.write(r.stdout + r.stderr)
    d.check(r.returncode == 0, "the daemon made its runs and exited", "exit 0", f"exit {r.returncode}")
    d.check("capture unavailable" not in r.stderr, "capture opened (root)", "no 'capture unavailable'",
            r.stderr[-300:])
    want = DAEMON_CAPTURE_RUNS * len(lab.sc["targets"])
    wait_until(lambda: len(d.collector_measurements()) >= want, 20)
    envelopes = list(d.collector_measurements().values())
    d.check(len(envelopes) == want, "every run's results at the collector", want, len(envelopes))
    for e in envelopes:
        m = e["measurement"]
        o = m.get("observations", {})
        kinds = sorted({f["kind"] for f in o.get("packet_evidence", [])}) if "packet_evidence" in o else None
        expected = ["rst_injection"] if m.get("target") == "www.facebook.com" else []
        tls = (o.get("tls") or [{}])[0].get("failure", "")
        d.check(kinds == expected, f"{m.get('target')} at {m.get('started_at')} (tls failure {tls!r}): "
                "packet_evidence kinds", expected, kinds)
    return d.failures


def cmd_daemon_capture(args):
    return cmd_daemon(args, DAEMON_CAPTURE, daemon_capture, "lab.py daemon-capture")


def cmd_daemon_shutdown(args):
    return cmd_daemon(args, DAEMON_SHUTDOWN, daemon_shutdown, "lab.py daemon-shutdown")


def cmd_daemon(args, spec, check, where):
    preflight()
    remove_stale_labs()
    args.probe, args.collector_bin = os.path.abspath(args.probe), os.path.abspath(args.collector_bin)
    for binary in (args.probe, args.collector_bin):  # absolute: the lab's processes run in tests/lab
        if not os.access(binary, os.X_OK):
            raise LabError(f"binary {binary} is missing or not executable")
    world = load_yaml(os.path.join(HERE, "world.yaml"))
    sc = prepare_scenario(json.loads(json.dumps(spec)), world, where)
    print(f"== {sc['name']}: {sc['description']}")
    lab = Lab(sc, world, args.work, f"kz{os.getpid()}", keep=args.keep)
    t0 = time.monotonic()
    failures = 0
    try:
        lab.build()
        lab.apply_censor()
        lab.start_servers(args.collector_bin)
        failures = check(lab, args.probe)
    except LabError as e:
        print(f"  FAIL {e}")
        failures += 1
    finally:
        if failures:
            lab.keep = True
            print(f"   run dir kept: {lab.run_dir}")
        lab.teardown()
        print(f"   time {time.monotonic() - t0:.1f}s")
    print(f"== {'PASS' if failures == 0 else f'FAIL ({failures} failures)'}")
    return 0 if failures == 0 else 1


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
             --public-ca-bundle {lab.pki}/public-root.pem \\
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
    ds = sub.add_parser("daemon-shutdown", help="the probe daemon through a total shutdown and its end")
    ds.add_argument("--probe", required=True)
    ds.add_argument("--collector-bin", required=True)
    ds.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "kuzet-lab"))
    ds.add_argument("--keep", action="store_true", help="keep the run directory (logs, config, queue)")
    dc = sub.add_parser("daemon-capture", help="the probe daemon with capture on, over several runs")
    dc.add_argument("--probe", required=True)
    dc.add_argument("--collector-bin", required=True)
    dc.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "kuzet-lab"))
    dc.add_argument("--keep", action="store_true", help="keep the run directory (logs, config, queue)")
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
        return {"run": cmd_run, "up": cmd_up, "down": cmd_down, "list": cmd_list,
                "daemon-shutdown": cmd_daemon_shutdown, "daemon-capture": cmd_daemon_capture}[args.cmd](args)
    except LabError as e:
        print(f"lab: FAIL: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"lab: interrupted ({e}); cleaned up", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
