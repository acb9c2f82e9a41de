// Packet analysis on pcap files built here: each interference as a capture would hold it, written with
// write_pcap, read back with read_pcap and analysed; and the clean look-alikes that must give nothing.
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "packets/analyze.hpp"
#include "packets/evidence.hpp"
#include "tests/packets/packet_builder.hpp"

using namespace kuzet::packets;
using namespace kuzet::packets::testing;

namespace {

const std::string kClient = "10.0.0.2", kServer = "203.0.113.5", kResolver = "198.51.100.53";
constexpr uint16_t kCport = 40000, kSport = 443;
constexpr uint32_t kCisn = 1000, kSisn = 5000000;

// Through the file format and back, as the probe and an expert's Wireshark would see it.
std::vector<PacketFinding> analyse(const Capture& c) {
  const std::string bytes = write_pcap(c.file);
  auto read = read_pcap(bytes);
  REQUIRE(read.error == "");
  REQUIRE(read.file.frames.size() == c.file.frames.size());
  return analyze_packets(decode_all(read.file));
}

bool has(const std::vector<std::string>& v, std::string_view s) { return std::find(v.begin(), v.end(), s) != v.end(); }

struct Conn {
  Capture& c;
  uint8_t server_ttl = 57;
  uint16_t server_id = 31000;
  uint32_t server_seq = kSisn + 1, client_seq = kCisn + 1;
  void handshake(double t) {
    c.tcp_packet(t, {kClient, kServer, 64, 100}, {kCport, kSport, kCisn, 0, kTcpSyn, 64240, 7});
    c.tcp_packet(t + 20, {kServer, kClient, server_ttl, 0}, {kSport, kCport, kSisn, kCisn + 1, kTcpSyn | kTcpAck, 65160, 7});
    c.tcp_packet(t + 20.1, {kClient, kServer, 64, 101}, {kCport, kSport, client_seq, server_seq, kTcpAck});
  }
  void client_data(double t, const std::string& data, bool retransmit = false) {
    const uint32_t seq = retransmit ? client_seq - static_cast<uint32_t>(data.size()) : client_seq;
    c.tcp_packet(t, {kClient, kServer, 64, 102}, {kCport, kSport, seq, server_seq, kTcpAck | kTcpPsh, 502, -1, -1, 0, data});
    if (!retransmit) client_seq += static_cast<uint32_t>(data.size());
  }
  void server_data(double t, uint32_t len, uint8_t flags = kTcpAck) {
    c.tcp_packet(t, {kServer, kClient, server_ttl, server_id++},
                 {kSport, kCport, server_seq, client_seq, flags, 509, -1, -1, 0, std::string(len, 'd')});
    server_seq += len + ((flags & kTcpFin) ? 1 : 0);
  }
  void rst(double t, uint8_t ttl, uint16_t id, uint32_t seq) {
    c.tcp_packet(t, {kServer, kClient, ttl, id}, {kSport, kCport, seq, 0, kTcpRst});
  }
};

}  // namespace

TEST_CASE("pcap files: written and read back; broken files say what is wrong") {
  Capture c;
  c.udp_packet(0, {kClient, kResolver}, 5000, 53, dns(1, false, "example.org", 1));
  const std::string bytes = write_pcap(c.file);
  auto ok = read_pcap(bytes);
  CHECK(ok.error == "");
  CHECK(ok.file.linktype == kLinkRaw);
  CHECK(ok.file.frames.at(0).ts_us == c.file.frames[0].ts_us);
  auto pk = decode_all(ok.file);
  REQUIRE(pk.size() == 1);
  CHECK(pk[0].dns->qname == "example.org");
  CHECK(pk[0].sport == 5000);

  CHECK(read_pcap(bytes.substr(0, 10)).error.find("24-byte header") != std::string::npos);
  auto cut = read_pcap(bytes.substr(0, bytes.size() - 3));
  CHECK(cut.error == "pcap: truncated frame");
  CHECK(cut.file.frames.empty());
  CHECK(read_pcap(std::string(40, 'x')).error.find("bad magic") != std::string::npos);
  CHECK(read_pcap(bytes, PcapLimits{0, 1000}).error.find("more than 0 frames") != std::string::npos);
  CHECK(read_pcap(bytes, PcapLimits{10, 8}).error.find("exceeds the limit") != std::string::npos);

  // Big-endian with nanosecond timestamps (written by other tools).
  std::string be("\xa1\xb2\x3c\x4d\x00\x02\x00\x04", 8);
  be += std::string(8, '\0') + std::string("\x00\x00\xff\xff\x00\x00\x00\x65", 8);
  const std::string frame = c.file.frames[0].bytes;
  be += std::string("\x00\x00\x00\x02\x00\x00\x07\xd0", 8);  // 2 s + 2000 ns
  std::string len;
  put32(len, static_cast<uint32_t>(frame.size()));
  be += len + len + frame;
  auto r = read_pcap(be);
  CHECK(r.error == "");
  REQUIRE(r.file.frames.size() == 1);
  CHECK(r.file.frames[0].ts_us == 2000002);
  CHECK(decode_all(r.file).size() == 1);
}

