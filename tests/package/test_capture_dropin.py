#!/usr/bin/python3
"""The capture drop-in grants what packet capture needs and nothing more (docs/packet-evidence.md):
systemd-analyze security --offline reads the unit with and without packaging/capture.conf.example.
Without it: no packet sockets, capset denied, no capability. With it: packet sockets, ambient CAP_NET_RAW
(the only capability left in the bounding set: CAP_NET_RAW sits in systemd's NET_BIND_SERVICE/BROADCAST/RAW
group), capset allowed (the probe drops the capability with it). Skips (77) without systemd-analyze."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

root = sys.argv[1]
if not shutil.which("systemd-analyze"):
    print("systemd-analyze missing: skipped")
    sys.exit(77)


def assess(with_dropin):
    d = tempfile.mkdtemp()
    shutil.copy(os.path.join(root, "packaging/kuzet-probe.service"), d)
    if with_dropin:
        os.mkdir(os.path.join(d, "kuzet-probe.service.d"))
        shutil.copy(os.path.join(root, "packaging/capture.conf.example"),
                    os.path.join(d, "kuzet-probe.service.d/capture.conf"))
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--json=short",
                        os.path.join(d, "kuzet-probe.service")], capture_output=True, text=True,
                       env={**os.environ, "SYSTEMD_UNIT_PATH": d + ":"})
    shutil.rmtree(d)
    return {e["json_field"]: e for e in json.loads(r.stdout)}


failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


plain, capture = assess(False), assess(True)
check(plain["RestrictAddressFamilies_AF_PACKET"]["set"], "unit alone: no packet sockets")
check(plain["SystemCallFilter_privileged"]["set"], "unit alone: @privileged (capset) denied")
check(plain["AmbientCapabilities"]["set"], "unit alone: no ambient capabilities")
check(not capture["RestrictAddressFamilies_AF_PACKET"]["set"], "drop-in: packet sockets allowed")
check(not capture["AmbientCapabilities"]["set"], "drop-in: an ambient capability (CAP_NET_RAW)")
check("capset" in capture["SystemCallFilter_privileged"]["description"], "drop-in: capset allowed again")
raw_group = [k for k in capture if k.startswith("CapabilityBoundingSet_") and "NET_BIND_SERVICE" in k]
check(len(raw_group) == 1 and not capture[raw_group[0]]["set"], "drop-in: CAP_NET_RAW in the bounding set")
others = [k for k, e in capture.items() if k.startswith("CapabilityBoundingSet_") and k not in raw_group and not e["set"]]
check(not others, f"drop-in: no other capability in the bounding set {others}")
sys.exit(1 if failures else 0)
