#!/usr/bin/env python3
"""Writes the signed seeds of the import_bundle fuzzer (corpus/import_bundle): a key statement and an
envelope signed by the same fresh Ed25519 key, as `kuzet-probe export` writes them. Run once; the output
is committed (signatures change on every run)."""
import base64
import json
import os
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def canonical(value):  # RFC 8785 for ASCII strings and small integers: sorted keys, no spaces
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


key = Ed25519PrivateKey.generate()
public = base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
statement = {"public_key": public, "registered_at": "2022-01-01T00:00:00Z"}
statement["signature"] = base64.b64encode(key.sign(canonical(statement))).decode()
measurement = {
    "schema": "kuzet.measurement/1", "measurement_uid": "20220105T103000Z_0123456789abcdef",
    "target": "www.example.org", "category": "news", "started_at": "2022-01-05T10:30:00.000Z",
    "verdict": "blocked", "method": "tls.timeout",
    "network": {"cc": "KZ", "asn": 9198, "as_name": "JSC Kazakhtelecom", "source": "collector"},
    "observations": {"url": "https://www.example.org/", "dns": {"addresses": ["93.184.216.34"], "failure": ""}},
    "control": None,
}
envelope = {"measurement": measurement, "public_key": public,
            "signature": base64.b64encode(key.sign(canonical(measurement))).decode()}
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "import_bundle")
os.makedirs(out, exist_ok=True)
lines = {"bundle": [statement, envelope], "statement_only": [statement], "unknown_key": [envelope],
         "tampered_statement": [dict(statement, registered_at="2021-01-01T00:00:00Z"), envelope]}
for name, items in lines.items():
    with open(os.path.join(out, name), "w") as f:
        f.write("".join(json.dumps(i) + "\n" for i in items))