TEST_CASE("decoder: truncated and foreign frames are skipped, never read past") {
  Capture c;
  c.tcp_packet(0, {kClient, kServer}, {kCport, kSport, 1, 0, kTcpSyn, 100, 7, 5, 0});
  const std::string full = c.file.frames[0].bytes;
  for (size_t n = 0; n < full.size(); ++n) {
    Frame f{0, static_cast<uint32_t>(full.size()), full.substr(0, n)};
    auto p = decode_frame(kLinkRaw, f);
    if (p) CHECK(n >= 40);  // IPv4 + TCP headers at least
  }
  auto p = decode_frame(kLinkRaw, c.file.frames[0]);
  REQUIRE(p);
  CHECK(p->window_scale == 7);
  CHECK(p->ts_val == 5u);
  CHECK(!decode_frame(999, c.file.frames[0]));
  // A snapped frame keeps the length on the wire.
  Capture d;
  d.tcp_packet(0, {kServer, kClient}, {kSport, kCport, 1, 1, kTcpAck, 100, -1, -1, 0, std::string(1400, 'x')});
  Frame snapped = d.file.frames[0];
  snapped.bytes.resize(96);
  auto s = decode_frame(kLinkRaw, snapped);
  REQUIRE(s);
  CHECK(s->payload_len == 1400);
  CHECK(s->payload.size() == 56);
}

TEST_CASE("rst_injection: a RST with its own TTL and IP ID, the server's answer arriving after it") {
  Capture c;
  Conn k{c};
  k.handshake(0);
  k.client_data(21, client_hello());
  k.rst(22, 64, 4242, k.server_seq);  // the box is closer than the server: it wins the race
  k.server_data(41, 1400);            // the server's ServerHello, still on its way
  k.server_data(41.1, 1400);
  auto f = analyse(c);
  REQUIRE(f.size() == 1);
  CHECK(f[0].kind == kind::rst_injection);
  CHECK(f[0].peer == "203.0.113.5:443");
  CHECK(has(f[0].signs, sign::ttl));
  CHECK(has(f[0].signs, sign::ip_id));
  CHECK(has(f[0].signs, sign::data_after_rst));
  CHECK(!has(f[0].signs, sign::seq_window));
  CHECK(f[0].rst_ttl == 64);
  CHECK(f[0].server_ttls == std::vector<int>{57});
  CHECK(f[0].packets_after_rst == 2);
  CHECK(f[0].t_ms == doctest::Approx(22));
  nlohmann::json j = f[0];
  CHECK(j["kind"] == "rst_injection");
  CHECK(j["rst_ip_id"] == 4242);
  CHECK(j.get<PacketFinding>().server_ip_ids == f[0].server_ip_ids);
}

TEST_CASE("rst_injection: an injector copying the server's TTL is still caught by IP ID and timing") {
  Capture c;
  Conn k{c};
  k.handshake(0);
  k.server_data(20.5, 0);  // a pure ACK of the handshake's last step, from the server's own counter
  k.client_data(21, client_hello());
  k.rst(22, 57, 9, k.server_seq);
  k.server_data(41, 1400);
  auto f = analyse(c);
  REQUIRE(f.size() == 1);
  CHECK(!has(f[0].signs, sign::ttl));
  CHECK(has(f[0].signs, sign::ip_id));
  CHECK(has(f[0].signs, sign::data_after_rst));

  SUBCASE("and a RST whose sequence number misses the window, with nothing else odd") {
    Capture d;
    Conn m{d};
    m.handshake(0);
    m.client_data(21, client_hello());
    m.server_data(40, 1400);
    m.rst(42, 57, m.server_id, m.server_seq + 10'000'000);
    auto g = analyse(d);
    REQUIRE(g.size() == 1);
    CHECK(g[0].signs == std::vector<std::string>{"seq_window"});
    CHECK(g[0].rst_seq_offset == 10'000'000);
  }
}

