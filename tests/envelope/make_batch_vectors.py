#!/usr/bin/env python3
"""Batch-signed envelopes made by an implementation that shares no code with Kuzet's C++ (Python's hashlib and
the `cryptography` package), from docs/protocol.md alone: tests/envelope/batch_vectors.json, the known answers
test_envelope checks, and seeds of the envelope fuzz corpus (corpus_envelope/batch-*).

    python3 tests/envelope/make_batch_vectors.py   # rewrites both; deterministic (fixed seed)
"""
import base64
import copy
import hashlib
import json
import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SCHEME = "kuzet.measurement-batch/1"
HERE = os.path.dirname(os.path.abspath(__file__))


def jcs(value):
    # RFC 8785 for what these measurements hold (ASCII keys and strings, small integers): sorted keys, no spaces.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf(index, measurement):
    return hashlib.sha256(b"\x00" + f"{SCHEME} leaf {index}\n".encode() + jcs(measurement)).digest()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):  # RFC 6962 2.1
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):  # RFC 6962 2.1.1
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def b64(raw):
    return base64.b64encode(raw).decode()


def sign_batch(key, measurements):
    leaves = [leaf(i, m) for i, m in enumerate(measurements)]
    root = mth(leaves)
    message = f"{SCHEME}\n{len(leaves)}\n{b64(root)}\n".encode()
    signature = b64(key.sign(message))
    public = b64(key.public_key().public_bytes_raw())
    return [{"measurement": m, "public_key": public,
             "batch": {"scheme": SCHEME, "leaf_index": i, "tree_size": len(leaves),
                       "audit_path": [b64(h) for h in path(i, leaves)], "signature": signature}}
            for i, m in enumerate(measurements)]


def measurement(i):
    return {"schema": "kuzet.measurement/1", "measurement_uid": f"20261203T050000Z_KZ_9198_{i:04d}",
            "started_at": "2026-12-03T05:00:00Z", "target": f"site{i}.example.org", "category": "news",
            "verdict": "blocked" if i % 2 else "ok", "method": "tls.timeout" if i % 2 else "",
            "network": {"cc": "KZ", "asn": 9198}}


def main():
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    vectors = []
    for size in (1, 3, 7):
        for e in sign_batch(key, [measurement(i) for i in range(size)]):
            vectors.append({"name": f"size {size} index {e['batch']['leaf_index']}", "verdict": "", "envelope": e})
    good = sign_batch(key, [measurement(i) for i in range(7)])[5]

    def bad(name, verdict, change):
        e = copy.deepcopy(good)
        change(e)
        vectors.append({"name": name, "verdict": verdict, "envelope": e})

    bad("measurement changed", "bad_signature", lambda e: e["measurement"].update(target="other.example"))
    bad("leaf index of a sibling", "bad_signature", lambda e: e["batch"].update(leaf_index=4))
    bad("tree size one more", "bad_signature", lambda e: e["batch"].update(tree_size=8))
    bad("tree size below the index", "malformed", lambda e: e["batch"].update(tree_size=5))
    bad("path hash changed", "bad_signature",
        lambda e: e["batch"]["audit_path"].__setitem__(0, b64(hashlib.sha256(b"x").digest())))
    bad("path one hash short", "malformed", lambda e: e["batch"]["audit_path"].pop())
    bad("scheme /2", "malformed", lambda e: e["batch"].update(scheme="kuzet.measurement-batch/2"))
    bad("extra batch field", "malformed", lambda e: e["batch"].update(root=b64(bytes(32))))
    bad("signature beside batch", "malformed", lambda e: e.update(signature=e["batch"]["signature"]))
    bad("leaf index as a float", "malformed", lambda e: e["batch"].update(leaf_index=5.0))
    bad("tree size beyond 65536", "malformed", lambda e: e["batch"].update(tree_size=65537))
    bad("another key", "bad_signature",
        lambda e: e.update(public_key=b64(Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key().public_bytes_raw())))

    with open(os.path.join(HERE, "batch_vectors.json"), "w") as f:
        json.dump(vectors, f, indent=1, sort_keys=True)
        f.write("\n")
    corpus = os.path.join(HERE, "corpus_envelope")
    for n, v in enumerate(vectors):
        with open(os.path.join(corpus, f"batch-{n:02d}"), "w") as f:
            json.dump(v["envelope"], f, separators=(",", ":"))


if __name__ == "__main__":
    main()
