#!/usr/bin/python3
"""The censor's userspace tools. Run inside the censor namespace; read the run's state.json (lab.py).

  censor.py resolver STATE.json   lying resolver: nft redirects the probe's DNS here (:5353); listed names get
                                  NXDOMAIN / a bogon / the blockpage address / no answer, others are forwarded
  censor.py injector STATE.json   on-path injector: sniffs the probe-side link; races the real DNS answer with
                                  a forged one (the query itself still goes through), and answers a ClientHello
                                  with a listed SNI with a forged RST to the probe (tls action inject_rst; the
                                  ClientHello still reaches the server). Its packets carry its own TTL and a
                                  random IP ID, as a middlebox's do; `ttl: copy` copies the server's TTL;
                                  a dns rule's `delay_ms` holds the forgery back (an injector that loses the race)
  censor.py relay STATE.json      the ISP's relaying proxy on its own address (where dns action `relay` sends
                                  names): passes each connection through to the site named by the SNI or Host,
                                  so the client gets the genuine certificate and page
  censor.py proxy STATE.json      transparent DPI proxy (nft redirect, SO_ORIGINAL_DST) on :15443 (TLS) and
                                  :15080 (HTTP): acts on the ClientHello's SNI or the Host header
                                  (reset, silence, intercept with the forged chain, throttle, blockpage, redirect),
                                  forwards everything else untouched
"""
import json
import random
import select
import socket
import ssl
import struct
import sys
import threading
import time

SO_ORIGINAL_DST = 80
SO_MARK = 36
POLICE_MARK = 0x70  # lab.py's police rules match it
RESOLVER_PORT = 5353
TLS_PROXY_PORT = 15443
HTTP_PROXY_PORT = 15080


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def names_of(rules, key):
    """{name: rule} for a list of rules that each carry a list of names under `key`."""
    out = {}
    for rule in rules:
        for n in rule[key]:
            out[n.lower().rstrip(".")] = rule
    return out


# ---------------------------------------------------------------------------------- lying resolver

def run_resolver(state):
    from dnslib import QTYPE, RCODE, RR, A, DNSError, DNSRecord
    from dnslib.server import BaseResolver, DNSLogger, DNSServer

    rules = names_of([r for r in state["censor"].get("dns", []) if r["action"] != "inject"], "names")
    upstream = state["world"]["network"]["resolver"]

    class Lying(BaseResolver):
        def resolve(self, request, handler):
            qname = str(request.q.qname).lower().rstrip(".")
            rule = rules.get(qname)
            if rule is None:
                try:
                    return DNSRecord.parse(request.send(upstream, 53, tcp=handler.protocol == "tcp", timeout=4))
                except Exception as e:  # upstream unreachable: answer like a broken ISP resolver
                    log("resolver: upstream failed:", e)
                    reply = request.reply()
                    reply.header.rcode = RCODE.SERVFAIL
                    return reply
            log(f"resolver: {rule['action']} {qname} {QTYPE[request.q.qtype]}")
            reply = request.reply()
            action = rule["action"]
            if action == "nxdomain":
                reply.header.rcode = RCODE.NXDOMAIN
            elif action == "refused":
                reply.header.rcode = RCODE.REFUSED
            elif action == "drop":
                raise DNSError("dropped")  # dnslib sends nothing when the resolver raises DNSError
            elif action in ("bogon", "hijack", "relay") and request.q.qtype == QTYPE.A:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(rule["address"]), ttl=60))
            return reply

    quiet = DNSLogger(log="-request,-reply,-truncated,-error")
    servers = [DNSServer(Lying(), port=RESOLVER_PORT, address="0.0.0.0", tcp=tcp, logger=quiet)
               for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    log(f"resolver: lying for {sorted(rules)}; forwarding the rest to {upstream}")
    while True:
        time.sleep(3600)


# ---------------------------------------------------------------------------------------- injector

def _checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


# The injector's own IP TTL: a box a few hops from the servers' side, not what the servers' packets show.
INJECTOR_TTL = 64


def _ipv4(src, dst, proto, body, ttl):
    # A fresh random IP ID per packet: a middlebox forging packets does not share the server's counter.
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), random.randint(1, 0xFFFF), 0, ttl, proto, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:] + body


def _ipv4_udp(src, dst, sport, dport, payload, ttl=INJECTOR_TTL):
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    csum = _checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    return _ipv4(src, dst, 17, udp, ttl)


def _ipv4_tcp_rst(src, dst, sport, dport, seq, ttl):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x04, 0, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
    return _ipv4(src, dst, 6, tcp, ttl)