TEST_CASE("rst_injection: the server's own RSTs give nothing") {
  SUBCASE("abort mid-connection: same TTL, next IP ID, next sequence number, nothing after") {
    Capture c;
    Conn k{c};
    k.handshake(0);
    k.client_data(21, client_hello());
    k.server_data(40, 1400);
    k.server_data(40.1, 1400);
    k.rst(50, 57, k.server_id, k.server_seq);
    CHECK(analyse(c).empty());
  }
  SUBCASE("RST from the server's control socket (IP ID 0) after the close began") {
    Capture c;
    Conn k{c};
    k.handshake(0);
    k.client_data(21, "GET / HTTP/1.1\r\n\r\n");
    k.server_data(40, 500, kTcpAck | kTcpFin);
    k.client_data(41, "late");
    k.rst(60, 57, 0, k.server_seq);
    CHECK(analyse(c).empty());
  }
  SUBCASE("a refused connection: RST to the SYN, no server packet to compare with") {
    Capture c;
    c.tcp_packet(0, {kClient, kServer}, {kCport, kSport, kCisn, 0, kTcpSyn, 64240, 7});
    c.tcp_packet(1, {kServer, kClient, 64, 0}, {kSport, kCport, 0, kCisn + 1, kTcpRst | kTcpAck});
    CHECK(analyse(c).empty());
  }
}

TEST_CASE("dns_injection: two different replies to one query; the odd one named by TTL and IP ID") {
  Capture c;
  c.udp_packet(0, {kClient, kResolver, 64, 7}, 5353, 53, dns(0x4d2, false, "web.example.org", 1));
  c.udp_packet(1, {kClient, kResolver, 64, 8}, 5354, 53, dns(0x4d3, false, "web.example.org", 28));
  c.udp_packet(4, {kResolver, kClient, 52, 0x1234}, 53, 5353, dns(0x4d2, true, "web.example.org", 1, {"31.13.72.9"}));
  c.udp_packet(40, {kResolver, kClient, 58, 0}, 53, 5354, dns(0x4d3, true, "web.example.org", 28));
  c.udp_packet(305, {kResolver, kClient, 58, 0}, 53, 5353, dns(0x4d2, true, "web.example.org", 1, {"203.0.113.5"}));
  auto f = analyse(c);
  REQUIRE(f.size() == 1);
  CHECK(f[0].kind == kind::dns_injection);
  CHECK(f[0].peer == "198.51.100.53:53");
  CHECK(f[0].query_name == "web.example.org");
  CHECK(f[0].query_type == "A");
  CHECK(f[0].injected_answers == std::vector<std::string>{"A 31.13.72.9"});
  CHECK(f[0].genuine_answers == std::vector<std::string>{"A 203.0.113.5"});
  CHECK(f[0].injected_ttl == 52);
  CHECK(f[0].genuine_ttl == 58);
  CHECK(f[0].injected_ip_id == 0x1234);
  CHECK(f[0].gap_ms == doctest::Approx(301));
  CHECK(f[0].signs == std::vector<std::string>{"answers_differ", "ttl", "ip_id"});

  SUBCASE("an injector that copies the TTL and arrives second is still named by its IP ID") {
    Capture d;
    d.udp_packet(0, {kClient, kResolver}, 6000, 53, dns(9, false, "a.example", 1));
    d.udp_packet(1, {kClient, kResolver}, 6001, 53, dns(10, false, "b.example", 1));
    d.udp_packet(2, {kResolver, kClient, 58, 0}, 53, 6001, dns(10, true, "b.example", 1, {"192.0.2.2"}));
    d.udp_packet(3, {kResolver, kClient, 58, 0}, 53, 6000, dns(9, true, "a.example", 1, {"192.0.2.1"}));
    d.udp_packet(9, {kResolver, kClient, 58, 777}, 53, 6000, dns(9, true, "a.example", 1, {"10.1.1.1"}));
    auto g = analyse(d);
    REQUIRE(g.size() == 1);
    CHECK(g[0].injected_answers == std::vector<std::string>{"A 10.1.1.1"});
    CHECK(g[0].signs == std::vector<std::string>{"answers_differ", "ip_id"});
  }
}

