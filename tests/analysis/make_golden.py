#!/usr/bin/env python3
"""Writes tests/analysis/golden/*.json: one run per file, observations as the steps record them.

Each case tells a story (description) and states the verdicts a careful human expects from that story.
The expected verdicts are written here by hand; they are never copied from the engine's output.
Run: python3 tests/analysis/make_golden.py   (rewrites the golden directory; commit the JSON).
Addresses are public-looking but invented; nothing here is ever contacted.
"""
import base64
import copy
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")

QAZNET_SHA = "00309c736dd661da6f1eb24173aa849944c168a43a15bffd192eecfdb6f8dbd2"
QAZNET_SPKI = "tbqN1/iVZMKInT1kU8hJmMd4JJGbZOoINapimGWRvlA="
ISCA_2024_SHA = "89107c8e50e029b7b5f4ff0ccd2956bcc9d0c8ba2bfb6a58374ed63a6b034a30"

KNOWLEDGE = {
    "interception_roots": [
        {"name": "Qaznet Trust Network", "sha256": QAZNET_SHA, "spki_sha256": QAZNET_SPKI},
        {"name": "ISCA 2024", "sha256": ISCA_2024_SHA, "spki_sha256": ""},
    ],
    "blockpages": [
        {"name": "kz-ministry-notice", "body_contains": "Доступ к данному ресурсу ограничен",
         "title_contains": "", "header_name": "", "header_contains": "", "address": ""},
        {"name": "isp-block-server", "body_contains": "", "title_contains": "", "header_name": "",
         "header_contains": "", "address": "92.46.53.17"},
        {"name": "fortiguard", "body_contains": "", "title_contains": "", "header_name": "X-Blocked-By",
         "header_contains": "FortiGuard", "address": ""},
    ],
}


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def spki(text):
    return base64.b64encode(hashlib.sha256(("spki" + text).encode()).digest()).decode()


# ---------------------------------------------------------------- observation builders


def dns(host, addresses=(), failure="", rcode=None, resolver="system", ms=23.0):
    """A and AAAA queries as the c-ares step records them."""
    v4 = [a for a in addresses if ":" not in a]
    v6 = [a for a in addresses if ":" in a]
    if rcode is None:
        rcode = {"": "NOERROR", "dns.nxdomain": "NXDOMAIN", "dns.servfail": "SERVFAIL",
                 "dns.refused": "REFUSED", "dns.no_answer": "NOERROR"}.get(failure, "")
    def query(qtype, addrs):
        q_failure = "" if addrs else (failure or "dns.no_answer")
        return {"query_type": qtype, "rcode": rcode,
                "answers": [{"type": qtype, "value": a, "ttl": 300} for a in addrs],
                "failure": q_failure, "duration_ms": ms}
    return {"hostname": host, "resolver": resolver, "queries": [query("A", v4), query("AAAA", v6)],
            "addresses": list(addresses), "failure": "" if addresses else failure, "duration_ms": ms}


def tcp(address, failure="", port=443, ms=None):
    if ms is None:
        ms = {"": 41.0, "tcp.timeout": 10000.0, "tcp.unreachable": 3.0}.get(failure, 39.0)
    return {"address": address, "port": port, "failure": failure, "duration_ms": ms}


def cert(subject_cn, issuer_cn, names=(), key="EC", bits=256, seed="", self_signed=False,
         sha256=None, spki_sha256=None, org_issuer="C=US, O=Let's Encrypt"):
    ident = subject_cn + "|" + issuer_cn + "|" + seed
    return {"sha256": sha256 or sha(ident), "spki_sha256": spki_sha256 or spki(ident),
            "subject": "CN=" + subject_cn, "issuer": (org_issuer + ", CN=" + issuer_cn),
            "serial": sha(ident + "serial")[:32], "not_before": "2026-10-01T00:00:00Z",
            "not_after": "2026-12-30T00:00:00Z", "dns_names": list(names), "key_type": key,
            "key_bits": bits, "self_signed": self_signed}


def public_chain(host, seed="", ca="R11"):
    return [cert(host, ca, [host, "*." + host.removeprefix("www.")], seed=seed),
            cert(ca, "ISRG Root X1", key="RSA", bits=2048, org_issuer="C=US, O=Internet Security Research Group")]


def tls(address, host, chain=None, failure="", verify="", port=443, ms=None, alert="", public=None):
    """public: None = not checked against a pristine public bundle; else that check's verify failure ("" = ok)."""
    ok = failure == ""
    if ms is None:
        ms = {"": 96.0, "tls.timeout": 10000.0}.get(failure, 51.0)
    return {"address": address, "port": port, "sni": host, "failure": failure, "alert": alert,
            "version": "TLSv1.3" if ok else "", "cipher": "TLS_AES_128_GCM_SHA256" if ok else "",
            "alpn": "http/1.1" if ok else "", "chain": (chain if chain is not None else public_chain(host)) if ok else [],
            "verify_failure": verify if ok else "",
            "verify_error": {"": "", "tls.unknown_authority": "unable to get local issuer certificate",
                             "tls.hostname_mismatch": "hostname mismatch",
                             "tls.expired": "certificate has expired"}.get(verify, verify) if ok else "",
            "public_trust": "/usr/share/ca-certificates/mozilla" if (ok and public is not None) else "",
            "public_verify_failure": (public or "") if ok else "",
            "duration_ms": ms}