def run_injector(state):
    from dnslib import QTYPE, RR, A, DNSRecord

    rules = names_of([r for r in state["censor"].get("dns", []) if r["action"] == "inject"], "names")
    rst_rules = names_of([r for r in state["censor"].get("tls", []) if r["action"] == "inject_rst"], "sni")
    iface = state["censor_probe_iface"]
    # ETH_P_ALL: a socket bound to one protocol does not see outgoing frames (the servers' SYN-ACKs).
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sniff.bind((iface, 0))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    server_ttl = {}  # (server, sport, client, cport) -> TTL of the server's SYN-ACK as it leaves for the probe
    log(f"injector: watching {iface} for {sorted(rules)} (dns) {sorted(rst_rules)} (rst)")
    while True:
        frame, addr = sniff.recvfrom(65535)
        ip = frame[14:]
        if frame[12:14] != b"\x08\x00" or len(ip) < 28:
            continue
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] == 6 and len(ip) >= ihl + 20:
            src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
            sport, dport, seq, ack = struct.unpack("!HHII", ip[ihl:ihl + 12])
            flags = ip[ihl + 13]
            if addr[2] == socket.PACKET_OUTGOING:
                if flags & 0x12 == 0x12:
                    server_ttl[(src, sport, dst, dport)] = ip[8]
                continue
            payload = ip[ihl + (ip[ihl + 12] >> 4) * 4:]
            rule = rst_rules.get(parse_sni(payload)) if payload[:1] == b"\x16" else None
            if rule is None:
                continue
            key = (dst, dport, src, sport)
            ttl = server_ttl.get(key, INJECTOR_TTL) if rule.get("ttl") == "copy" else int(rule.get("ttl", INJECTOR_TTL))
            # In the window: the sequence number the probe expects next from the server (the hello's ACK).
            raw.sendto(_ipv4_tcp_rst(dst, src, dport, sport, ack, ttl), (src, 0))
            log(f"injector: RST ttl={ttl} for {src}:{sport} -> {dst}:{dport} sni={parse_sni(payload)}")
            continue
        if addr[2] == socket.PACKET_OUTGOING or ip[9] != 17:
            continue
        sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
        if dport != 53:
            continue
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        try:
            query = DNSRecord.parse(ip[ihl + 8:])
        except Exception:
            continue
        qname = str(query.q.qname).lower().rstrip(".")
        rule = rules.get(qname)
        if rule is None or query.q.qtype != QTYPE.A:
            continue
        reply = query.reply()
        reply.add_answer(RR(query.q.qname, QTYPE.A, rdata=A(rule["address"]), ttl=60))
        packet = _ipv4_udp(dst, src, 53, sport, reply.pack())
        delay = rule.get("delay_ms", 0) / 1000.0
        if delay:
            threading.Timer(delay, raw.sendto, (packet, (src, 0))).start()  # the sniffer reads on meanwhile
        else:
            raw.sendto(packet, (src, 0))
        log(f"injector: forged {qname} -> {rule['address']} for {src}:{sport}" + (f" after {delay:.3f} s" if delay else ""))


# ------------------------------------------------------------------------------------- DPI proxy

def original_dst(conn):
    raw = conn.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port = struct.unpack("!H", raw[2:4])[0]
    return socket.inet_ntoa(raw[4:8]), port


def reset(conn):
    # SO_LINGER with a zero timeout turns close() into an RST.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def close_quietly(conn, peeked):
    # "Close": consume what was peeked (unread data would turn close() into an RST), then a plain FIN.
    conn.settimeout(2)
    try:
        got = 0
        while got < len(peeked):
            chunk = conn.recv(len(peeked) - got)
            if not chunk:
                break
            got += len(chunk)
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    conn.close()


def hold_silently(conn, seconds=120):
    # "Silence": swallow whatever the client sends and never answer, until it gives up.
    conn.settimeout(seconds)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass
    conn.close()