TEST_CASE("dns_injection: alike replies (a retried query) and lone replies give nothing") {
  Capture c;
  c.udp_packet(0, {kClient, kResolver}, 7000, 53, dns(5, false, "x.example", 1));
  c.udp_packet(3, {kResolver, kClient, 58, 0}, 53, 7000, dns(5, true, "x.example", 1, {"192.0.2.7"}));
  c.udp_packet(9, {kResolver, kClient, 58, 0}, 53, 7000, dns(5, true, "x.example", 1, {"192.0.2.7"}));
  c.udp_packet(10, {kClient, kResolver}, 7001, 53, dns(6, false, "gone.example", 1));
  c.udp_packet(12, {kResolver, kClient, 58, 0}, 53, 7001, dns(6, true, "gone.example", 1, {}, 3));
  // A reply to a question never asked (spoofed at random) is no evidence about our queries.
  c.udp_packet(13, {kResolver, kClient, 50, 1}, 53, 7001, dns(99, true, "gone.example", 1, {"10.9.9.9"}));
  CHECK(analyse(c).empty());
}

TEST_CASE("silent_drop: the ClientHello sent and resent, nothing back after the SYN-ACK") {
  Capture c;
  Conn k{c};
  k.handshake(0);
  k.client_data(21, client_hello());
  k.client_data(250, client_hello(), true);
  k.client_data(700, client_hello(), true);
  c.tcp_packet(4000, {kClient, kServer, 64, 110}, {kCport, kSport, k.client_seq, k.server_seq, kTcpFin | kTcpAck});
  auto f = analyse(c);
  REQUIRE(f.size() == 1);
  CHECK(f[0].kind == kind::silent_drop);
  CHECK(f[0].trigger == "tls_client_hello");
  CHECK(f[0].retransmissions == 2);
  CHECK(f[0].silence_ms == doctest::Approx(3979));

  SUBCASE("a slow server acknowledges the request: not silence") {
    Capture d;
    Conn m{d};
    m.handshake(0);
    m.client_data(21, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    m.client_data(250, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true);
    m.server_data(300, 0);
    CHECK(analyse(d).empty());
  }
  SUBCASE("no SYN-ACK (a blackholed SYN) is not this finding") {
    Capture d;
    d.tcp_packet(0, {kClient, kServer}, {kCport, kSport, kCisn, 0, kTcpSyn, 64240, 7});
    d.tcp_packet(1000, {kClient, kServer}, {kCport, kSport, kCisn, 0, kTcpSyn, 64240, 7});
    CHECK(analyse(d).empty());
  }
}

namespace {

// A download of `seconds` at `rate_bps`: the server sends 1400-byte segments paced at the delivered rate;
// every `loss_every_ms` one segment is lost (a hole, filled one round trip later). `rtt_at(t)` is the path's
// round-trip time at t (ms): constant for a policer, growing until the loss for a full queue.
template <typename Rtt>
Capture download(double seconds, double rate_bps, double loss_every_ms, Rtt rtt_at) {
  Capture c;
  Conn k{c};
  k.handshake(0);
  k.client_data(21, client_hello());
  const double gap_ms = 1400 * 8 / rate_bps * 1000;
  double next_loss = 500;
  uint32_t ts = 1;
  std::vector<std::pair<double, uint32_t>> acks;  // client ACKs with their timestamps
  // The first data arrives a round trip after the request, so every echoed timestamp was really sent.
  const double start = 40 + rtt_at(40);
  for (double t = start; t < start + seconds * 1000; t += gap_ms) {
    const double rtt = rtt_at(t);
    const uint32_t echoed = static_cast<uint32_t>(std::max(1.0, t - rtt));  // the client's clock is ms
    if (t >= next_loss) {
      next_loss += loss_every_ms;
      const uint32_t lost = k.server_seq;
      k.server_seq += 1400;  // dropped before us: the next segment opens a hole
      k.c.tcp_packet(t + rtt, {kServer, kClient, 57, k.server_id++},
                     {kSport, kCport, lost, k.client_seq, kTcpAck, 509, -1, 9, echoed, std::string(1400, 'r')});
    }
    k.c.tcp_packet(t, {kServer, kClient, 57, k.server_id++},
                   {kSport, kCport, k.server_seq, k.client_seq, kTcpAck, 509, -1, 9, echoed, std::string(1400, 'd')});
    k.server_seq += 1400;
    if (ts < static_cast<uint32_t>(t)) {
      ts = static_cast<uint32_t>(t);
      k.c.tcp_packet(t + 0.01, {kClient, kServer, 64, 200}, {kCport, kSport, k.client_seq, k.server_seq, kTcpAck, 502, -1, ts, 9});
    }
  }
  // The client's clock: one ACK per millisecond covers every echoed value.
  for (uint32_t v = 1; v < static_cast<uint32_t>(start + seconds * 1000); ++v)
    k.c.tcp_packet(v, {kClient, kServer, 64, 201}, {kCport, kSport, k.client_seq, 0, kTcpAck, 502, -1, v, 0});
  return c;
}

}  // namespace

TEST_CASE("policer: flat rate, regular losses, no queueing delay before them") {
  auto c = download(8, 150000, 700, [](double) { return 20.0; });
  auto f = analyse(c);
  REQUIRE(f.size() == 1);
  CHECK(f[0].kind == kind::policer);
  CHECK(f[0].rate_bps == doctest::Approx(150000).epsilon(0.15));
  CHECK(f[0].loss_events >= 8);
  CHECK(f[0].loss_interval_ms == doctest::Approx(700).epsilon(0.05));
  CHECK(f[0].rtt_base_ms == doctest::Approx(20).epsilon(0.1));
  CHECK(f[0].signs == std::vector<std::string>{"flat_rate", "regular_losses", "no_queueing"});
}

TEST_CASE("policer: a slow link's full queue (delay growing before each loss) gives nothing") {
  // tbf-like bottleneck: the same flat rate and periodic losses, but the queue fills before it drops.
  auto c = download(8, 1000000, 700, [](double t) {
    const double phase = std::fmod(t - 500, 700) / 700;
    return 20.0 + 380.0 * (phase < 0 ? 0 : phase);
  });
  CHECK(analyse(c).empty());
  // Fast and clean: no losses at all.
  CHECK(analyse(download(4, 5000000, 1e9, [](double) { return 20.0; })).empty());
}

TEST_CASE("policer: a slow link shared by other transfers (a queue that never empties) gives nothing") {
  // The handshake crossed the idle link in 20 ms; then the transfers together keep the queue between 350 and
  // 520 ms, each of this flow's losses coming at the top of it. Against its own lowest sample (350 ms) the
  // delay before a loss looks small; against the handshake it is the queue it is.
  auto c = download(8, 250000, 1000, [](double t) {
    const double phase = std::fmod(t - 500, 1000) / 1000;
    return 350.0 + 170.0 * (phase < 0 ? 0 : phase);
  });
  CHECK(analyse(c).empty());
}

namespace {

// A flight of `burst` segments every `period_ms` with nothing between: what a receiver sees when a policer
// drops the whole tail of each flight and the sender recovers by its retransmission timeout (no hole ever
// opens). With `spread`, the same segments come evenly spaced instead (a pacing shaper: no stalls).
Capture bursts(double seconds, int burst, double period_ms, bool spread) {
  Capture c;
  Conn k{c};
  k.handshake(0);
  k.client_data(21, client_hello());
  uint32_t clock = 1;
  for (double t = 60; t < 60 + seconds * 1000; t += period_ms) {
    for (int i = 0; i < burst; ++i) {
      // Within a flight each segment answers the ACK of the one before (1 ms round trip).
      const double at = spread ? t + i * period_ms / burst : t + i * 1.0;
      k.c.tcp_packet(at, {kServer, kClient, 57, k.server_id++},
                     {kSport, kCport, k.server_seq, k.client_seq, kTcpAck, 509, -1, 9, clock, std::string(1400, 'd')});
      k.server_seq += 1400;
      ++clock;  // the client's ACK right after, echoed by the next segment
      k.c.tcp_packet(at + 0.2, {kClient, kServer, 64, 200}, {kCport, kSport, k.client_seq, k.server_seq, kTcpAck, 502, -1, clock, 9});
    }
  }
  return c;
}

}  // namespace

TEST_CASE("policer: tail drops recovered by timeouts (stalls, no holes) are its losses too") {
  auto f = analyse(bursts(6, 3, 208, false));
  REQUIRE(f.size() == 1);
  CHECK(f[0].kind == kind::policer);
  CHECK(f[0].loss_interval_ms == doctest::Approx(208).epsilon(0.05));
  CHECK(f[0].rate_bps == doctest::Approx(3 * 1400 * 8 / 0.208).epsilon(0.1));
  // The same rate, evenly paced (a shaper that queues instead of dropping): no losses at all.
  CHECK(analyse(bursts(6, 3, 208, true)).empty());
}

TEST_CASE("locate_hop: the first TTL at which the interference answers") {
  // Expired below the box (timeouts), reset from hop 3 on.
  CHECK(locate_hop({"tls.timeout", "tls.timeout", "tls.reset"}, "tls.reset") == 3);
  CHECK(locate_hop({"tls.reset"}, "tls.reset") == 1);
  // The server answered first: nothing between us interferes with this trigger.
  CHECK(locate_hop({"tls.timeout", "", "tls.reset"}, "tls.reset") == 0);
  CHECK(locate_hop({"tls.timeout", "tls.timeout"}, "tls.reset") == 0);
  CHECK(locate_hop({}, "tls.reset") == 0);
  PacketFinding f;
  f.kind = kind::hop;
  f.peer = "203.0.113.5:443";
  f.hop = 4;
  f.max_ttl = 4;
  f.trigger = "tls_client_hello";
  f.failure = "tls.reset";
  nlohmann::json j = f;
  CHECK(j["hop"] == 4);
  CHECK(!j.contains("rst_ttl"));
  const auto back = j.get<PacketFinding>();
  CHECK(back.hop == 4);
  CHECK(back.failure == "tls.reset");
}

TEST_CASE("evidence: a target's packets, and its pcap without the probe's own address or MAC") {
  Capture c;
  Conn k{c};
  k.handshake(0);
  k.client_data(21, client_hello());
  k.rst(22, 64, 4242, k.server_seq);
  k.server_data(41, 1400);
  c.udp_packet(50, {kClient, kResolver}, 5000, 53, dns(1, false, "web.example.org", 1));
  c.udp_packet(51, {kClient, kResolver}, 5001, 53, dns(2, false, "other.example", 1));
  c.tcp_packet(60, {kClient, "198.51.100.7"}, {41000, 443, 1, 0, kTcpSyn});  // another target's connection
  // As an Ethernet capture (the probe's real link type), with the probe's MAC in every frame.
  PcapFile eth{kLinkEthernet, 512, {}};
  for (auto f : c.file.frames) {
    f.bytes = std::string("\x02\x00\x00\x00\x00\x01\x02\xaa\xbb\xcc\xdd\xee\x08\x00", 14) + f.bytes;
    eth.frames.push_back(f);
  }
  std::vector<std::optional<Packet>> decoded;
  for (const auto& f : eth.frames) decoded.push_back(decode_frame(eth.linktype, f));
  TargetTraffic t{"web.example.org", {kServer}, {443}};
  const auto mine = packets_of(decoded, t, 100);
  CHECK(mine == std::vector<size_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(packets_of(decoded, t, 2).size() == 2);

  const std::string pcap = evidence_pcap(eth, mine, {kClient}, 64 * 1024);
  auto back = read_pcap(pcap);
  REQUIRE(back.error == "");
  REQUIRE(back.file.frames.size() == 7);
  CHECK(pcap.find(std::string("\x0a\x00\x00\x02", 4)) == std::string::npos);  // 10.0.0.2
  CHECK(pcap.find(std::string("\xaa\xbb\xcc\xdd\xee", 5)) == std::string::npos);
  CHECK(pcap.find(std::string("\xc0\x00\x02\x01", 4)) != std::string::npos);  // 192.0.2.1 instead
  // The anonymised packets still show the finding.
  auto f = analyze_packets(decode_all(back.file));
  REQUIRE(f.size() == 1);
  CHECK(f[0].kind == kind::rst_injection);
  // Bounded: frames that do not fit are left out; nothing fits, nothing is returned.
  CHECK(read_pcap(evidence_pcap(eth, mine, {kClient}, 24 + 16 + 80)).file.frames.size() == 1);
  CHECK(evidence_pcap(eth, mine, {kClient}, 30).empty());
}
