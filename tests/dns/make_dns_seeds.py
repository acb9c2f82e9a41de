#!/usr/bin/env python3
"""Writes the seed corpus of the dns_reply fuzzer (tests/dns/corpus/dns_reply): replies shaped like what
public resolvers send (compression, EDNS OPT, SOA in authority, TC bit, injected bogons). Re-run only to
change the seeds; the files are committed."""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "dns_reply")


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(ident, rcode=0, qd=1, an=0, ns=0, ar=0, tc=False):
    flags = 0x8000 | 0x0100 | 0x0080 | (0x0200 if tc else 0) | rcode
    return struct.pack(">HHHHHH", ident, flags, qd, an, ns, ar)


def question(n, qtype):
    return name(n) + struct.pack(">HH", qtype, 1)


def rr(owner, rtype, ttl, rdata):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def a(ip):
    return bytes(int(x) for x in ip.split("."))


def opt(udp=1232):
    return b"\0" + struct.pack(">HHIH", 41, udp, 0, 0)


def soa(zone_ptr):
    rdata = b"\x02ns" + zone_ptr + b"\x05admin" + zone_ptr + struct.pack(">IIIII", 2024010101, 7200, 3600, 1209600, 300)
    return rr(zone_ptr, 6, 300, rdata)


Q = b"\xc0\x0c"  # pointer to the question name
seeds = {
    "a_single_edns": header(0x1a2b, an=1, ar=1) + question("example.org", 1) + rr(Q, 1, 3600, a("93.184.215.14")) + opt(),
    "aaaa_single": header(0x2b3c, an=1) + question("example.org", 28)
    + rr(Q, 28, 3600, bytes.fromhex("26062800021fcb07682080daaf6b8b2c")),
    "a_round_robin": header(0x3c4d, an=4) + question("cdn.example.net", 1)
    + b"".join(rr(Q, 1, 20, a(f"198.51.100.{i}")) for i in range(1, 5)),
    "nxdomain_soa": header(0x4d5e, rcode=3, ns=1) + question("no-such-name.example.org", 1)
    + soa(b"\xc0\x19"),  # zone "example.org" inside the question name
    "nodata_soa": header(0x5e6f, ns=1) + question("v4only.example.org", 28) + soa(b"\xc0\x13"),
    "servfail": header(0x6f70, rcode=2) + question("broken.example", 1),
    "refused": header(0x7081, rcode=5) + question("anything.example", 1),
    "injected_bogon": header(0x8192, an=1) + question("blocked.example", 1) + rr(Q, 1, 0, a("10.10.34.35")),
    "truncated_tc": header(0x92a3, tc=True) + question("big.example", 1),
    "notimp": header(0xa3b4, rcode=4) + question("x.example", 1),
}
# CNAME chain with a pointer into the CNAME's own rdata, as resolvers compress it.
q = question("www.facebook.com", 1)
target = b"\x09star-mini\x04c10r\xc0\x10"  # star-mini.c10r.facebook.com, "facebook.com" at offset 16
cname = rr(Q, 5, 1800, target)
target_offset = 12 + len(q) + 2 + 10
seeds["cname_chain"] = header(0xb4c5, an=2) + q + cname + rr(struct.pack(">H", 0xC000 | target_offset), 1, 60, a("157.240.1.35"))

os.makedirs(OUT, exist_ok=True)
for file_name, data in seeds.items():
    with open(os.path.join(OUT, file_name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {OUT}")
