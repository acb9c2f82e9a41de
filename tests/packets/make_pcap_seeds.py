#!/usr/bin/python3
"""Writes the seed corpus of the packets_pcap fuzzer (tests/packets/corpus/pcap): small captures of each
interference the analysis looks for, in the link types and file variants the reader accepts."""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "pcap")


def ip4(src, dst, proto, body, ttl=64, ident=0):
    a = bytes(int(x) for x in src.split(".")) + bytes(int(x) for x in dst.split("."))
    return struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(body), ident, 0x4000, ttl, proto, 0) + a + body


def tcp(sport, dport, seq, ack, flags, payload=b"", opts=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, ((20 + len(opts)) // 4) << 4, flags, 502, 0, 0) + opts + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def dns(ident, response, name, addresses=()):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    head = struct.pack("!HHHHHH", ident, 0x8180 if response else 0x0100, 1, len(addresses), 0, 0)
    ans = b"".join(struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + bytes(int(x) for x in a.split(".")) for a in addresses)
    return head + q + ans


def pcap(frames, link=101, magic=0xA1B2C3D4, endian="<"):
    out = struct.pack(endian + "IHHiIII", magic, 2, 4, 0, 0, 65535, link)
    for t_us, data in frames:
        out += struct.pack(endian + "IIII", t_us // 1000000, t_us % 1000000, len(data), len(data)) + data
    return out


C, S, R = "10.0.0.2", "203.0.113.5", "198.51.100.53"
hello = b"\x16\x03\x01\x00\xc8\x01" + b"x" * 200
ts = b"\x01\x01\x08\x0a" + struct.pack("!II", 5, 0)
rst = [
    (0, ip4(C, S, 6, tcp(40000, 443, 1000, 0, 0x02, opts=b"\x01\x03\x03\x07"))),
    (20000, ip4(S, C, 6, tcp(443, 40000, 5000, 1001, 0x12, opts=b"\x01\x03\x03\x07"), ttl=57)),
    (20100, ip4(C, S, 6, tcp(40000, 443, 1001, 5001, 0x10))),
    (21000, ip4(C, S, 6, tcp(40000, 443, 1001, 5001, 0x18, hello))),
    (22000, ip4(S, C, 6, tcp(443, 40000, 5001, 0, 0x04), ttl=64, ident=4242)),
    (41000, ip4(S, C, 6, tcp(443, 40000, 5001, 1207, 0x10, b"d" * 1400, ts), ttl=57, ident=31000)),
]
silence = rst[:4] + [(250000, rst[3][1]), (700000, rst[3][1])]
dnsinj = [
    (0, ip4(C, R, 17, udp(5353, 53, dns(0x4D2, False, "web.example.org")))),
    (4000, ip4(R, C, 17, udp(53, 5353, dns(0x4D2, True, "web.example.org", ["31.13.72.9"])), ttl=52, ident=0x1234)),
    (305000, ip4(R, C, 17, udp(53, 5353, dns(0x4D2, True, "web.example.org", ["203.0.113.5"])), ttl=58)),
]
os.makedirs(OUT, exist_ok=True)
seeds = {
    "rst_injection.pcap": pcap(rst),
    "silent_drop.pcap": pcap(silence),
    "dns_injection.pcap": pcap(dnsinj),
    "dns_injection_be_nanos.pcap": pcap([(t * 1000, d) for t, d in dnsinj], magic=0xA1B23C4D, endian=">"),
    "ethernet.pcap": pcap([(t, b"\0" * 12 + b"\x08\x00" + d) for t, d in rst], link=1),
    "linux_sll.pcap": pcap([(t, b"\0" * 14 + b"\x08\x00" + d) for t, d in dnsinj], link=113),
    "truncated.pcap": pcap(rst)[:-7],
}
for name, data in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}")