def peek_until(conn, complete, limit=16384, timeout=10):
    """Peeks (without consuming) until complete(data) says the trigger is readable; returns the data."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([conn], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        data = conn.recv(limit, socket.MSG_PEEK)
        if not data or complete(data) or len(data) >= limit:
            return data
        time.sleep(0.005)  # more of the trigger is on its way; peek returns at once, so pace the loop
    return data


def client_hello_complete(data):
    return len(data) >= 5 and (data[0] != 0x16 or len(data) >= 5 + struct.unpack("!H", data[3:5])[0])


def parse_sni(data):
    """SNI from a TLS ClientHello record, '' when absent or unparsable."""
    try:
        if data[0] != 0x16 or data[5] != 1:
            return ""
        p = 5 + 4 + 2 + 32  # record header, handshake header, version, random
        p += 1 + data[p]  # session id
        p += 2 + struct.unpack("!H", data[p:p + 2])[0]  # cipher suites
        p += 1 + data[p]  # compression methods
        end = p + 2 + struct.unpack("!H", data[p:p + 2])[0]
        p += 2
        while p + 4 <= end:
            etype, elen = struct.unpack("!HH", data[p:p + 4])
            p += 4
            if etype == 0:
                name_len = struct.unpack("!H", data[p + 3:p + 5])[0]
                return data[p + 5:p + 5 + name_len].decode("ascii", "replace").lower()
            p += elen
    except (IndexError, struct.error):
        pass
    return ""


def parse_host(data):
    for line in data.split(b"\r\n")[1:]:
        if not line:
            break
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"host":
            return v.strip().decode("ascii", "replace").split(":")[0].lower()
    return ""


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def splice(a, b, rate_bps_b_to_a=0):
    """Copies bytes both ways until either side closes. b->a is paced to rate_bps when it is set."""
    socks = [a, b]
    budget, last = 0.0, time.monotonic()
    chunk = 65536 if not rate_bps_b_to_a else 1024
    try:
        while True:
            r, _, _ = select.select(socks, [], [], 300)
            if not r:
                return
            for s in r:
                if rate_bps_b_to_a and s is b:
                    # Token bucket: wait until `chunk` bytes are allowed (bucket depth ~ one chunk).
                    now = time.monotonic()
                    budget = min(budget + (now - last) * rate_bps_b_to_a / 8, chunk)
                    last = now
                    if budget < chunk:
                        time.sleep((chunk - budget) * 8 / rate_bps_b_to_a)
                        now = time.monotonic()
                        budget = min(budget + (now - last) * rate_bps_b_to_a / 8, chunk)
                        last = now
                data = s.recv(chunk)
                if not data:
                    return
                (b if s is a else a).sendall(data)
                if rate_bps_b_to_a and s is b:
                    budget -= len(data)
    except (OSError, ssl.SSLError):
        pass
    finally:
        close_all(socks)


def pass_through(conn, dst, who):
    """Connects to dst and copies bytes both ways; an unreachable upstream is answered with an RST."""
    try:
        up = socket.create_connection(dst, timeout=10)
    except OSError as e:
        log(f"{who}: upstream {dst} failed: {e}")
        return reset(conn)
    conn.settimeout(None)
    up.settimeout(None)
    splice(conn, up)


def relay_tls(a, b):
    """Relays between two TLS sockets in one thread until either side closes. One thread per SSL object:
    OpenSSL must not read and write one connection from two threads at once (doing so here hung a relay
    under load). Bytes already decrypted inside an SSL object do not make select() fire: pending() first."""
    socks = [a, b]
    for s in socks:
        s.setblocking(False)
    try:
        while True:
            ready = [s for s in socks if s.pending()]
            if not ready:
                ready, _, _ = select.select(socks, [], [], 300)
                if not ready:
                    return
            for s in ready:
                try:
                    data = s.recv(65536)
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    continue  # a partial record, or a post-handshake message with no data
                if not data:
                    return
                other = b if s is a else a
                other.setblocking(True)
                other.sendall(data)
                other.setblocking(False)
    except (OSError, ssl.SSLError):
        pass
    finally:
        close_all(socks)


class Proxy:
    def __init__(self, state):
        censor = state["censor"]
        self.state = state
        self.tls_rules = names_of(censor.get("tls", []), "sni")
        self.http_rules = names_of(censor.get("http", []), "host")
        self.pki = state["pki"]
        self.blockpage_html = state["blockpage_html"].encode()
        self.upstream_ctx = ssl.create_default_context(cafile=f"{self.pki}/public-root.pem")
        self.upstream_ctx.set_alpn_protocols(["http/1.1"])

    def upstream(self, dst):
        return socket.create_connection(dst, timeout=10)

    def handle_tls(self, conn):
        dst = original_dst(conn)
        hello = peek_until(conn, client_hello_complete)
        sni = parse_sni(hello)
        rule = self.tls_rules.get(sni)
        action = rule["action"] if rule else "pass"
        log(f"proxy: tls {dst[0]}:{dst[1]} sni={sni or '-'} -> {action}")
        if action == "reset":
            return reset(conn)
        if action == "silence":
            return hold_silently(conn)
        if action == "close":
            return close_quietly(conn, hello)
        try:
            up = self.upstream(dst)
        except OSError as e:
            log(f"proxy: upstream {dst} failed: {e}")
            return reset(conn)
        if action == "intercept":
            return self.intercept(conn, up, sni, rule.get("root", "qaznet"))
        if action == "police":
            # Marked for the censor's kernel policer (lab.py: per-connection token bucket that drops).
            police = [r for r in self.state["censor"]["tls"] if r["action"] == "police"]
            conn.setsockopt(socket.SOL_SOCKET, SO_MARK, POLICE_MARK + police.index(rule))
        rate = rule.get("rate_kbit", 150) * 1000 if action == "throttle" else 0
        conn.settimeout(None)
        up.settimeout(None)
        splice(conn, up, rate)

    def intercept(self, conn, up, sni, root):
        # Terminate TLS with the forged chain, re-originate TLS to the real server, relay the plaintext.
        # root: "qaznet" (the 2019 chain) or "unlisted" (a root no knowledge lists).
        forged = "forged-unlisted" if root == "unlisted" else "forged"
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(f"{self.pki}/{forged}/{sni}.chain.pem", f"{self.pki}/{forged}/{sni}.key.pem")
        ctx.set_alpn_protocols(["http/1.1"])
        try:
            conn.settimeout(15)
            client = ctx.wrap_socket(conn, server_side=True)
            server = self.upstream_ctx.wrap_socket(up, server_hostname=sni)
        except (OSError, ssl.SSLError) as e:
            log(f"proxy: interception of {sni} failed: {e}")
            conn.close()
            up.close()
            return
        relay_tls(client, server)

    def handle_http(self, conn):
        dst = original_dst(conn)
        request = peek_until(conn, lambda d: b"\r\n\r\n" in d)
        host = parse_host(request)
        rule = self.http_rules.get(host)
        action = rule["action"] if rule else "pass"
        log(f"proxy: http {dst[0]}:{dst[1]} host={host or '-'} -> {action}")
        if action == "reset":
            return reset(conn)
        if action == "close":
            return close_quietly(conn, request)
        if action == "silence":
            return hold_silently(conn)
        if action == "redirect":
            # 302 to the ISP's blockpage server, by name (the client resolves it through the lab DNS)
            location = f"http://{self.state['blockpage_name']}/?blocked={host}"
            conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: " + location.encode() +
                         b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            conn.close()
            return
        if action == "blockpage":
            body = self.blockpage_html
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            conn.close()
            return
        pass_through(conn, dst, "proxy")

    def serve(self, port, handler):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("0.0.0.0", port))
        ls.listen(128)
        while True:
            conn, _ = ls.accept()

            def run(c=conn):
                try:
                    handler(c)
                except Exception as e:  # one broken connection must not stop the censor
                    log(f"proxy: connection error: {e!r}")
                    try:
                        c.close()
                    except OSError:
                        pass
            threading.Thread(target=run, daemon=True).start()


def run_relay(state):
    sites = {s["name"]: s["address"] for s in state["world"]["sites"]}
    address = state["world"]["network"]["relay_proxy"]

    def handle(conn, port):
        if port == 443:
            name = parse_sni(peek_until(conn, client_hello_complete))
        else:
            name = parse_host(peek_until(conn, lambda d: b"\r\n\r\n" in d))
        target = sites.get(name)
        log(f"relay: :{port} {name or '-'} -> {target or 'unknown'}")
        if target is None:
            return reset(conn)
        pass_through(conn, (target, port), "relay")

    def serve(port):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((address, port))
        ls.listen(128)
        while True:
            conn, _ = ls.accept()
            threading.Thread(target=handle, args=(conn, port), daemon=True).start()

    threading.Thread(target=serve, args=(80,), daemon=True).start()
    log(f"relay: passing {address}:80,443 through to the sites")
    serve(443)


def run_proxy(state):
    proxy = Proxy(state)
    threading.Thread(target=proxy.serve, args=(HTTP_PROXY_PORT, proxy.handle_http), daemon=True).start()
    log(f"proxy: tls rules {sorted(proxy.tls_rules)}; http rules {sorted(proxy.http_rules)}")
    proxy.serve(TLS_PROXY_PORT, proxy.handle_tls)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("resolver", "injector", "proxy", "relay"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[2]) as f:
        st = json.load(f)
    {"resolver": run_resolver, "injector": run_injector, "proxy": run_proxy, "relay": run_relay}[sys.argv[1]](st)
