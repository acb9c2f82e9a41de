#!/usr/bin/env python3
"""Writes test-asn.mmdb: a tiny MaxMind DB (format v2, IPv6 tree, 24-bit records) shaped like
GeoLite2-ASN, for the collector's IP->ASN tests. Usage: make_test_mmdb.py OUT.mmdb"""
import ipaddress
import struct
import sys

NETWORKS = [  # (network, record)
    ("2.60.0.0/14", {"autonomous_system_number": 9198, "autonomous_system_organization": "JSC Kazakhtelecom"}),
    ("2a00:1450::/32", {"autonomous_system_number": 15169, "autonomous_system_organization": "GOOGLE"}),
    # Not in GeoLite2-ASN, but the collector reads a country when a database carries one.
    ("5.34.0.0/16", {"autonomous_system_number": 48503, "autonomous_system_organization": "Tele2 Kazakhstan",
                     "country": {"iso_code": "KZ"}}),
]


def ctrl(type_, size):
    out = bytearray()
    if size < 29:
        first, ext = size, b""
    elif size < 285:
        first, ext = 29, bytes([size - 29])
    else:
        first, ext = 30, struct.pack(">H", size - 285)
    if type_ <= 7:
        out.append((type_ << 5) | first)
    else:
        out.append(first)
        out.append(type_ - 7)
    return bytes(out) + ext


def enc(v):
    if isinstance(v, str):
        b = v.encode()
        return ctrl(2, len(b)) + b
    if isinstance(v, dict):
        return ctrl(7, len(v)) + b"".join(enc(k) + enc(x) for k, x in v.items())
    if isinstance(v, list):
        return ctrl(11, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, tuple):  # (type, int): explicit unsigned type
        t, n = v
        b = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
        return ctrl(t, len(b)) + b
    if isinstance(v, int):
        return enc((6, v))  # uint32
    raise TypeError(v)


def main(out_path):
    data = bytearray()
    leaves = []  # (bits, data offset)
    for net, record in NETWORKS:
        n = ipaddress.ip_network(net)
        addr = int(n.network_address)
        if n.version == 4:
            addr, plen = addr, 96 + n.prefixlen  # IPv4 lives at ::a.b.c.d in an IPv6 tree
        else:
            plen = n.prefixlen
        bits = [(addr >> (127 - i)) & 1 for i in range(plen)]
        leaves.append((bits, len(data)))
        data += enc(record)
    # Binary trie: node = [left, right], each ("node", idx) | ("data", off) | None.
    nodes = [[None, None]]
    for bits, off in leaves:
        cur = 0
        for depth, bit in enumerate(bits):
            if depth == len(bits) - 1:
                nodes[cur][bit] = ("data", off)
            else:
                if nodes[cur][bit] is None:
                    nodes.append([None, None])
                    nodes[cur][bit] = ("node", len(nodes) - 1)
                cur = nodes[cur][bit][1]
    count = len(nodes)

    def rec(r):
        if r is None:
            return count
        if r[0] == "node":
            return r[1]
        return count + 16 + r[1]

    tree = b"".join(rec(l).to_bytes(3, "big") + rec(r).to_bytes(3, "big") for l, r in nodes)
    meta = {
        "binary_format_major_version": (5, 2),
        "binary_format_minor_version": (5, 0),
        "build_epoch": (9, 1700000000),
        "database_type": "GeoLite2-ASN",
        "description": {"en": "Kuzet test ASN database"},
        "ip_version": (5, 6),
        "languages": ["en"],
        "node_count": (6, count),
        "record_size": (5, 24),
    }
    with open(out_path, "wb") as f:
        f.write(tree + bytes(16) + bytes(data) + b"\xab\xcd\xefMaxMind.com" + enc(meta))


if __name__ == "__main__":
    main(sys.argv[1])