def samples(body, bps, first_byte_ms):
    """Cumulative body bytes over time at a steady rate (the step keeps at most 64 samples)."""
    if body == 0:
        return []
    seconds = body * 8.0 / bps
    n = max(2, min(16, body // 16384))
    return [{"t_ms": round(first_byte_ms + seconds * 1000.0 * i / (n - 1), 1), "bytes": int(body * i / (n - 1))}
            for i in range(n)]


def request(url, address, status=200, title="", body=60000, prefix=None, headers=None, failure="",
            location="", bps=40e6, truncated=False, first_byte_ms=180.0):
    hdrs = headers if headers is not None else [{"name": "Content-Type", "value": "text/html; charset=utf-8"}]
    if location:
        hdrs = hdrs + [{"name": "Location", "value": location}]
    if prefix is None:
        prefix = "<!DOCTYPE html><html><head><title>" + title + "</title>" if status else ""
    s = samples(body, bps, first_byte_ms) if status else []
    total = (s[-1]["t_ms"] if s else first_byte_ms) + 5.0
    if failure.endswith("timeout"):
        total = 10000.0
    return {"url": url, "address": address, "failure": failure, "status": status, "headers": hdrs if status else [],
            "location": location, "title": title, "body_length": body if status else 0,
            "body_truncated": truncated, "body_sha256": sha(url + title + str(body)) if status else "",
            "body_prefix": prefix, "connect_ms": 40.0, "tls_ms": 95.0 if url.startswith("https") else 0.0,
            "first_byte_ms": first_byte_ms if status else 0.0, "total_ms": total, "samples": s}


def http(url, requests, failure=None, sni=None):
    if failure is None:
        failure = requests[-1]["failure"] if requests else "http.error"
    last = requests[-1] if requests else None
    bps = 0.0
    if last and len(last["samples"]) >= 2:
        s = last["samples"]
        bps = round((s[-1]["bytes"] - s[0]["bytes"]) * 8.0 / ((s[-1]["t_ms"] - s[0]["t_ms"]) / 1000.0))
    host = url.split("/")[2]
    return {"url": url, "sni": sni if sni is not None else (host if url.startswith("https") else ""),
            "requests": requests, "failure": failure, "final_url": last["url"] if last else url,
            "duration_ms": sum(r["total_ms"] for r in requests), "throughput_bps": bps}


def target(url, dns_obs, tcp_list=(), tls_list=(), http_obs=None, neutral=None, repeat=None):
    scheme, rest = url.split("://")
    host = rest.split("/")[0]
    return {"url": url, "scheme": scheme, "host": host, "port": 443 if scheme == "https" else 80,
            "dns": dns_obs, "tcp": list(tcp_list), "tls": list(tls_list), "http": http_obs,
            "neutral_sni_http": neutral, "repeat_sni_http": repeat, "duration_ms": 420.0}


def control(target_obs, addresses, failure=""):
    return {"vantage": "collector", "failure": failure, "target": target_obs, "addresses": addresses}


def info(address, asn, as_name, cc="", bogon=False):
    return {"address": address, "asn": asn, "as_name": as_name, "cc": cc, "bogon": bogon}


def good(url, ip, title="Home", body=60000, bps=40e6, chain=None, extra_ips=()):
    """A target that worked: DNS, TCP, TLS (https) and a 200 page."""
    host = url.split("/")[2]
    https = url.startswith("https")
    port = 443 if https else 80
    addrs = [ip, *extra_ips]
    return target(url, dns(host, addrs), [tcp(a, port=port) for a in addrs],
                  [tls(a, host, chain) for a in addrs] if https else [],
                  http(url, [request(url, ip, 200, title, body, bps=bps)]))


KZT = (9198, "JSC Kazakhtelecom", "KZ")


def entry(category, obs, ctl):
    return {"category": category, "observations": obs, "control": ctl}


def anchor(ok=True, reachable_bps=40e6):
    """The run's connectivity anchor (category "control"), measured like any target."""
    url = "https://www.wikipedia.org/"
    ip = "185.15.59.224"
    obs = good(url, ip, "Wikipedia", 80000, reachable_bps)
    ctl = control(good(url, ip, "Wikipedia", 80000, 300e6), [info(ip, 14907, "WIKIMEDIA", "NL")])
    return entry("control", obs, ctl)


CASES = {}


def case(name, description, targets, expected, facts=None, knowledge=None):
    assert len(targets) == len(expected), name
    doc = {"description": description, "targets": targets,
           "facts": facts if facts is not None else {"collector_reachable": True}}
    if knowledge is not None:
        doc["knowledge"] = knowledge
    doc["expected"] = [{"verdict": v, "method": m} for v, m in expected]
    CASES[name] = doc


# ---------------------------------------------------------------- cases: OK and false-positive traps

u = "https://www.gov.kz/"
case("ok_everything_matches",
     "egov portal: same address, same certificate, same page as the control.",
     [entry("egov", good(u, "89.218.5.70", "eGov", 120000), control(good(u, "89.218.5.70", "eGov", 120000, 200e6), [info("89.218.5.70", *KZT)]))],
     [("ok", "")])

u = "https://www.cloudflare-cdn-site.com/"
loc = good(u, "104.18.32.7", "News", 90000)
ctl = good(u, "104.18.33.9", "News", 90000, 200e6)
case("trap_cdn_same_asn_different_ips",
     "A CDN answers each region with other addresses of the same network (AS13335); everything else works.",
     [entry("news", loc, control(ctl, [info("104.18.32.7", 13335, "CLOUDFLARENET", "US"),
                                       info("104.18.33.9", 13335, "CLOUDFLARENET", "US")]))],
     [("ok", "")])

u = "https://www.youtube.com/"
loc = good(u, "95.59.171.14", "YouTube", 300000)  # a cache node inside the local ISP
ctl = good(u, "142.250.185.78", "YouTube", 300000, 300e6)
case("trap_cdn_other_asn_verified_tls",
     "Geo-DNS sends the probe to a cache node inside its own ISP (other ASN than the control's answer), "
     "which presents a publicly verified certificate for the host: a CDN, not a hijack.",
     [entry("video", loc, control(ctl, [info("95.59.171.14", *KZT), info("142.250.185.78", 15169, "GOOGLE", "US")]))],
     [("ok", "")])

u = "https://www.challenge-protected.org/"
chal = dict(status=403, title="Just a moment...", body=7200,
            headers=[{"name": "Server", "value": "cloudflare"}, {"name": "Cf-Mitigated", "value": "challenge"}])
loc = good(u, "172.67.10.20", "Just a moment...")
loc["http"] = http(u, [request(u, "172.67.10.20", **chal)], failure="")
ctl = good(u, "172.67.10.20", "Just a moment...")
ctl["http"] = http(u, [request(u, "172.67.10.20", **chal)], failure="")
case("trap_challenge_page_seen_by_both",
     "A CAPTCHA/challenge (403, same title) is served to the probe and to the control alike: not a blockpage.",
     [entry("news", loc, control(ctl, [info("172.67.10.20", 13335, "CLOUDFLARENET", "US")]))],
     [("ok", "")])

u = "https://mail.example-webmail.kz/"
loc = good(u, "185.22.66.10", "Webmail", 40000, chain=public_chain("mail.example-webmail.kz", seed="new", ca="R10"))
ctl = good(u, "185.22.66.10", "Webmail", 40000, 200e6, chain=public_chain("mail.example-webmail.kz", seed="old", ca="R11"))
case("trap_cert_rotation",
     "The server rotated its certificate between the two measurements (other leaf, other intermediate); "
     "both chains verify publicly and no known interception root is involved.",
     [entry("email", loc, control(ctl, [info("185.22.66.10", 21299, "Kar-Tel LLC", "KZ")]))],
     [("ok", "")])

# ---------------------------------------------------------------- DNS

u = "https://www.azattyq.org/"
ctl = good(u, "104.18.20.40", "Азаттық", 150000, 200e6)
loc = target(u, dns("www.azattyq.org", [], "dns.nxdomain"))
case("dns_nxdomain_blocked",
     "The ISP resolver answers NXDOMAIN for a news site the control resolves and loads.",
     [entry("news", loc, control(ctl, [info("104.18.20.40", 13335, "CLOUDFLARENET", "US")]))],
     [("blocked", "dns.nxdomain")])

u = "https://expired-domain-kuzet-test.kz/"
loc = target(u, dns("expired-domain-kuzet-test.kz", [], "dns.nxdomain"))
ctl = target(u, dns("expired-domain-kuzet-test.kz", [], "dns.nxdomain", resolver="1.1.1.1:53"))
case("trap_nxdomain_everywhere",
     "A domain that no longer exists: NXDOMAIN locally and at the control. Not censorship.",
     [entry("petition", loc, control(ctl, []))],
     [("down", "dns.nxdomain")])

u = "https://www.currenttime.tv/"
loc = target(u, dns("www.currenttime.tv", [], "dns.timeout", rcode="", ms=4000.0))
ctl = good(u, "23.48.200.15", "Настоящее Время", 120000, 200e6)
case("dns_timeout_blocked",
     "Queries for one name get no reply (dropped by DPI) while other names resolve and the control resolves this one.",
     [entry("news", loc, control(ctl, [info("23.48.200.15", 20940, "Akamai", "EU")])), anchor()],
     [("blocked", "dns.timeout"), ("ok", "")])

u = "https://telegram.org/"
loc = target(u, dns("telegram.org", [], "dns.servfail"))
ctl = good(u, "149.154.167.99", "Telegram", 30000, 200e6)
case("dns_servfail_blocked",
     "SERVFAIL locally (resolution denied upstream) while the control resolves: mapped to dns.timeout "
     "(no usable reply), per docs/verdicts.md.",
     [entry("messaging", loc, control(ctl, [info("149.154.167.99", 62041, "Telegram Messenger Inc", "GB")]))],
     [("blocked", "dns.timeout")])

u = "https://www.instagram.com/"
loc = target(u, dns("www.instagram.com", ["10.10.34.35"]), [tcp("10.10.34.35", "tcp.timeout")])
ctl = good(u, "157.240.205.174", "Instagram", 100000, 200e6)
case("dns_bogon_private_answer",
     "The resolver answers a private 10.x address (flagged bogon by the collector's database); "
     "the connection to it times out.",
     [entry("social", loc, control(ctl, [info("10.10.34.35", 0, "", "", True), info("157.240.205.174", 32934, "FACEBOOK", "US")]))],
     [("blocked", "dns.bogon")])

u = "http://www.petition-site.org/"
loc = target(u, dns("www.petition-site.org", ["127.0.0.1"]), [tcp("127.0.0.1", "tcp.refused", port=80)])
case("dns_bogon_loopback_without_control",
     "The resolver answers 127.0.0.1 and the collector could not give a control (no address info at all): "
     "the engine's own range check recognises loopback, which is decisive on its own.",
     [entry("petition", loc, control(target(u, dns("www.petition-site.org")), [], "control.unavailable"))],
     [("blocked", "dns.bogon")])

u = "https://www.lab-intranet.example.kz/"
loc = target(u, dns("www.lab-intranet.example.kz", ["192.168.10.5"]), [tcp("192.168.10.5", "tcp.timeout")])
ctl = target(u, dns("www.lab-intranet.example.kz", ["192.168.10.5"]), [tcp("192.168.10.5", "tcp.timeout")])
case("trap_bogon_everywhere",
     "A name whose public DNS record really is a private address: the control gets the same bogon and cannot "
     "connect either. A misconfigured site, not censorship.",
     [entry("other", loc, control(ctl, [info("192.168.10.5", 0, "", "", True)]))],
     [("down", "tcp.timeout")])

u = "http://www.banned-forum.net/"
bp = request(u, "92.46.53.17", 200, "Доступ ограничен", 1800, prefix="<html><head><title>Доступ ограничен</title>")
loc = target(u, dns("www.banned-forum.net", ["92.46.53.17"]), [tcp("92.46.53.17", port=80)], [], http(u, [bp]))
ctl = good(u, "198.54.117.200", "Banned forum", 50000, 100e6)
case("dns_hijack_known_blockpage_address",
     "The resolver answers the address of the ISP's known blockpage server (listed in the spec).",
     [entry("social", loc, control(ctl, [info("92.46.53.17", *KZT), info("198.54.117.200", 22612, "NAMECHEAP-NET", "US")]))],
     [("blocked", "dns.hijack")], knowledge=KNOWLEDGE)

u = "https://www.opposition-party.org/"
fake_chain = [cert("block.isp.kz", "R11", ["block.isp.kz"], seed="isp")]
loc = target(u, dns("www.opposition-party.org", ["212.154.220.1"]), [tcp("212.154.220.1")],
             [tls("212.154.220.1", "www.opposition-party.org", fake_chain, verify="tls.hostname_mismatch")],
             http(u, [request(u, "212.154.220.1", 0, failure="tls.hostname_mismatch")]))
ctl = good(u, "51.15.100.9", "Opposition", 80000, 200e6)
case("dns_hijack_unverified_tls",
     "The resolver points the name at an unknown server in the ISP's network (no shared IP or ASN with the control) "
     "whose certificate is for another name.",
     [entry("petition", loc, control(ctl, [info("212.154.220.1", 9198, "JSC Kazakhtelecom", "KZ"), info("51.15.100.9", 12876, "Scaleway", "FR")]))],
     [("blocked", "dns.hijack")])

u = "https://www.signal.org/"
loc = target(u, dns("www.signal.org", ["37.99.10.1"]), [tcp("37.99.10.1", "tcp.timeout")])
ctl = good(u, "13.32.99.100", "Signal", 60000, 200e6)
case("dns_hijack_dead_address",
     "The resolver answers a public address of another network that accepts no connections, while the control's "
     "answer connects.",
     [entry("messaging", loc, control(ctl, [info("37.99.10.1", 29355, "Kcell JSC", "KZ"), info("13.32.99.100", 16509, "AMAZON-02", "US")]))],
     [("blocked", "dns.hijack")])

u = "http://www.rferl-mirror.info/"
inj = request(u, "88.204.130.2", 200, "Warning", 900, prefix="<html><head><title>Warning</title></head><body>This site is not available")
loc = target(u, dns("www.rferl-mirror.info", ["88.204.130.2"]), [tcp("88.204.130.2", port=80)], [], http(u, [inj]))
ctl = good(u, "45.60.11.2", "RFE/RL mirror", 70000, 100e6)
case("dns_hijack_plain_http_page_differs",
     "Plain HTTP: the resolver's answer shares nothing with the control's and the page served there is a short "
     "warning with another title (no known fingerprint).",
     [entry("news", loc, control(ctl, [info("88.204.130.2", 50482, "Beeline KZ", "KZ"), info("45.60.11.2", 19551, "INCAPSULA", "US")]))],
     [("blocked", "dns.hijack")])

u = "http://www.regional-news.kz/"
loc = good(u, "2.135.10.10", "Regional News", 52000)
ctl = good(u, "95.56.10.10", "Regional News", 53000, 100e6)
case("trap_geo_dns_plain_http_same_page",
     "Plain HTTP, unknown ASNs, different answers, but the same page as the control: regional DNS, fine.",
     [entry("news", loc, control(ctl, [info("2.135.10.10", 0, ""), info("95.56.10.10", 0, "")]))],
     [("ok", "")])

u = "https://news.example-media.kz/"
ctl = good(u, "185.98.5.149", "Media", 70000, 200e6)
ctl["tls"].append(tls("185.98.5.150", "news.example-media.kz"))
ctl["tcp"].append(tcp("185.98.5.150"))
loc = good(u, "185.98.5.150", "Media", 70000)
case("trap_control_verified_probe_address",
     "Different IPs with unknown ASNs, but the control connected to the probe's address itself and got a verified "
     "certificate for the host (OONI-style cross check): the local answer is genuine.",
     [entry("news", loc, control(ctl, []))],
     [("ok", "")])

# ---------------------------------------------------------------- TCP

def tcp_case(name, failure, method, story):
    u = "https://www.blocked-by-ip.com/"
    loc = target(u, dns("www.blocked-by-ip.com", ["34.117.59.81"]), [tcp("34.117.59.81", failure)])
    ctl = good(u, "34.117.59.81", "Blocked by IP", 40000, 200e6)
    case(name, story, [entry("social", loc, control(ctl, [info("34.117.59.81", 396982, "GOOGLE-CLOUD", "US")])), anchor()],
         [("blocked", method), ("ok", "")])

tcp_case("tcp_timeout_blocked", "tcp.timeout", "tcp.timeout", "SYNs to the site's address go unanswered (IP blackholed) while the control connects to the same address.")
tcp_case("tcp_reset_blocked", "tcp.reset", "tcp.reset", "Connections to the site's address are reset by a middlebox while the control connects.")
tcp_case("tcp_refused_blocked", "tcp.refused", "tcp.refused", "An RST answers the SYN (injected) while the control connects to the same address.")
tcp_case("tcp_unreachable_blocked", "tcp.unreachable", "tcp.timeout", "An ICMP unreachable (null route) comes back for the address; mapped to tcp.timeout: the packets do not get through.")

u = "https://www.dead-site.kz/"
loc = target(u, dns("www.dead-site.kz", ["185.4.180.20"]), [tcp("185.4.180.20", "tcp.timeout")])
ctl = target(u, dns("www.dead-site.kz", ["185.4.180.20"]), [tcp("185.4.180.20", "tcp.timeout")])
case("trap_site_down_everywhere",
     "The server does not answer anyone: TCP times out locally and at the control.",
     [entry("news", loc, control(ctl, [info("185.4.180.20", 48716, "PS Internet Company", "KZ")])), anchor()],
     [("down", "tcp.timeout"), ("ok", "")])

# ---------------------------------------------------------------- TLS

def tls_case(name, failure, method, story, alert=""):
    u = "https://www.azattyq.org/"
    ip = "104.18.20.40"
    loc = target(u, dns("www.azattyq.org", [ip]), [tcp(ip)], [tls(ip, "www.azattyq.org", failure=failure, alert=alert)])
    ctl = good(u, ip, "Азаттық", 150000, 200e6)
    case(name, story, [entry("news", loc, control(ctl, [info(ip, 13335, "CLOUDFLARENET", "US")])), anchor()],
         [("blocked", method), ("ok", "")])

tls_case("tls_timeout_blocked", "tls.timeout", "tls.timeout", "The usual Kazakh technique: the TLS handshake stalls after the ClientHello carrying the SNI.")
tls_case("tls_reset_blocked", "tls.reset", "tls.reset", "An RST arrives right after the ClientHello.")
tls_case("tls_eof_blocked", "tls.eof", "tls.eof", "The connection is closed (FIN) right after the ClientHello.")
tls_case("tls_alert_blocked", "tls.alert", "tls.reset", "An injected fatal alert ends the handshake; mapped to tls.reset (an abrupt, active end).", alert="handshake failure")

u = "https://broken-tls.example.org/"
ip = "5.9.10.11"
loc = target(u, dns("broken-tls.example.org", [ip]), [tcp(ip)], [tls(ip, "broken-tls.example.org", failure="tls.timeout")])
ctl = target(u, dns("broken-tls.example.org", [ip]), [tcp(ip)], [tls(ip, "broken-tls.example.org", failure="tls.timeout")])
case("trap_tls_fails_everywhere",
     "A server whose TLS stack hangs for everyone: the control times out in the handshake too.",
     [entry("other", loc, control(ctl, [info(ip, 24940, "Hetzner", "DE")]))],
     [("down", "tls.timeout")])

# ---------------------------------------------------------------- interception

u = "https://www.facebook.com/"
ip = "157.240.205.35"
forged = [cert("*.facebook.com", "Security Certificate", ["*.facebook.com", "facebook.com"], key="RSA", bits=2048, seed="forged",
               org_issuer="C=KZ"),
          cert("Security Certificate", "Security Certificate Authority", key="RSA", bits=2048, seed="kz-mid", org_issuer="C=KZ")]
real = public_chain("www.facebook.com", ca="DigiCert Global G2 TLS RSA SHA256 2020 CA1")
loc = target(u, dns("www.facebook.com", [ip]), [tcp(ip)], [tls(ip, "www.facebook.com", forged, verify="tls.unknown_authority")],
             http(u, [request(u, ip, 0, failure="tls.unknown_authority")]))
ctl = good(u, ip, "Facebook", 90000, 200e6, chain=real)
case("mitm_unknown_authority",
     "The chain presented here is issued by an unknown C=KZ authority and differs from the control's verified chain "
     "(no known root in the presented chain).",
     [entry("social", loc, control(ctl, [info(ip, 32934, "FACEBOOK", "US")]))],
     [("intercepted", "tls.mitm")], knowledge=KNOWLEDGE)

u = "https://www.instagram.com/"
ip = "157.240.205.174"
qaznet = cert("Qaznet Trust Network", "Qaznet Trust Network", key="RSA", bits=4096, sha256=QAZNET_SHA, spki_sha256=QAZNET_SPKI,
              org_issuer="C=KZ", self_signed=True)
forged = [cert("*.instagram.com", "Security Certificate", ["*.instagram.com"], key="RSA", bits=2048, seed="forged", org_issuer="C=KZ"),
          cert("Security Certificate", "Qaznet Trust Network", key="RSA", bits=2048, seed="mid", org_issuer="C=KZ"), qaznet]
loc = good(u, ip, "Instagram", 100000, chain=forged)  # verified: the user installed the root
ctl = good(u, ip, "Instagram", 100000, 200e6, chain=public_chain("www.instagram.com", ca="DigiCert SHA2 High Assurance Server CA"))
case("mitm_user_installed_root",
     "The user installed the Qaznet root as told by SMS: the forged chain verifies locally, but it carries the "
     "known interception root and differs from the control's.",
     [entry("social", loc, control(ctl, [info(ip, 32934, "FACEBOOK", "US")]))],
     [("intercepted", "tls.mitm")], knowledge=KNOWLEDGE)

u = "https://vk.com/"
ip = "87.240.132.72"
isca = cert("Information Security Certification Authority", "Information Security Certification Authority", key="RSA",
            bits=4096, sha256=ISCA_2024_SHA, org_issuer="C=KZ", self_signed=True)
forged = [cert("vk.com", "ISCA Intermediate", ["vk.com", "*.vk.com"], key="RSA", bits=2048, seed="f", org_issuer="C=KZ"), isca]
loc = target(u, dns("vk.com", [ip]), [tcp(ip)], [tls(ip, "vk.com", forged, verify="tls.unknown_authority")],
             http(u, [request(u, ip, 0, failure="tls.unknown_authority")]))
case("mitm_known_root_without_control",
     "No control (collector unreachable for the control request), but the presented chain contains a known ISCA root: "
     "decisive local evidence.",
     [entry("social", loc, None), anchor()],
     [("intercepted", "tls.mitm"), ("ok", "")], knowledge=KNOWLEDGE)

u = "https://mail.ru/"
ip = "217.69.139.200"
spki_only = cert("Qaznet Trust Network (reissued)", "Qaznet Trust Network", key="RSA", bits=4096, seed="re", spki_sha256=QAZNET_SPKI, org_issuer="C=KZ")
forged = [cert("mail.ru", "Security Certificate", ["mail.ru"], key="RSA", bits=2048, seed="f2", org_issuer="C=KZ"), spki_only]
loc = target(u, dns("mail.ru", [ip]), [tcp(ip)], [tls(ip, "mail.ru", forged, verify="tls.unknown_authority")],
             http(u, [request(u, ip, 0, failure="tls.unknown_authority")]))
ctl = good(u, ip, "Mail.ru", 200000, 200e6, chain=public_chain("mail.ru", ca="GlobalSign RSA OV SSL CA 2018"))
case("mitm_known_root_by_spki",
     "A re-issued interception root (new certificate, same key): matched by its SPKI hash.",
     [entry("email", loc, control(ctl, [info(ip, 47764, "VK-AS", "RU")]))],
     [("intercepted", "tls.mitm")], knowledge=KNOWLEDGE)

u = "https://www.google.com/"
ip = "142.250.74.36"
chain = public_chain("www.google.com", ca="WR2")
loc = target(u, dns("www.google.com", [ip]), [tcp(ip)], [tls(ip, "www.google.com", chain, verify="tls.expired")],
             http(u, [request(u, ip, 0, failure="tls.expired")]))
ctl = good(u, ip, "Google", 60000, 200e6, chain=chain)
case("trap_expired_same_certificate_clock",
     "The very certificate the control verifies is 'expired' here: the probe's clock is wrong. Not interception.",
     [entry("search", loc, control(ctl, [info(ip, 15169, "GOOGLE", "US")]))],
     [("inconclusive", "")])

u = "https://self-signed.activist-wiki.org/"
ip = "91.198.174.10"
own = [cert("self-signed.activist-wiki.org", "self-signed.activist-wiki.org", ["self-signed.activist-wiki.org"], self_signed=True, org_issuer="O=Activists")]
def self_signed_target():
    return target(u, dns("self-signed.activist-wiki.org", [ip]), [tcp(ip)],
                  [tls(ip, "self-signed.activist-wiki.org", own, verify="tls.unknown_authority")],
                  http(u, [request(u, ip, 0, failure="tls.unknown_authority")]))
case("trap_self_signed_everywhere",
     "The site uses a self-signed certificate: the control sees the same certificate, which does not verify "
     "there either. The control proves it fails for everyone: down (method none: no layer's failure).",
     [entry("other", self_signed_target(), control(self_signed_target(), [info(ip, 14907, "WIKIMEDIA", "NL")]))],
     [("down", "")])

# ---------------------------------------------------------------- HTTP failures

def http_fail_case(name, failure, method, story):
    u = "http://www.tengrinews-mirror.kz/"
    ip = "185.146.1.1"
    loc = target(u, dns("www.tengrinews-mirror.kz", [ip]), [tcp(ip, port=80)], [],
                 http(u, [request(u, ip, 0, failure=failure)]))
    ctl = good(u, ip, "Tengri mirror", 90000, 100e6)
    case(name, story, [entry("news", loc, control(ctl, [info(ip, 35104, "2DAY TELECOM", "KZ")])), anchor()],
         [("blocked", method), ("ok", "")])

http_fail_case("http_reset_blocked", "http.reset", "http.reset", "Plain HTTP: the GET with the Host header triggers an RST.")
http_fail_case("http_timeout_blocked", "http.timeout", "http.timeout", "Plain HTTP: the GET is answered by silence (dropped after the Host header).")
http_fail_case("http_eof_blocked", "http.eof", "http.eof", "Plain HTTP: the connection is closed without a response after the GET.")

u = "https://www.tiktok.com/"
ip = "23.53.40.10"
loc = good(u, ip, "TikTok")
loc["http"] = http(u, [request(u, ip, 0, failure="http.reset")])
ctl = good(u, ip, "TikTok", 60000, 200e6)
case("http_reset_after_verified_tls",
     "HTTPS: the handshake completes and verifies, then the exchange is reset: blocked at the HTTP layer.",
     [entry("social", loc, control(ctl, [info(ip, 20940, "Akamai", "EU")]))],
     [("blocked", "http.reset")])

u = "http://example-shop.kz/"
ip = "185.111.20.20"
loc = target(u, dns("example-shop.kz", [ip]), [tcp(ip, port=80)], [],
             http(u, [request(u, ip, 301, "", 0, location="http://www.example-shop.kz/", prefix=""),
                      {**request("http://www.example-shop.kz/", "", 0, failure="dns.nxdomain"), "address": ""}]))
ctl = target(u, dns("example-shop.kz", [ip]), [tcp(ip, port=80)], [],
             http(u, [request(u, ip, 301, "", 0, location="http://www.example-shop.kz/", prefix=""),
                      request("http://www.example-shop.kz/", ip, 200, "Shop", 40000)]))
case("redirect_hop_dns_blocked",
     "The site redirects to its www host, whose name the local resolver denies (NXDOMAIN) while the control follows "
     "the redirect to the page.",
     [entry("other", loc, control(ctl, [info(ip, 48716, "PS Internet Company", "KZ")]))],
     [("blocked", "dns.nxdomain")])

# ---------------------------------------------------------------- blockpages

u = "http://www.adult-site.com/"
ip = "104.20.5.5"
loc = target(u, dns("www.adult-site.com", [ip]), [tcp(ip, port=80)], [],
             http(u, [request(u, ip, 403, "Forbidden", 9000)]))
ctl = good(u, ip, "Adult site", 8000, 100e6)
case("http_blockpage_status",
     "Plain HTTP, same address as the control: an in-path box answers 403 where the control gets 200.",
     [entry("other", loc, control(ctl, [info(ip, 13335, "CLOUDFLARENET", "US")]))],
     [("blocked", "http.blockpage")])

u = "http://www.kazakh-opposition-blog.net/"
ip = "192.99.40.40"
loc = target(u, dns("www.kazakh-opposition-blog.net", [ip]), [tcp(ip, port=80)], [],
             http(u, [request(u, ip, 200, "Информация", 1500, prefix="<html><head><title>Информация</title></head><body>Ресурс заблокирован")]))
ctl = good(u, ip, "Opposition blog", 45000, 100e6)
case("http_blockpage_length_title",
     "Plain HTTP, same address: a 200 page much shorter than the control's, with another title (unknown fingerprint).",
     [entry("petition", loc, control(ctl, [info(ip, 16276, "OVH", "FR")]))],
     [("blocked", "http.blockpage")])

u = "http://www.gambling-site.com/"
ip = "104.26.1.1"
notice = request(u, ip, 200, "Уведомление", 2300,
                 prefix="<html><head><title>Уведомление</title></head><body><p>Доступ к данному ресурсу ограничен на основании решения")
loc = target(u, dns("www.gambling-site.com", [ip]), [tcp(ip, port=80)], [], http(u, [notice]))
case("http_blockpage_fingerprint_without_control",
     "No control at all, but the page matches the ministry's known blockpage text from the spec.",
     [entry("other", loc, None)],
     [("blocked", "http.blockpage")], knowledge=KNOWLEDGE)

u = "http://www.vpn-provider.com/"
ip = "104.21.9.9"
forti = request(u, ip, 200, "Web Filter Violation", 4200, headers=[{"name": "X-Blocked-By", "value": "FortiGuard Web Filtering"}])
loc = target(u, dns("www.vpn-provider.com", [ip]), [tcp(ip, port=80)], [], http(u, [forti]))
ctl = good(u, ip, "VPN provider", 5000, 100e6)
case("http_blockpage_header_fingerprint",
     "A corporate/ISP filter marks its page with a header listed in the spec.",
     [entry("circumvention", loc, control(ctl, [info(ip, 13335, "CLOUDFLARENET", "US")]))],
     [("blocked", "http.blockpage")], knowledge=KNOWLEDGE)

u = "http://www.lgbt-support.org/"
ip = "151.101.1.1"
loc = target(u, dns("www.lgbt-support.org", [ip]), [tcp(ip, port=80)], [],
             http(u, [request(u, ip, 302, "", 0, location="http://warning.isp-filter.kz/?site=lgbt-support.org", prefix=""),
                      request("http://warning.isp-filter.kz/?site=lgbt-support.org", "82.200.1.2", 200, "Сайт недоступен", 30000)]))
ctl = good(u, ip, "LGBT Support", 32000, 100e6)
case("http_blockpage_redirect_elsewhere",
     "Plain HTTP: an injected 302 sends the browser to a filter's domain whose page is about as long as the real one "
     "but carries another title.",
     [entry("lgbt", loc, control(ctl, [info(ip, 54113, "FASTLY", "US")]))],
     [("blocked", "http.blockpage")])

u = "http://google.com/"
ip = "142.250.74.46"
hops = [request(u, ip, 301, "", 0, location="http://www.google.com/", prefix=""),
        request("http://www.google.com/", ip, 302, "", 0, location="http://www.google.kz/", prefix=""),
        request("http://www.google.kz/", "142.250.74.3", 200, "Google", 18000)]
loc = target(u, dns("google.com", [ip]), [tcp(ip, port=80)], [], http(u, hops))
chops = [request(u, ip, 301, "", 0, location="http://www.google.com/", prefix=""),
         request("http://www.google.com/", ip, 200, "Google", 20000)]
ctl = target(u, dns("google.com", [ip]), [tcp(ip, port=80)], [], http(u, chops))
case("trap_geo_redirect_same_title",
     "The site redirects Kazakh visitors to its .kz domain: another final domain than the control's, but the same "
     "title and a comparable page. A geo-redirect, not a blockpage.",
     [entry("search", loc, control(ctl, [info(ip, 15169, "GOOGLE", "US")]))],
     [("ok", "")])

# ---------------------------------------------------------------- no control

u = "https://www.hrw.org/"
ip = "104.18.7.7"
loc = target(u, dns("www.hrw.org", [ip]), [tcp(ip, "tcp.timeout")])
u2 = "http://www.plain-news.kz/"
loc2 = good(u2, "185.47.1.1", "Plain news", 30000)
u3 = "https://www.example-ngo.org/"
loc3 = target(u3, dns("www.example-ngo.org", ["104.21.3.3"]), [tcp("104.21.3.3")], [tls("104.21.3.3", "www.example-ngo.org", failure="tls.timeout")])
case("no_control_inconclusive",
     "The collector answered whoami but its control request failed: a TCP timeout, a plain-HTTP page and a TLS "
     "timeout cannot be told apart from broken sites or an unknown blockpage without a control.",
     [entry("news", loc, None),
      entry("news", loc2, control(target(u2, dns("www.plain-news.kz")), [], "control.timeout")),
      entry("petition", loc3, control(target(u3, dns("www.example-ngo.org")), [], "control.unavailable")),
      anchor()],
     [("inconclusive", ""), ("inconclusive", ""), ("inconclusive", ""), ("ok", "")])

# ---------------------------------------------------------------- throttling

def fleet(bps_list, body=400 * 1024):
    sites = [("https://www.kaspi.kz/big.js", "194.187.247.10", 57800), ("https://www.wikipedia.org/big.png", "185.15.59.224", 14907),
             ("https://www.gov.kz/big.pdf", "89.218.5.70", 9198), ("https://www.mail.kz/app.js", "195.210.46.20", 9198)]
    out = []
    for (url, ip, asn), bps in zip(sites, bps_list):
        obs = good(url, ip, "", body, bps)
        ctl = good(url, ip, "", body, 300e6)
        out.append(entry("control" if "wikipedia" in url else "other", obs, control(ctl, [info(ip, asn, "", "")])))
    return out


def throttled_twitter(bps, neutral_bps, body=400 * 1024, timeout_at=None, repeat_bps=None, control_body=None):
    u = "https://abs.twimg.com/responsive-web/client-web/main.js"
    ip = "152.199.21.141"
    obs = good(u, ip, "", body, bps)
    if timeout_at is not None:  # the policed transfer hits the 10 s limit with part of the body
        got = int(bps / 8 * timeout_at)
        obs["http"] = http(u, [request(u, ip, 200, "", got, failure="http.timeout", bps=bps, headers=[{"name": "Content-Type", "value": "application/javascript"}], prefix="(function(){")])
    if neutral_bps is not None:
        obs["neutral_sni_http"] = http(u, [request(u, ip, 200, "", body, bps=neutral_bps, prefix="(function(){")], sni="")
    if repeat_bps is not None:
        if timeout_at is not None:
            got = int(repeat_bps / 8 * timeout_at)
            rep = request(u, ip, 200, "", min(got, body), failure="http.timeout" if got < body else "", bps=repeat_bps, prefix="(function(){")
        else:
            rep = request(u, ip, 200, "", body, bps=repeat_bps, prefix="(function(){")
        obs["repeat_sni_http"] = http(u, [rep])
    ctl = good(u, ip, "", control_body or body, 250e6)
    return entry("social", obs, control(ctl, [info(ip, 15133, "EDGECAST", "US")]))


case("throttled_sni_policed",
     "Twitter's static host is policed to ~140 kbit/s; the 10 s HTTP limit cuts the transfer with ~170 KiB "
     "received. The other targets run at 20-40 Mbit/s, the control at 250 Mbit/s, and the same object from the "
     "same address without SNI comes at 25 Mbit/s.",
     fleet([30e6, 40e6, 20e6, 35e6]) + [throttled_twitter(140e3, 25e6, timeout_at=9.8)],
     [("ok", "")] * 4 + [("throttled", "throughput")])

case("throttled_complete_transfer",
     "A throttled object small enough to complete: 300 kbit/s against a 30 Mbit/s baseline, neutral SNI fast.",
     fleet([30e6, 40e6, 20e6]) + [throttled_twitter(300e3, 28e6, body=200 * 1024)],
     [("ok", "")] * 3 + [("throttled", "throughput")])

case("trap_slow_server_neutral_also_slow",
     "One object is 100x slower than the rest, but fetching it without the SNI is just as slow: the server or "
     "route is slow for everyone on this path, not throttled by name.",
     fleet([30e6, 40e6, 20e6]) + [throttled_twitter(200e3, 210e3)],
     [("ok", "")] * 3 + [("ok", "")])

case("trap_uniformly_slow_link",
     "A rural ADSL line: every target runs at ~300-400 kbit/s, so the baseline is slow too; nothing is 10x slower.",
     fleet([400e3, 350e3, 380e3, 420e3]) + [throttled_twitter(300e3, None)],
     [("ok", "")] * 5)

case("trap_small_body_not_judged",
     "A slow-looking but tiny response (12 KiB): too small to measure a rate, no throttling verdict.",
     fleet([30e6, 40e6, 20e6]) + [throttled_twitter(100e3, 30e6, body=12 * 1024)],
     [("ok", "")] * 4)

case("trap_fast_link_short_stall",
     "A fast lab-like link: pages of 116 KiB arrive in under a millisecond at ~1.4 Gbit/s; one arrives in 17 ms "
     "(56 Mbit/s) because of a brief stall, and the neutral-SNI fetch is fast. 25x slower than the others, but "
     "a transfer that short measures a stall, not a policer's rate: ok, not throttled.",
     fleet([1.4e9, 1.5e9, 1.3e9, 1.45e9], body=116 * 1024) + [throttled_twitter(56e6, 1.4e9, body=116 * 1024)],
     [("ok", "")] * 5)

# ---------------------------------------------------------------- offline

def failing_run(with_controls):
    rows = []
    specs = [("https://www.wikipedia.org/", "185.15.59.224", "control", "dns.timeout"),
             ("https://www.google.com/", "142.250.74.36", "control", "tcp.timeout"),
             ("https://www.whatsapp.com/", "157.240.205.60", "messaging", "dns.timeout"),
             ("https://telegram.org/", "149.154.167.99", "messaging", "tcp.timeout"),
             ("https://www.gov.kz/", "89.218.5.70", "egov", "tls.timeout")]
    for url, ip, cat, failure in specs:
        host = url.split("/")[2]
        if failure == "dns.timeout":
            obs = target(url, dns(host, [], "dns.timeout", rcode="", ms=4000.0))
        elif failure == "tcp.timeout":
            obs = target(url, dns(host, [ip]), [tcp(ip, "tcp.timeout")])
        else:
            obs = target(url, dns(host, [ip]), [tcp(ip)], [tls(ip, host, failure="tls.timeout")])
        ctl = control(good(url, ip, "Page", 50000, 200e6), [info(ip, 1, "")]) if with_controls else None
        rows.append(entry(cat, obs, ctl))
    return rows


case("offline_shutdown",
     "5 January 2022: nothing answers - the anchors, every site and the collector fail at DNS/TCP/TLS. One offline "
     "verdict per target, not a list of blocked sites.",
     failing_run(False), [("offline", "")] * 5, facts={"collector_reachable": False})

case("trap_collector_reachable_sites_failing",
     "The same failures, but the collector was reachable and gave controls: the network works, the sites are "
     "blocked (first failing layer each).",
     failing_run(True),
     [("blocked", "dns.timeout"), ("blocked", "tcp.timeout"), ("blocked", "dns.timeout"), ("blocked", "tcp.timeout"),
      ("blocked", "tls.timeout")])

rows = failing_run(False)
rows[0] = anchor()
rows[0]["control"] = None
case("trap_anchor_works_collector_unreachable",
     "The collector is unreachable (maybe blocked itself) but an anchor loads over verified TLS: connectivity exists, "
     "so no offline verdict; without controls the failures stay inconclusive.",
     rows,
     [("ok", ""), ("inconclusive", ""), ("inconclusive", ""), ("inconclusive", ""), ("inconclusive", "")],
     facts={"collector_reachable": False})


# ---------------------------------------------------------------- hostname mismatch on the real address

u = "https://www.bbc.com/"
ip = "151.101.128.81"
other = [cert("filter.isp.kz", "R11", ["filter.isp.kz"], seed="filter")]
loc = target(u, dns("www.bbc.com", [ip]), [tcp(ip)], [tls(ip, "www.bbc.com", other, verify="tls.hostname_mismatch")],
             http(u, [request(u, ip, 0, failure="tls.hostname_mismatch")]))
ctl = good(u, ip, "BBC", 200000, 200e6, chain=public_chain("www.bbc.com", ca="GlobalSign Atlas R3 DV TLS CA 2024 Q4"))
case("mitm_impersonation_hostname_mismatch",
     "Same DNS answer as the control, but the TLS handshake to that address is answered with a certificate for "
     "another name (a transparent proxy's own): someone on the path answers for the site.",
     [entry("news", loc, control(ctl, [info(ip, 54113, "FASTLY", "US")]))],
     [("intercepted", "tls.mitm")])


# ---------------------------------------------------------------- more layer attribution and traps

u = "http://www.azattyq.org/"
ip = "104.18.20.40"
hops = [request(u, ip, 301, "", 0, location="https://www.azattyq.org/", prefix=""),
        request("https://www.azattyq.org/", ip, 0, failure="tls.timeout")]
loc = target(u, dns("www.azattyq.org", [ip]), [tcp(ip, port=80)], [], http(u, hops))
chops = [request(u, ip, 301, "", 0, location="https://www.azattyq.org/", prefix=""),
         request("https://www.azattyq.org/", ip, 200, "Азаттық", 150000)]
ctl = target(u, dns("www.azattyq.org", [ip]), [tcp(ip, port=80)], [], http(u, chops))
case("redirect_to_https_tls_blocked",
     "A plain-HTTP URL redirects to HTTPS on the same host; the handshake of that second hop stalls after the "
     "ClientHello (SNI filtering) while the control completes it: blocked at TLS, not at HTTP.",
     [entry("news", loc, control(ctl, [info(ip, 13335, "CLOUDFLARENET", "US")]))],
     [("blocked", "tls.timeout")])

u = "https://www.rferl.org/"
loc = target(u, dns("www.rferl.org", ["2.16.100.10"]), [tcp("2.16.100.10")], [tls("2.16.100.10", "www.rferl.org", failure="tls.timeout")])
ctl = good(u, "23.212.250.10", "RFE/RL", 120000, 200e6)
case("dns_differs_without_network_data",
     "The answers differ by IP, and the collector had no network data for the probe's address (older collector): a "
     "CDN cannot be ruled out, so the engine does not claim a DNS hijack and reports the handshake failure itself.",
     [entry("news", loc, control(ctl, [info("23.212.250.10", 20940, "Akamai", "EU")]))],
     [("blocked", "tls.timeout")])

u = "https://www.whatsapp.com/"
loc = target(u, dns("www.whatsapp.com", ["31.13.72.1"]), [tcp("31.13.72.1", "tcp.timeout")])
ctl = good(u, "157.240.205.60", "WhatsApp", 80000, 200e6)
case("dns_hijack_unannounced_address",
     "The local answer lies in space the collector's database says nobody announces (asn 0), shares nothing with "
     "the control's answer and does not connect.",
     [entry("messaging", loc, control(ctl, [info("31.13.72.1", 0, ""), info("157.240.205.60", 32934, "FACEBOOK", "US")]))],
     [("blocked", "dns.hijack")])

def slow_everything(n_bps):
    rows = []
    for url, ip in [("https://www.kaspi.kz/big.js", "194.187.247.10"), ("https://www.gov.kz/big.pdf", "89.218.5.70"),
                    ("https://www.mail.kz/app.js", "195.210.46.20")]:
        obs = good(url, ip, "", 512 * 1024, n_bps)
        got = int(n_bps / 8 * 9.8)
        obs["http"] = http(url, [request(url, ip, 200, "", got, failure="http.timeout", bps=n_bps, prefix="")])
        rows.append(entry("other", obs, control(good(url, ip, "", 512 * 1024, 300e6), [info(ip, 9198, "")])))
    return rows

case("trap_slow_link_transfers_time_out",
     "A 200 kbit/s mobile link: every large object times out at 10 s with ~240 KiB received; the control completes "
     "them all. The bodies were flowing at the link's pace: slow, not blocked, not throttled.",
     slow_everything(200e3), [("ok", "")] * 3)

u = "https://www.tengrinews.kz/"
ip = "185.98.7.7"
loc = good(u, ip, "Tengrinews", 90000)
ctl = target(u, dns("www.tengrinews.kz", [ip]), [tcp(ip, "tcp.timeout")])
case("control_fails_local_works",
     "The control cannot reach the site (its vantage is blocked by the site's firewall) but the probe loads it over a "
     "publicly verified connection: reachable here.",
     [entry("news", loc, control(ctl, [info(ip, 48716, "PS Internet Company", "KZ")]))],
     [("ok", "")])

u = "https://www.ktk-news.kz/"
ip = "185.100.65.5"
loc = target(u, dns("www.ktk-news.kz", [], "dns.nxdomain"))
ctl = target(u, dns("www.ktk-news.kz", [ip]), [tcp(ip, "tcp.timeout")])
case("dns_nxdomain_while_server_down",
     "The resolver denies a name that exists (the control resolves it) even though the server happens to be down: "
     "the NXDOMAIN itself is the interference.",
     [entry("news", loc, control(ctl, [info(ip, 48716, "PS Internet Company", "KZ")]))],
     [("blocked", "dns.nxdomain")])

u = "https://www.streaming-service.com/"
ip = "52.1.2.3"
loc = good(u, ip, "Unavailable For Legal Reasons")
loc["http"] = http(u, [request(u, ip, 451, "Unavailable For Legal Reasons", 1200)])
ctl = good(u, ip, "Streaming", 150000, 200e6)
case("https_verified_status_differs",
     "Over a publicly verified connection the site's own server answers 451 to this network and 200 to the control: "
     "only the site holds that key, so the answer is the site's own decision (server-side geoblocking), not the "
     "network's interference: ok, with the status and title in the evidence.",
     [entry("other", loc, control(ctl, [info(ip, 16509, "AMAZON-AES", "US")]))],
     [("ok", "")])


u = "https://www.opposition-party.org/"
fake_chain = [cert("block.isp.kz", "R11", ["block.isp.kz"], seed="isp")]
loc = target(u, dns("www.opposition-party.org", ["212.154.220.1"]), [tcp("212.154.220.1")],
             [tls("212.154.220.1", "www.opposition-party.org", fake_chain, verify="tls.hostname_mismatch")],
             http(u, [request(u, "212.154.220.1", 0, failure="tls.hostname_mismatch")]))
ctl = good(u, "51.15.100.9", "Opposition", 80000, 200e6)
# The collector also tried the probe's address (listed first): the same foreign certificate, unverified there too.
ctl["tcp"].insert(0, tcp("212.154.220.1"))
ctl["tls"].insert(0, tls("212.154.220.1", "www.opposition-party.org", fake_chain, verify="tls.hostname_mismatch"))
case("dns_hijack_control_checked_probe_address",
     "As dns_hijack_unverified_tls, but the control also handshook with the probe's address and saw the same wrong "
     "certificate there: that confirms the answer is not the site; the control's own verified handshake is the one "
     "to compare with.",
     [entry("petition", loc, control(ctl, [info("212.154.220.1", 9198, "JSC Kazakhtelecom", "KZ"), info("51.15.100.9", 12876, "Scaleway", "FR")]))],
     [("blocked", "dns.hijack")])


# ---------------------------------------------------------------- injection, unpresented roots, collector refusals

u = "https://web.telegram.org/"
real_ip, forged_ip = "149.154.167.99", "31.13.72.9"
d = dns("web.telegram.org", [forged_ip, real_ip])
d["queries"][0]["answers"] = [{"type": "A", "value": forged_ip, "ttl": 60}, {"type": "A", "value": real_ip, "ttl": 300}]
loc = target(u, d, [tcp(forged_ip, "tcp.timeout"), tcp(real_ip)], [tls(real_ip, "web.telegram.org")],
             http(u, [request(u, real_ip, 200, "Telegram Web", 70000)]))
ctl = good(u, real_ip, "Telegram Web", 70000, 200e6)
case("dns_injection_mixed_answers",
     "An on-path injector races the real reply; the resolver kept listening and recorded both answers. The forged "
     "address lies outside the site's network and does not connect; the real one works.",
     [entry("messaging", loc, control(ctl, [info(real_ip, 62041, "TELEGRAM", "GB"), info(forged_ip, 0, "")]))],
     [("blocked", "dns.hijack")])

d = dns("web.telegram.org", [forged_ip, real_ip])
first = {"query_type": "A", "rcode": "NOERROR", "answers": [{"type": "A", "value": forged_ip, "ttl": 60}], "failure": "", "duration_ms": 4.1}
second = {"query_type": "A", "rcode": "NOERROR", "answers": [{"type": "A", "value": real_ip, "ttl": 300}], "failure": "", "duration_ms": 305.0}
d["queries"] = [first, second, d["queries"][1]]
loc = target(u, d, [tcp(forged_ip, "tcp.timeout"), tcp(real_ip)], [tls(real_ip, "web.telegram.org")],
             http(u, [request(u, real_ip, 200, "Telegram Web", 70000)]))
case("dns_injection_two_replies",
     "The same race, recorded as two replies to the A query: 4 ms (forged, foreign network) and 305 ms (real).",
     [entry("messaging", loc, control(ctl, [info(real_ip, 62041, "TELEGRAM", "GB"), info(forged_ip, 0, "")]))],
     [("blocked", "dns.hijack")])

u = "https://www.multi-cdn-shop.com/"
a1, a2 = "104.18.40.1", "13.224.10.2"
loc = target(u, dns("www.multi-cdn-shop.com", [a1, a2]), [tcp(a1), tcp(a2)],
             [tls(a1, "www.multi-cdn-shop.com"), tls(a2, "www.multi-cdn-shop.com", public_chain("www.multi-cdn-shop.com", seed="cf"))],
             http(u, [request(u, a1, 200, "Shop", 80000)]))
ctl = good(u, a1, "Shop", 80000, 200e6)
case("trap_multi_cdn_mixed_answers",
     "A multi-CDN answer: one address shared with the control, one in another provider's network. The other one "
     "also completes a verified handshake for the host, so it is no forgery.",
     [entry("other", loc, control(ctl, [info(a1, 13335, "CLOUDFLARENET", "US"), info(a2, 16509, "AMAZON-02", "US")]))],
     [("ok", "")])

u = "https://www.facebook.com/"
ip = "157.240.1.35"
forged = [cert("www.facebook.com", "Security Certificate", ["www.facebook.com", "facebook.com"], key="RSA", bits=2048, seed="f3", org_issuer="C=KZ"),
          cert("Security Certificate", "Qaznet Trust Network", key="RSA", bits=2048, seed="sec", org_issuer="C=KZ")]
loc = good(u, ip, "Facebook — log in or sign up", 90000, chain=forged)  # verifies: the root is installed
ctl = good(u, ip, "Facebook — log in or sign up", 90000, 200e6, chain=public_chain("www.facebook.com", ca="Lab Web Issuing CA R3"))
case("mitm_installed_root_not_presented",
     "The middlebox sends the forged leaf and the 'Security Certificate' intermediate, not the root, and the user "
     "installed the root: the chain verifies locally and no presented certificate has a known hash. The "
     "intermediate's issuer still names the known root (spec name without its note).",
     [entry("social", loc, control(ctl, [info(ip, 32934, "FACEBOOK", "US")]))],
     [("intercepted", "tls.mitm")], knowledge={"interception_roots": [{"name": "Qaznet Trust Network (2019)", "sha256": QAZNET_SHA, "spki_sha256": QAZNET_SPKI}], "blockpages": []})

u = "https://intranet.corp-portal.kz/"
loc = target(u, dns("intranet.corp-portal.kz", ["10.20.0.5"]), [tcp("10.20.0.5", "tcp.timeout")])
ctl = target(u, dns("intranet.corp-portal.kz", ["10.20.0.5"]))
case("trap_bogon_everywhere_collector_refuses",
     "A public name whose record is private everywhere; the collector resolves it to the same bogon and, as it "
     "must, refuses to connect (control.private_address). The bogon is the site's own and nobody can reach it: "
     "down at the local failing layer, never blocked.",
     [entry("other", loc, control(ctl, [info("10.20.0.5", 0, "", "", True)], "control.private_address"))],
     [("down", "tcp.timeout")])


u = "http://loop.example-blog.kz/"
ip = "185.22.67.7"
def looping():
    hops = [request(u, ip, 302, "", 0, location="http://loop.example-blog.kz/a", prefix=""),
            request("http://loop.example-blog.kz/a", ip, 302, "", 0, location="http://loop.example-blog.kz/", prefix="")]
    return target(u, dns("loop.example-blog.kz", [ip]), [tcp(ip, port=80)], [], http(u, hops, failure="http.redirect_loop"))
case("trap_redirect_loop_everywhere",
     "A misconfigured site redirects in a loop, for the control too: the control proves the site is broken for "
     "everyone: down (method none), never blocked.",
     [entry("other", looping(), control(looping(), [info(ip, 21299, "Kar-Tel LLC", "KZ")]))],
     [("down", "")])

u = "http://www.forum-kz.net/"
ip = "178.88.10.10"
loc = target(u, dns("www.forum-kz.net", [ip]), [tcp(ip, port=80)], [], http(u, [request(u, ip, 0, failure="http.error")]))
ctl = good(u, ip, "Forum", 40000, 100e6)
case("http_malformed_injection",
     "Plain HTTP: a DPI box answers the GET with bytes that are no valid HTTP response, then closes; mapped to "
     "http.eof (no valid response before the end).",
     [entry("social", loc, control(ctl, [info(ip, 9198, "JSC Kazakhtelecom", "KZ")]))],
     [("blocked", "http.eof")])


# ---------------------------------------------------------------- issue 12: interception without a known root

u = "https://www.instagram.com/"
ip = "157.240.1.174"
unknown_forged = [cert("www.instagram.com", "Trust Services CA", ["www.instagram.com", "instagram.com"], key="RSA", bits=2048, seed="u1", org_issuer="C=KZ, O=Unknown"),
                  cert("Trust Services CA", "National Trust Root", key="RSA", bits=2048, seed="u2", org_issuer="C=KZ, O=Unknown")]
loc = target(u, dns("www.instagram.com", [ip]), [tcp(ip)], [tls(ip, "www.instagram.com", unknown_forged, public="tls.unknown_authority")],
             http(u, [request(u, ip, 200, "Instagram", 100000)]))
ctl = good(u, ip, "Instagram", 100000, 200e6, chain=public_chain("www.instagram.com", ca="DigiCert SHA2 High Assurance Server CA"))
case("mitm_root_unknown_trusted_locally",
     "A state root nobody has listed yet, installed in this machine's store: the forged chain verifies locally, so "
     "neither a browser nor the known-roots rule notices. Checked against the pristine public bundle (the Mozilla "
     "set as shipped) it does not verify, while the control sees another leaf that verifies publicly: intercepted, "
     "and the evidence says this machine trusts the interceptor. No knowledge at all is given.",
     [entry("social", loc, control(ctl, [info(ip, 32934, "FACEBOOK", "US")]))],
     [("intercepted", "tls.mitm")], knowledge={"interception_roots": [], "blockpages": []})

case("trap_trusted_locally_no_control",
     "The same locally trusted, publicly rejected chain, but no control: a corporate or private CA the user "
     "installed for an intranet cannot be told from interception without the site's public certificate.",
     [entry("social", copy.deepcopy(loc), None)],
     [("inconclusive", "")], knowledge={"interception_roots": [], "blockpages": []})

loc2 = copy.deepcopy(loc)
loc2["tls"][0]["public_verify_failure"] = ""
case("trap_public_bundle_agrees",
     "The local chain differs from the control's but verifies against the public bundle too (a CDN edge with its "
     "own certificate): ok.",
     [entry("social", loc2, control(copy.deepcopy(ctl), [info(ip, 32934, "FACEBOOK", "US")]))],
     [("ok", "")], knowledge={"interception_roots": [], "blockpages": []})

# ---------------------------------------------------------------- issue 12: throttling of any page size

def small_fleet(bps_list, body=48 * 1024):
    """Other targets of the run with ordinary small pages (tens of KiB)."""
    sites = [("https://www.kaspi.kz/", "194.187.247.10", 57800), ("https://www.wikipedia.org/", "185.15.59.224", 14907),
             ("https://www.gov.kz/", "89.218.5.70", 9198)]
    out = []
    for (url, ip, asn), bps in zip(sites, bps_list):
        out.append(entry("control" if "wikipedia" in url else "other", good(url, ip, "Page", body, bps),
                         control(good(url, ip, "Page", body, 300e6), [info(ip, asn, "", "")])))
    return out

case("throttled_small_page",
     "SNI throttling of a site whose page is 40 KiB: policed to 140 kbit/s (2.3 s for the body) while the run's "
     "other pages (48 KiB) come at 8-12 Mbit/s; without SNI the same page from the same address comes at 20 Mbit/s, "
     "and with the SNI again at 140 kbit/s.",
     small_fleet([8e6, 12e6, 10e6]) + [throttled_twitter(140e3, 20e6, body=40 * 1024, repeat_bps=140e3)],
     [("ok", "")] * 3 + [("throttled", "throughput")])

case("throttled_small_page_only_target",
     "A run with one 24 KiB page and nothing else: no baseline, so the control's rate (250 Mbit/s) is the reference. "
     "130 kbit/s here, 15 Mbit/s without SNI, 130 kbit/s with it again: the name is throttled.",
     [throttled_twitter(130e3, 15e6, body=24 * 1024, repeat_bps=130e3)],
     [("throttled", "throughput")])

case("throttled_large_page_timeout_no_baseline",
     "A large object policed to ~140 kbit/s hits the 10 s limit with ~170 KiB received; the run's other pages are "
     "small (under 16 KiB, no rate), so the control is the reference. Neutral SNI: 25 Mbit/s; the repeat with the "
     "SNI times out again at the same pace.",
     small_fleet([8e6, 12e6, 10e6], body=12 * 1024) + [throttled_twitter(140e3, 25e6, timeout_at=9.8, repeat_bps=140e3)],
     [("ok", "")] * 3 + [("throttled", "throughput")])

case("trap_congestion_passed",
     "The page came at 150 kbit/s during a congestion burst (10x below the other pages); the neutral fetch right "
     "after came at 20 Mbit/s and so did the repeat with the site's SNI: passing congestion, not throttling.",
     small_fleet([8e6, 12e6, 10e6]) + [throttled_twitter(150e3, 20e6, body=40 * 1024, repeat_bps=18e6)],
     [("ok", "")] * 4)

case("trap_uniformly_slow_single_target",
     "A single-target run on a 300 kbit/s line: 100x below the control, so a suspect, but the neutral fetch and "
     "the repeat are just as slow: the link, not the name.",
     [throttled_twitter(300e3, 310e3, body=40 * 1024, repeat_bps=290e3)],
     [("ok", "")])

case("trap_small_pages_slow_link",
     "A congested mobile link: every small page comes at 250-400 kbit/s; no target is ten times slower than the "
     "others, whatever the control's speed.",
     small_fleet([300e3, 400e3, 250e3]) + [throttled_twitter(280e3, None, body=40 * 1024)],
     [("ok", "")] * 4)

# ---------------------------------------------------------------- issue 12: the site's own decisions over verified TLS

u = "https://www.shop-behind-cdn.com/"
ip = "104.16.20.20"
loc = good(u, ip, "Just a moment...")
loc["http"] = http(u, [request(u, ip, 503, "Just a moment...", 5400, headers=[{"name": "Server", "value": "cloudflare"}, {"name": "Cf-Mitigated", "value": "challenge"}])])
ctl = good(u, ip, "Shop", 90000, 200e6)
case("https_verified_cdn_challenge_here_only",
     "The CDN shows this network (and not the control) a 503 challenge page, over a publicly verified connection: "
     "the site's own decision, not censorship. ok, with status and title in the evidence.",
     [entry("other", loc, control(ctl, [info(ip, 13335, "CLOUDFLARENET", "US")]))],
     [("ok", "")])

loc = good(u, ip, "Forbidden")
loc["http"] = http(u, [request(u, ip, 403, "403 Forbidden", 900)])
case("https_verified_403_here_only",
     "The site's server answers 403 to this network's addresses (bot protection), over verified TLS: the site's decision.",
     [entry("other", loc, control(copy.deepcopy(ctl), [info(ip, 13335, "CLOUDFLARENET", "US")]))],
     [("ok", "")])

u = "https://www.news-portal.kz/"
ip = "185.98.7.20"
loc = good(u, ip, "")
loc["http"] = http(u, [request(u, ip, 302, "", 0, prefix="")], failure="")  # Location unparsable: not followed
ctl = good(u, ip, "News portal", 70000, 200e6)
case("https_verified_broken_redirect",
     "Over verified TLS the site redirects this network with a Location it cannot be followed to (a broken URL), "
     "while the control gets the page: a server-side decision, ok.",
     [entry("news", loc, control(ctl, [info(ip, 48716, "PS Internet Company", "KZ")]))],
     [("ok", "")])

u = "http://www.shop-behind-cdn.com/"
ip = "104.16.20.20"
loc = target(u, dns("www.shop-behind-cdn.com", [ip]), [tcp(ip, port=80)], [], http(u, [request(u, ip, 503, "Just a moment...", 5400)]))
case("http_plain_503_still_blockpage",
     "The same 503 over plain HTTP: nothing proves it came from the site (an in-path box can answer anything).",
     [entry("other", loc, control(good(u, ip, "Shop", 90000, 100e6), [info(ip, 13335, "CLOUDFLARENET", "US")]))],
     [("blocked", "http.blockpage")])

# ---------------------------------------------------------------- issue 12: relaying proxies

u = "https://www.dw.com/"
proxy, real = "92.46.10.10", "104.18.30.30"
loc = good(u, proxy, "DW", 110000)
ctl = good(u, real, "DW", 110000, 200e6)
case("dns_relay_proxy_verified_same_page",
     "The ISP resolver sends the name to its own relaying proxy (another network than the site's), which passes the "
     "TLS connection through: the genuine certificate verifies publicly and the page matches the control's. The "
     "content was not interfered with: ok, with the inconsistent DNS in the evidence.",
     [entry("news", loc, control(ctl, [info(proxy, *KZT), info(real, 13335, "CLOUDFLARENET", "US")]))],
     [("ok", "")])

proxy = "10.200.0.8"
loc = good(u, proxy, "DW", 110000)
case("dns_relay_proxy_private_address_verified",
     "The relaying proxy sits on a private address inside the ISP; the genuine certificate verifies publicly "
     "through it and the page matches: ok (the bogon answer stays in the evidence).",
     [entry("news", loc, control(copy.deepcopy(ctl), [info(proxy, 0, "", "", True), info(real, 13335, "CLOUDFLARENET", "US")]))],
     [("ok", "")])

u = "http://www.dw.com/"
proxy = "10.200.0.8"
loc = good(u, proxy, "DW", 110000)
case("dns_bogon_plain_http_same_page_still_blocked",
     "Plain HTTP through the same private-address proxy: nothing proves the page is untouched, and a resolver "
     "answering a private address for a public name is tampering: blocked/dns.bogon.",
     [entry("news", loc, control(good(u, real, "DW", 110000, 100e6), [info(proxy, 0, "", "", True), info(real, 13335, "CLOUDFLARENET", "US")]))],
     [("blocked", "dns.bogon")])

# ---------------------------------------------------------------- issue 12: failures that happen for everyone

def own_cert_case(name, verify, story, leaf):
    u = "https://legacy.regional-akimat.kz/"
    ip = "195.12.40.40"
    def side():
        return target(u, dns("legacy.regional-akimat.kz", [ip]), [tcp(ip)], [tls(ip, "legacy.regional-akimat.kz", leaf, verify=verify)],
                      http(u, [request(u, ip, 0, failure=verify)]))
    case(name, story, [entry("egov", side(), control(side(), [info(ip, *KZT)]))], [("down", "")])

own_cert_case("down_expired_certificate_everywhere", "tls.expired",
              "The site's certificate expired; the control is shown the very same certificate and it fails there too: down.",
              [cert("legacy.regional-akimat.kz", "R3", ["legacy.regional-akimat.kz"], seed="old")])
own_cert_case("down_wrong_name_certificate_everywhere", "tls.hostname_mismatch",
              "The server presents a certificate for another of the hoster's names, to everyone: down.",
              [cert("hosting-default.kz", "R11", ["hosting-default.kz"], seed="hoster")])

u = "https://localhost-record.example-news.kz/"
loc = target(u, dns("localhost-record.example-news.kz", ["127.0.0.1"]), [tcp("127.0.0.1", "tcp.refused")])
ctl = target(u, dns("localhost-record.example-news.kz", ["127.0.0.1"]))
case("down_loopback_record_everywhere",
     "The zone's record really is 127.0.0.1: the collector gets the same answer and refuses to connect "
     "(control.private_address); locally the connection is refused. Nobody can reach it: down.",
     [entry("news", loc, control(ctl, [info("127.0.0.1", 0, "", "", True)], "control.private_address"))],
     [("down", "tcp.refused")])

u = "http://redirects.example-blog.kz/"
ip = "185.22.67.8"
def fifteen():
    hops = [request(u if i == 0 else f"http://redirects.example-blog.kz/{i}", ip, 302, "", 0,
                    location=f"http://redirects.example-blog.kz/{i + 1}", prefix="") for i in range(11)]
    return target(u, dns("redirects.example-blog.kz", [ip]), [tcp(ip, port=80)], [], http(u, hops, failure="http.too_many_redirects"))
case("down_too_many_redirects_everywhere",
     "The site redirects more times than the limit (10), for the control as well: down (method none).",
     [entry("other", fifteen(), control(fifteen(), [info(ip, 21299, "Kar-Tel LLC", "KZ")]))],
     [("down", "")])

u = "https://www.no-such-name-anywhere.kz/"
forged_ip = "31.13.72.36"
d = dns("www.no-such-name-anywhere.kz", [forged_ip])
d["queries"].insert(1, {"query_type": "A", "rcode": "NXDOMAIN", "answers": [], "failure": "dns.nxdomain", "duration_ms": 210.0})
loc = target(u, d, [tcp(forged_ip, "tcp.timeout")])
ctl = target(u, dns("www.no-such-name-anywhere.kz", [], "dns.nxdomain", resolver="1.1.1.1:53"))
case("down_nonexistent_name_injected",
     "A name that exists nowhere (NXDOMAIN at the control, and the real reply here said so too, later) while an "
     "on-path injector also answers it with a foreign address: the site is down everywhere.",
     [entry("other", loc, control(ctl, [info(forged_ip, 32934, "FACEBOOK", "US")]))],
     [("down", "dns.nxdomain")])


# ---------------------------------------------------------------- OONI Web Connectivity QA techniques (docs/verdicts.md,
# "OONI's QA suite, case by case"): each case is built from the technique, with this project's own names and numbers.

u = "https://portal.private-ca-bank.kz/"
ip = "185.146.3.30"
private_chain = [cert("portal.private-ca-bank.kz", "Bank Internal Issuing CA", ["portal.private-ca-bank.kz"], seed="own", org_issuer="C=KZ, O=Bank"),
                 cert("Bank Internal Issuing CA", "Bank Internal Root", key="RSA", bits=2048, seed="own-mid", org_issuer="C=KZ, O=Bank")]
def private_root_side():
    return target(u, dns("portal.private-ca-bank.kz", [ip]), [tcp(ip)],
                  [tls(ip, "portal.private-ca-bank.kz", private_chain, verify="tls.unknown_authority")],
                  http(u, [request(u, ip, 0, failure="tls.unknown_authority")]))
case("down_untrusted_root_everywhere",
     "The site's chain comes from its own private root (not a self-signed leaf: leaf, intermediate, unknown root), "
     "shown identically to the control, where it does not verify either: the site's own certificate, down.",
     [entry("other", private_root_side(), control(private_root_side(), [info(ip, 35104, "2DAY TELECOM", "KZ")]))],
     [("down", "")])

u = "https://www.election-watch.org/"
lie, real = "212.154.230.9", "51.158.20.20"
odd_server = [cert("hosting-panel.local", "Hosting Panel Root", ["hosting-panel.local"], seed="panel", org_issuer="O=Panel")]
loc = target(u, dns("www.election-watch.org", [lie]), [tcp(lie)],
             [tls(lie, "www.election-watch.org", odd_server, verify="tls.unknown_authority")],
             http(u, [request(u, lie, 0, failure="tls.unknown_authority")]))
ctl = good(u, real, "Election Watch", 70000, 200e6)
case("dns_hijack_untrusted_server",
     "The resolver points the name at a server in another network whose certificate comes from an unknown "
     "authority; the control resolves the site's own address and verifies: the resolver sends us elsewhere.",
     [entry("petition", loc, control(ctl, [info(lie, *KZT), info(real, 12876, "Scaleway", "FR")]))],
     [("blocked", "dns.hijack")])

u1, u2 = "http://www.city-forum.kz/", "https://www.city-forum.kz/"
ip = "185.98.7.40"
case("control_unreachable_sites_load",
     "The collector is blocked from this network (no control for anything), while the sites load: the plain-HTTP "
     "page cannot be told from an unknown blockpage without a control (inconclusive); the HTTPS page came over a "
     "publicly verified connection, so it is the site's (ok).",
     [entry("social", good(u1, ip, "City forum", 45000), None),
      entry("social", good(u2, ip, "City forum", 45000), None)],
     [("inconclusive", ""), ("ok", "")], facts={"collector_reachable": False})

u = "https://www.exile-media.net/"
loc = target(u, dns("www.exile-media.net", [], "dns.no_answer", rcode="NOERROR"))
ctl = good(u, "104.21.60.60", "Exile media", 90000, 200e6)
case("dns_no_data_blocked",
     "The resolver answers NOERROR with no address (NODATA, what Android's getaddrinfo reports as 'no data') for "
     "a name the control resolves: a denial in other words, dns.nxdomain.",
     [entry("news", loc, control(ctl, [info("104.21.60.60", 13335, "CLOUDFLARENET", "US")]))],
     [("blocked", "dns.nxdomain")])

u1, u2 = "https://www.opposition-tv.org/", "http://www.opposition-tv.org/"
real = "81.17.30.30"
loc1 = target(u1, dns("www.opposition-tv.org", ["127.0.0.1"]), [tcp("127.0.0.1", "tcp.refused")])
# Plain HTTP: a web server on the probe's own machine answers on 127.0.0.1 with its own default page.
loc2 = target(u2, dns("www.opposition-tv.org", ["127.0.0.1"]), [tcp("127.0.0.1", port=80)], [],
              http(u2, [request(u2, "127.0.0.1", 200, "Welcome to nginx!", 615)]))
case("dns_bogon_loopback_with_control",
     "The resolver answers 127.0.0.1 while the control resolves the site's public address: over HTTPS nothing "
     "listens there; over plain HTTP a web server on the volunteer's own machine answers with its default page. "
     "A loopback answer for a public name is the interference either way.",
     [entry("news", loc1, control(good(u1, real, "Opposition TV", 80000, 200e6), [info(real, 51852, "PLI-AS", "CH")])),
      entry("news", loc2, control(good(u2, real, "Opposition TV", 80000, 100e6), [info(real, 51852, "PLI-AS", "CH")]))],
     [("blocked", "dns.bogon"), ("blocked", "dns.bogon")])

u = "http://www.regional-radio.kz/"
proxy, real = "92.46.20.20", "88.204.170.17"
case("dns_relay_proxy_plain_http_same_page",
     "Plain HTTP: the ISP resolver sends the name to its relaying proxy (the ISP's network, not the site's), which "
     "fetches and passes on the site's own page, the same as the control's: not interfered with, ok (the "
     "inconsistent DNS stays in the evidence).",
     [entry("news", good(u, proxy, "Regional radio", 64000),
            control(good(u, real, "Regional radio", 64000, 100e6), [info(proxy, *KZT), info(real, 48716, "PS Internet Company", "KZ")]))],
     [("ok", "")])

# A name that exists nowhere, answered here anyway.
u1, u2 = "https://www.closed-forum-2019.kz/", "http://www.lapsed-blog-2020.kz/"
bp_ip, other_ip = "92.46.53.17", "92.46.53.50"
loc1 = target(u1, dns("www.closed-forum-2019.kz", [bp_ip]), [tcp(bp_ip, "tcp.refused")])
ctl1 = target(u1, dns("www.closed-forum-2019.kz", [], "dns.nxdomain", resolver="1.1.1.1:53"))
bp = request(u2, other_ip, 200, "Доступ ограничен", 1800,
             prefix="<html><head><title>Доступ ограничен</title></head><body>Доступ к данному ресурсу ограничен")
loc2 = target(u2, dns("www.lapsed-blog-2020.kz", [other_ip]), [tcp(other_ip, port=80)], [], http(u2, [bp]))
ctl2 = target(u2, dns("www.lapsed-blog-2020.kz", [], "dns.nxdomain", resolver="1.1.1.1:53"))
case("dns_hijack_nonexistent_name_known_blockpage",
     "Blocked sites whose domains have since lapsed (NXDOMAIN at the control) are still on the block list: the "
     "network answers one name with the known blockpage server's address (nothing listens there on 443), the "
     "other with a server whose page carries the ministry's known blockpage text. The names are gone, but a known "
     "blockpage is deliberate knowledge and decisive: blocked, dns.hijack.",
     [entry("social", loc1, control(ctl1, [info(bp_ip, *KZT)])),
      entry("social", loc2, control(ctl2, [info(other_ip, *KZT)]))],
     [("blocked", "dns.hijack"), ("blocked", "dns.hijack")], knowledge=KNOWLEDGE)

u = "http://www.typo-in-name-shop.kz/"
search_ip = "92.46.60.60"
sp = request(u, search_ip, 200, "Поиск", 14000, prefix="<html><head><title>Поиск</title></head><body>Возможно, вы искали")
loc = target(u, dns("www.typo-in-name-shop.kz", [search_ip]), [tcp(search_ip, port=80)], [], http(u, [sp]))
ctl = target(u, dns("www.typo-in-name-shop.kz", [], "dns.nxdomain", resolver="1.1.1.1:53"))
case("down_nonexistent_name_isp_search_page",
     "The ISP's resolver answers every nonexistent name with its own search/advertising server (NXDOMAIN "
     "redirection). The control says the name does not exist; the page is no known blockpage: nothing was kept "
     "from anyone, down.",
     [entry("other", loc, control(ctl, [info(search_ip, *KZT)]))],
     [("down", "dns.nxdomain")], knowledge=KNOWLEDGE)

# A short link (its own host, verified HTTPS) redirects to the site; the site's hop fails here, not at the control.
def hop_case(name, story, plain_failure, plain_method, tls_failure, tls_method):
    short = "https://sho.rt-links.kz/a7"
    sip = "185.47.40.40"
    site_ip = "81.17.40.4"
    rows = []
    for dest, fail, meth in (("http://www.rights-center.org/", plain_failure, plain_method),
                             ("https://www.rights-center.org/", tls_failure, tls_method)):
        first = request(short, sip, 301, "", 0, location=dest, prefix="")
        loc = target(short, dns("sho.rt-links.kz", [sip]), [tcp(sip)], [tls(sip, "sho.rt-links.kz")],
                     http(short, [first, request(dest, site_ip, 0, failure=fail)]))
        ctl = target(short, dns("sho.rt-links.kz", [sip]), [tcp(sip)], [tls(sip, "sho.rt-links.kz")],
                     http(short, [copy.deepcopy(first), request(dest, site_ip, 200, "Rights Center", 50000)]))
        rows.append(entry("humanrights", loc, control(ctl, [info(sip, *KZT)])))
    case(name, story, rows, [("blocked", plain_method), ("blocked", tls_method)])

hop_case("redirect_hop_refused",
         "A verified short link redirects to the site (http and https); the connection to the site's address is "
         "refused (RST answering the SYN) here, while the control follows the redirect to the page: blocked at TCP.",
         "tcp.refused", "tcp.refused", "tcp.refused", "tcp.refused")
hop_case("redirect_hop_reset",
         "The redirect's target host triggers an RST: after the GET with its Host header (plain HTTP hop), after the "
         "ClientHello with its SNI (HTTPS hop).",
         "http.reset", "http.reset", "tls.reset", "tls.reset")
hop_case("redirect_hop_eof",
         "The redirect's target host makes a middlebox close the connection (FIN): after the GET (plain HTTP hop), "
         "after the ClientHello (HTTPS hop).",
         "http.eof", "http.eof", "tls.eof", "tls.eof")
hop_case("redirect_hop_timeout",
         "The redirect's target host makes a middlebox drop the packets: silence after the GET (plain HTTP hop), after "
         "the ClientHello (HTTPS hop).",
         "http.timeout", "http.timeout", "tls.timeout", "tls.timeout")

u = "http://www.municipal-news.kz/"
ip = "185.98.7.50"
loc = target(u, dns("www.municipal-news.kz", [ip]), [tcp(ip, port=80)], [],
             http(u, [request(u, ip, 302, "", 0, prefix="")], failure=""))  # Location "http://": not followed
ctl = target(u, dns("www.municipal-news.kz", [ip]), [tcp(ip, port=80)], [],
             http(u, [request(u, ip, 302, "", 0, location="http://www.municipal-news.kz/home", prefix=""),
                      request("http://www.municipal-news.kz/home", ip, 200, "Municipal news", 60000)]))
case("http_plain_broken_redirect_here_only",
     "Plain HTTP: this network gets a 302 whose Location is no URL, the control a working redirect to the page. Over "
     "plain HTTP nothing proves the 302 came from the site (an in-path box can answer anything): blocked, "
     "http.blockpage (the HTTPS twin is https_verified_broken_redirect: ok).",
     [entry("news", loc, control(ctl, [info(ip, 48716, "PS Internet Company", "KZ")]))],
     [("blocked", "http.blockpage")])

u = "https://redirects.example-blog.kz/"
ip = "185.22.67.8"
def fifteen_tls():
    hops = [request(u if i == 0 else f"https://redirects.example-blog.kz/{i}", ip, 302, "", 0,
                    location=f"https://redirects.example-blog.kz/{i + 1}", prefix="") for i in range(11)]
    return target(u, dns("redirects.example-blog.kz", [ip]), [tcp(ip)], [tls(ip, "redirects.example-blog.kz")],
                  http(u, hops, failure="http.too_many_redirects"))
case("down_too_many_redirects_everywhere_https",
     "The HTTPS twin of down_too_many_redirects_everywhere: 15 redirects for everyone over verified TLS: down.",
     [entry("other", fifteen_tls(), control(fifteen_tls(), [info(ip, 21299, "Kar-Tel LLC", "KZ")]))],
     [("down", "")])

u = "http://www.banned-forum.org/"
lie, real = "92.46.53.40", "198.54.120.10"
loc = target(u, dns("www.banned-forum.org", [lie]), [tcp(lie, "tcp.refused", port=80)])
case("dns_hijack_refused_address",
     "Plain HTTP: the resolver points the name at a server of the ISP that refuses connections on port 80; the "
     "control resolves the site's own address and loads it: the resolver sends us elsewhere.",
     [entry("social", loc, control(good(u, real, "Banned forum", 50000, 100e6), [info(lie, *KZT), info(real, 22612, "NAMECHEAP-NET", "US")]))],
     [("blocked", "dns.hijack")])

u = "http://localhost-record.example-news.kz/"
loc = target(u, dns("localhost-record.example-news.kz", ["127.0.0.1"]), [tcp("127.0.0.1", "tcp.refused", port=80)])
ctl = target(u, dns("localhost-record.example-news.kz", ["127.0.0.1"]))
case("down_loopback_record_everywhere_plain_http",
     "The plain-HTTP twin of down_loopback_record_everywhere: the zone's record is 127.0.0.1 for everyone: down.",
     [entry("news", loc, control(ctl, [info("127.0.0.1", 0, "", "", True)], "control.private_address"))],
     [("down", "tcp.refused")])

u = "https://сайт-новостей.қаз/"
ip = "88.204.170.70"
def idn_side(bps):
    t = good(u, ip, "Жаңалықтар", 52000, bps, chain=public_chain("xn----7sbhmrdzibxhgg.xn--80ao21a"))
    t["dns"]["hostname"] = "xn----7sbhmrdzibxhgg.xn--80ao21a"  # the wire form; the record keeps the Unicode host
    return t
case("ok_idn_name",
     "An internationalised name under .қаз: DNS and the certificate carry the punycode form, the record the Unicode "
     "one. Same address and page as the control: ok.",
     [entry("news", idn_side(30e6), control(idn_side(200e6), [info(ip, 48716, "PS Internet Company", "KZ")]))],
     [("ok", "")])

u = "https://downloads.mirror-kz.org/iso/big.img"
ip = "185.47.50.50"
def capped(bps):
    t = good(u, ip, "", 512 * 1024, bps)
    t["http"]["requests"][-1]["body_truncated"] = True
    t["http"]["requests"][-1]["headers"] = [{"name": "Content-Type", "value": "application/octet-stream"}]
    return t
case("ok_large_body_capped",
     "A 32 MiB file: both sides stop reading at the 512 KiB body cap (truncated, not a failure), at the link's "
     "speed: ok.",
     [entry("other", capped(40e6), control(capped(300e6), [info(ip, 48716, "PS Internet Company", "KZ")])), anchor()],
     [("ok", ""), ("ok", "")])

def lossy(name, story, got_bytes, neutral_bps, expected):
    u = "https://files.video-hosting.kz/clip.mp4"
    ip = "185.47.60.60"
    bps = got_bytes * 8 / 9.8
    obs = good(u, ip, "", 4 * 1024 * 1024, bps)
    req = request(u, ip, 200, "", got_bytes, failure="http.timeout", bps=bps, prefix="", headers=[{"name": "Content-Type", "value": "video/mp4"}])
    obs["http"] = http(u, [req])
    if neutral_bps is not None:
        obs["neutral_sni_http"] = http(u, [request(u, ip, 200, "", 512 * 1024, bps=neutral_bps, prefix="", truncated=True)], sni="")
        obs["repeat_sni_http"] = http(u, [request(u, ip, 200, "", got_bytes, failure="http.timeout", bps=bps, prefix="")])
    ctl = good(u, ip, "", 512 * 1024, 250e6)
    ctl["http"]["requests"][-1]["body_truncated"] = True
    rows = small_fleet([8e6, 12e6, 10e6]) + [entry("video", obs, control(ctl, [info(ip, 48716, "PS Internet Company", "KZ")]))]
    case(name, story, rows, [("ok", "")] * 3 + [expected])

lossy("throttled_lossy_sni_times_out",
      "The name's flow is delayed by 300 ms and loses 10 % of its packets (a lossy policer rather than a token "
      "bucket): the transfer hits the 10 s limit with ~150 KiB received, while the same object from the same "
      "address without the SNI comes at 20 Mbit/s and again slowly with it: throttled.",
      150 * 1024, 20e6, ("throttled", "throughput"))
lossy("http_timeout_lossy_little_received",
      "The same lossy policing, so harsh that only 40 KiB arrive before the 10 s limit (less than a body 'still "
      "flowing'): the exchange failed where the control's worked: blocked, http.timeout.",
      40 * 1024, None, ("blocked", "http.timeout"))
lossy("trap_address_slow_neutral_slow",
      "The transfer from one address crawls at ~120 kbit/s until the 10 s limit, and as slowly without the SNI and "
      "again with it: whatever slows it follows the address, not the name. A policer on the address cannot be told "
      "from a congested route to that server from one vantage: ok, with the rates in the evidence.",
      150 * 1024, 125e3, ("ok", ""))


u = "http://www.alias-only.example-hoster.kz/"
def alias_side(resolver):
    return target(u, dns("www.alias-only.example-hoster.kz", [], "dns.no_answer", rcode="NOERROR", resolver=resolver))
case("down_no_address_everywhere",
     "The name exists but its records lead to no address (an alias to a host with no A/AAAA), at both resolvers: "
     "broken everywhere, down.",
     [entry("other", alias_side("system"), control(alias_side("1.1.1.1:53"), []))],
     [("down", "dns.nxdomain")])

u = "https://www.independent-tv.org/"
proxy, real = "92.46.30.30", "81.17.40.40"
loc = target(u, dns("www.independent-tv.org", [proxy]), [tcp(proxy)], [tls(proxy, "www.independent-tv.org", failure="tls.reset")])
case("dns_hijack_then_tls_reset",
     "The resolver sends the name to an ISP box (another network than the site's), where the ClientHello with the "
     "site's SNI is reset; the control resolves the site's own address and completes the handshake: the first "
     "layer that interferes is DNS.",
     [entry("news", loc, control(good(u, real, "Independent TV", 90000, 200e6), [info(proxy, *KZT), info(real, 51852, "PLI-AS", "CH")]))],
     [("blocked", "dns.hijack")])


def main():
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        if old.endswith(".json"):
            os.remove(os.path.join(OUT, old))
    for name, doc in sorted(CASES.items()):
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
    print(f"{len(CASES)} golden cases written to {OUT}")


if __name__ == "__main__":
    main()
