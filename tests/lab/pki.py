#!/usr/bin/python3
"""The lab PKI, generated once per world and cached.

- "Lab Public Root CA" -> "Lab Web Issuing CA" -> one leaf per site: plays the browser-trusted web PKI.
- "Qaznet Trust Network"-like root (C=KZ, RSA-4096) -> "Security Certificate" (C=KZ, RSA-2048) -> forged
  leaves that copy the real leaf's subject and SAN, with a fresh RSA key of exponent 3, shifted validity and
  no other extensions (as described by Raman et al., IMC 2020).
- A blockpage server certificate (from the public PKI, for the blockpage's own name).

Layout of the output directory:
  public-root.pem              the trust bundle the probe gets (--ca-bundle)
  public-plus-qaznet.pem       the same plus the Qaznet root (a user who installed it)
  public-plus-unlisted.pem     the same plus an interception root no knowledge lists ("Trust Services Root")
  qaznet-root.pem, qaznet-root.sha256, qaznet-root.spki
  sites/<name>.chain.pem + .key.pem          the real server's chain (leaf + issuing CA) and key
  forged/<name>.chain.pem + .key.pem         the interception chain (forged leaf + Security Certificate)
  forged-unlisted/<name>.chain.pem + .key.pem  the same under the unlisted root ("Trust Services CA")
A site's own certificate can be broken for everyone (world.yaml `cert`): `expired` (valid until 10 days ago)
or `self_signed` (no issuing CA).
"""
import base64
import datetime
import fcntl
import hashlib
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.timezone.utc


def _name(cn, c=None, o=None):
    parts = []
    if c:
        parts.append(x509.NameAttribute(NameOID.COUNTRY_NAME, c))
    if o:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(parts)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _ca(subject, key, issuer, issuer_key, not_before, not_after, path_len):
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=True, path_length=path_len), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=False, key_cert_sign=True, crl_sign=True,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_key is not key:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _leaf(names, issuer_cert, issuer_key, now, expired=False, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = _name(names[0])
    start = now - datetime.timedelta(days=100 if expired else 30)
    end = now - datetime.timedelta(days=10) if expired else now + datetime.timedelta(days=60)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                           critical=False)
            .sign(issuer_key, hashes.SHA256()))
    return cert, key


def _forge(real_leaf, issuer_cert, issuer_key):
    # Fresh RSA key with e=3, subject and SAN copied from the real certificate, validity shifted by a day,
    # every other extension stripped.
    key = rsa.generate_private_key(public_exponent=3, key_size=2048)
    san = real_leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    shift = datetime.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(real_leaf.subject).issuer_name(issuer_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(real_leaf.not_valid_before.replace(tzinfo=UTC) - shift)
            .not_valid_after(real_leaf.not_valid_after.replace(tzinfo=UTC) + shift)
            .add_extension(san, critical=False)
            .sign(issuer_key, hashes.SHA256()))
    return cert, key


def _write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class _SelfIssuer:
    """Stands in for an issuing CA certificate so _leaf can sign a certificate with its own key."""
    def __init__(self, name):
        self.subject = _name(name)


