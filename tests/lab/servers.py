#!/usr/bin/python3
"""The lab's internet: an authoritative DNS server and the web servers (one address per site, plus the
ISP's blockpage server). Runs inside the "net" namespace; reads the run's state.json written by lab.py.

  servers.py dns STATE.json     authoritative for every lab name; anything else is NXDOMAIN
  servers.py web STATE.json     sites on :80 and :443 of their own address, the blockpage server
"""
import http.server
import ipaddress
import json
import socketserver
import ssl
import sys
import threading
import time

BLOCKPAGE_TITLE = "Доступ к интернет-ресурсу ограничен"  # must match blockpage.html

CHALLENGE_HTML = (
    "<!DOCTYPE html><html lang=\"en-US\"><head><title>Just a moment...</title>"
    "<meta http-equiv=\"refresh\" content=\"360\"></head><body><div class=\"main-wrapper\">"
    "<h1>Checking if the site connection is secure</h1><p>Enable JavaScript and cookies to continue</p>"
    "<script src=\"/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1\"></script></div></body></html>"
).encode()

BIG_SIZE = 1024 * 1024


def page_html(name, title, kib=None):
    # A realistic-sized page (~120 KB by default; `page_kib` in world.yaml for a small one): deterministic
    # text so repeated fetches are byte-identical.
    count = 270 if not kib else max(1, kib * 1024 // 440)
    items = "".join(
        f"<article><h2>{name} story {i}</h2><p>{'Lorem ipsum dolor sit amet, consectetur adipiscing elit. ' * 6}"
        f"</p><a href=\"/news/{i}\">read more</a></article>\n" for i in range(count))
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
            f"<link rel=\"stylesheet\" href=\"/static/site.css\"></head><body><header><h1>{title}</h1>"
            f"</header><main>{items}</main><footer>&copy; {name}</footer></body></html>").encode()


def big_body():
    block = bytes(range(256)) * 16
    return (block * (BIG_SIZE // len(block) + 1))[:BIG_SIZE]


BIG = big_body()


# ---------------------------------------------------------------------------------------------- DNS

def run_dns(state):
    from dnslib import AAAA, QTYPE, RCODE, RR, A
    from dnslib.server import BaseResolver, DNSLogger, DNSServer

    zone = {name.lower().rstrip("."): addrs for name, addrs in state["dns"]["zone"].items()}
    regional = {name.lower(): addrs for name, addrs in state["dns"].get("probe_region_zone", {}).items()}
    probe_network = ipaddress.ip_interface(state["world"]["network"]["probe"]).network
    delay = state["dns"].get("delay_ms", 0) / 1000.0

    class Authoritative(BaseResolver):
        def resolve(self, request, handler):
            reply = request.reply()
            reply.header.aa = 1
            qname = str(request.q.qname).lower().rstrip(".")
            if qname not in zone:
                reply.header.rcode = RCODE.NXDOMAIN
            else:
                client = ipaddress.ip_address(handler.client_address[0])
                addrs = regional[qname] if qname in regional and client in probe_network else zone[qname]
                for addr in addrs:
                    if request.q.qtype == QTYPE.A and ":" not in addr:
                        reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(addr), ttl=300))
                    elif request.q.qtype == QTYPE.AAAA and ":" in addr:
                        reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(addr), ttl=300))
            if delay:
                time.sleep(delay)  # a distant server: lets an on-path injector win the race
            return reply

    address = state["world"]["network"]["resolver"]
    quiet = DNSLogger(log="-request,-reply,-truncated")
    servers = [DNSServer(Authoritative(), port=53, address=address, tcp=tcp, logger=quiet) for tcp in (False, True)]
    for s in servers:
        s.start_thread()
    print(f"dns: authoritative on {address}:53 for {len(zone)} names", flush=True)
    while True:
        time.sleep(3600)


# ---------------------------------------------------------------------------------------------- web

class Site:
    def __init__(self, name, kind, title, page_kib=None, probe_region_answer="", links=None):
        self.name, self.kind, self.title = name, kind, title
        self.links = links or {}  # short_link: path -> the URL it redirects to
        self.page = page_html(name, title, page_kib) if kind == "page" else b""
        # What the site's own server answers clients in the probe's network (a server-side decision):
        # "challenge" (a CDN's 503 challenge page) or "broken_redirect" (a 302 whose Location is no URL).
        self.probe_region_answer = probe_region_answer