def generate(out_dir, site_names, blockpage_name, cert_kinds=None):
    cert_kinds = cert_kinds or {}
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    # Public web PKI.
    pub_root_key = ec.generate_private_key(ec.SECP384R1())
    pub_root = _ca(_name("Lab Public Root CA", "US", "Lab Web Trust"), pub_root_key,
                   _name("Lab Public Root CA", "US", "Lab Web Trust"), pub_root_key,
                   now - datetime.timedelta(days=3650), now + datetime.timedelta(days=3650), 1)
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    issuing = _ca(_name("Lab Web Issuing CA R3", "US", "Lab Web Trust"), issuing_key, pub_root.subject,
                  pub_root_key, now - datetime.timedelta(days=365), now + datetime.timedelta(days=1000), 0)
    # Interception PKI, with the 2019 root's validity dates.
    qaz_root_key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    qaz_name = _name("Qaznet Trust Network", "KZ")
    qaz_root = _ca(qaz_name, qaz_root_key, qaz_name, qaz_root_key,
                   datetime.datetime(2016, 2, 2, tzinfo=UTC), datetime.datetime(2046, 2, 2, tzinfo=UTC), None)
    sec_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sec = _ca(_name("Security Certificate", "KZ"), sec_key, qaz_name, qaz_root_key,
              now - datetime.timedelta(days=365), now + datetime.timedelta(days=3650), 0)

    # An interception root that no knowledge lists (neither a spec nor the probe's built-in file).
    unl_root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unl_name = _name("Trust Services Root", "KZ", "National Trust Services")
    unl_root = _ca(unl_name, unl_root_key, unl_name, unl_root_key, now - datetime.timedelta(days=700),
                   now + datetime.timedelta(days=3650), None)
    unl_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unl = _ca(_name("Trust Services CA", "KZ", "National Trust Services"), unl_key, unl_name, unl_root_key,
              now - datetime.timedelta(days=365), now + datetime.timedelta(days=3650), 0)

    for name in list(site_names) + [blockpage_name]:
        names = [name]
        if name.startswith("www."):
            names.append(name[4:])
        kind = cert_kinds.get(name, "")
        if kind == "self_signed":
            key = ec.generate_private_key(ec.SECP256R1())
            leaf, key = _leaf(names, _SelfIssuer(names[0]), key, now, key=key)
            _write(f"{out_dir}/sites/{name}.chain.pem", _pem(leaf))
        else:
            leaf, key = _leaf(names, issuing, issuing_key, now, expired=kind == "expired")
            _write(f"{out_dir}/sites/{name}.chain.pem", _pem(leaf) + _pem(issuing))
        _write(f"{out_dir}/sites/{name}.key.pem", _key_pem(key))
        if name == blockpage_name:
            continue
        forged, fkey = _forge(leaf, sec, sec_key)
        _write(f"{out_dir}/forged/{name}.chain.pem", _pem(forged) + _pem(sec))
        _write(f"{out_dir}/forged/{name}.key.pem", _key_pem(fkey))
        forged, fkey = _forge(leaf, unl, unl_key)
        _write(f"{out_dir}/forged-unlisted/{name}.chain.pem", _pem(forged) + _pem(unl))
        _write(f"{out_dir}/forged-unlisted/{name}.key.pem", _key_pem(fkey))

    _write(f"{out_dir}/public-root.pem", _pem(pub_root))
    _write(f"{out_dir}/public-plus-qaznet.pem", _pem(pub_root) + _pem(qaz_root))
    _write(f"{out_dir}/public-plus-unlisted.pem", _pem(pub_root) + _pem(unl_root))
    _write(f"{out_dir}/qaznet-root.pem", _pem(qaz_root))
    der = qaz_root.public_bytes(serialization.Encoding.DER)
    _write(f"{out_dir}/qaznet-root.sha256", hashlib.sha256(der).hexdigest().encode() + b"\n")
    spki = qaz_root.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
    _write(f"{out_dir}/qaznet-root.spki", base64.b64encode(hashlib.sha256(spki).digest()) + b"\n")
    _write(f"{out_dir}/complete", b"ok\n")


PKI_LAYOUT = "2"  # bump when generate() writes something new, so cached PKIs are rebuilt


def ensure(cache_root, site_names, blockpage_name, cert_kinds=None):
    """Returns the PKI directory for this set of names, generating it once (safe under parallel ctest)."""
    cert_kinds = cert_kinds or {}
    ident = "\n".join(f"{n}:{cert_kinds.get(n, '')}" for n in sorted(site_names))
    key = hashlib.sha256((ident + "|" + blockpage_name + "|" + PKI_LAYOUT).encode()).hexdigest()[:12]
    out_dir = os.path.join(cache_root, f"pki-{key}")
    os.makedirs(cache_root, exist_ok=True)
    with open(os.path.join(cache_root, "pki.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(out_dir, "complete")):
            generate(out_dir, site_names, blockpage_name, cert_kinds)
    return out_dir


if __name__ == "__main__":
    if len(sys.argv) < 3:
        print("usage: pki.py OUT_DIR SITE... (last argument: blockpage name)", file=sys.stderr)
        sys.exit(2)
    generate(sys.argv[1], sys.argv[2:-1], sys.argv[-1])