def make_handler(site, blockpage_html, probe_network=None):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "nginx"
        sys_version = ""

        def log_message(self, fmt, *args):
            pass

        def send_body(self, status, body, ctype, extra=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

        def do_GET(self):
            if site.kind == "blockpage":
                return self.send_body(200, blockpage_html, "text/html; charset=utf-8")
            if site.kind == "challenge":
                return self.send_body(403, CHALLENGE_HTML, "text/html; charset=UTF-8",
                                      [("Server", "cloudflare"), ("cf-mitigated", "challenge"),
                                       ("Cache-Control", "private, max-age=0, no-store")])
            if site.kind == "short_link":  # a URL shortener: /NAME answers 301 to its target, for everyone
                target = site.links.get(self.path.strip("/"))
                if target:
                    return self.send_body(301, b"", "text/html", [("Location", target)])
                return self.send_body(404, b"", "text/html")
            if site.kind == "redirects":  # misconfigured: every path redirects to the next one, for everyone
                tail = self.path.strip("/")
                n = int(tail[1:]) if tail.startswith("r") and tail[1:].isdigit() else 0
                return self.send_body(302, b"", "text/html", [("Location", f"/r{n + 1}")])
            here = probe_network is not None and ipaddress.ip_address(self.client_address[0]) in probe_network
            if here and site.probe_region_answer == "challenge":
                return self.send_body(503, CHALLENGE_HTML, "text/html; charset=UTF-8",
                                      [("Server", "cloudflare"), ("cf-mitigated", "challenge")])
            if here and site.probe_region_answer == "broken_redirect":
                return self.send_body(302, b"", "text/html", [("Location", "http://[::1/broken")])
            if self.path.startswith("/big"):
                return self.send_body(200, BIG, "application/octet-stream")
            if self.path in ("/", "/index.html") or self.path.startswith("/?"):
                return self.send_body(200, site.page, "text/html; charset=utf-8")
            return self.send_body(404, b"<html><head><title>404 Not Found</title></head></html>",
                                  "text/html")

        do_HEAD = do_GET

    return Handler


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, tls_context=None, delay_s=0.0):
        self.tls_context = tls_context
        self.delay_s = delay_s
        super().__init__(addr, handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the connection's own thread, so a stalled client blocks nobody.
        if self.delay_s:
            time.sleep(self.delay_s)  # a distant server: an on-path injector's packets arrive first
        if self.tls_context is not None:
            request.settimeout(30)
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError):
                return
        super().finish_request(request, client_address)


def tls_context(pki, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{pki}/sites/{name}.chain.pem", f"{pki}/sites/{name}.key.pem")
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def run_web(state):
    pki = state["pki"]
    world = state["world"]
    listeners = []
    sites = [(Site(s["name"], s["kind"], s.get("title", ""), s.get("page_kib"), s.get("probe_region_answer", ""),
                   s.get("links")), a)
             for s in world["sites"] if s["kind"] != "dns_only"
             for a in [s["address"]] + ([s["probe_region_address"]] if s.get("probe_region_address") else [])]
    probe_network = ipaddress.ip_interface(world["network"]["probe"]).network
    sites.append((Site(state["blockpage_name"], "blockpage", BLOCKPAGE_TITLE), world["network"]["blockpage"]))
    for site, address in sites:
        if site.kind == "down":
            continue  # nothing listens: the kernel answers SYNs with RST
        handler = make_handler(site, state["blockpage_html"].encode(), probe_network)
        delay = state.get("web", {}).get("delay_ms", 0) / 1000.0
        listeners.append(Server((address, 80), handler, delay_s=delay))
        listeners.append(Server((address, 443), handler, tls_context(pki, site.name), delay_s=delay))
    for s in listeners:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    print(f"web: {len(listeners)} listeners", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("dns", "web"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[2]) as f:
        st = json.load(f)
    {"dns": run_dns, "web": run_web}[sys.argv[1]](st)
