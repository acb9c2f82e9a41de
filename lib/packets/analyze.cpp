#include "packets/analyze.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace kuzet::packets {
namespace {

// Tolerance of an IP ID counter between two packets of one sender: packets we did not see (other
// connections of a global counter, our missed packets) advance it too.
constexpr int kIdCounterSlack = 2048;

std::string endpoint(const std::string& addr, uint16_t port) {
  return (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" + std::to_string(port);
}

int32_t seq_diff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }

int id_distance(int a, int b) {
  const int d = std::abs(a - b);
  return std::min(d, 65536 - d);
}

double ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double variation(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  if (mean <= 0) return 0;
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  return std::sqrt(var / static_cast<double>(v.size())) / mean;
}

struct Flow {
  std::string client, server;
  uint16_t cport = 0, sport = 0;
  std::vector<const Packet*> packets;
  bool from_server(const Packet& p) const { return p.src == server && p.sport == sport; }
};

// TCP connections, each from its client's SYN; packets of a 4-tuple before any SYN are left out.
std::vector<Flow> tcp_flows(const std::vector<Packet>& sorted) {
  std::vector<Flow> flows;
  std::map<std::tuple<std::string, uint16_t, std::string, uint16_t>, size_t> open;
  for (const auto& p : sorted) {
    if (p.protocol != 6) continue;
    const bool syn_only = (p.flags & kTcpSyn) && !(p.flags & kTcpAck);
    auto key = std::make_tuple(p.src, p.sport, p.dst, p.dport);
    if (syn_only) {
      auto it = open.find(key);
      // A retransmitted SYN belongs to the same connection (same initial sequence number).
      if (it == open.end() || flows[it->second].packets.front()->seq != p.seq) {
        Flow f{p.src, p.dst, p.sport, p.dport, {}};
        flows.push_back(std::move(f));
        open[key] = flows.size() - 1;
      }
      flows[open[key]].packets.push_back(&p);
      continue;
    }
    auto it = open.find(key);
    if (it == open.end()) it = open.find(std::make_tuple(p.dst, p.dport, p.src, p.sport));
    if (it != open.end()) flows[it->second].packets.push_back(&p);
  }
  return flows;
}

std::optional<PacketFinding> rst_injection(const Flow& flow) {
  const Packet* synack = nullptr;
  for (const Packet* p : flow.packets)
    if (flow.from_server(*p) && (p->flags & kTcpSyn) && (p->flags & kTcpAck)) {
      synack = p;
      break;
    }
  if (!synack) return std::nullopt;  // the server never answered: nothing of its own to compare with
  std::optional<uint8_t> client_scale;
  // RFC 7323: a shift above 14 is treated as 14 (a hostile SYN may say anything up to 255).
  if (flow.packets.front()->window_scale && synack->window_scale)
    client_scale = std::min<uint8_t>(*flow.packets.front()->window_scale, 14);

  uint32_t server_next = synack->seq + 1;
  uint32_t client_window = 0;
  bool closing = false;
  for (size_t i = 0; i < flow.packets.size(); ++i) {
    const Packet& p = *flow.packets[i];
    if (!flow.from_server(p)) {
      if (p.flags & (kTcpFin | kTcpRst)) closing = true;
      client_window = static_cast<uint32_t>(p.window) << (p.flags & kTcpSyn ? 0 : client_scale.value_or(0));
      continue;
    }
    if (!(p.flags & kTcpRst)) {
      const uint32_t end = p.seq + p.payload_len + ((p.flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
      if (seq_diff(end, server_next) > 0) server_next = end;
      if (p.flags & kTcpFin) closing = true;
      continue;
    }
    if (closing) return std::nullopt;  // a RST after either side began to close is ordinary teardown
    PacketFinding f;
    f.kind = kind::rst_injection;
    f.peer = endpoint(flow.server, flow.sport);
    f.t_ms = ms(p.ts_us - flow.packets.front()->ts_us);
    f.rst_ttl = p.ttl;
    f.rst_ip_id = p.ip_version == 4 ? p.ip_id : -1;
    std::set<int> ttls;
    std::vector<int> ids;
    for (size_t k = 0; k < flow.packets.size(); ++k) {
      const Packet& q = *flow.packets[k];
      if (!flow.from_server(q)) continue;
      if (q.flags & kTcpRst) {
        ++f.rst_count;
        continue;
      }
      ttls.insert(q.ttl);
      if (q.ip_version == 4 && !(q.flags & kTcpSyn)) ids.push_back(q.ip_id);
      if (k > i) ++f.packets_after_rst;
    }
    f.server_ttls.assign(ttls.begin(), ttls.end());
    if (!ttls.count(p.ttl)) f.signs.emplace_back(sign::ttl);
    if (f.rst_ip_id >= 0) {
      // The SYN-ACK often carries ID 0 whatever the stack does later: judged on the other packets.
      if (ip_id_fits(ids, p.ip_id) == 0) f.signs.emplace_back(sign::ip_id);
      f.server_ip_ids.assign(ids.begin(), ids.begin() + std::min<size_t>(ids.size(), 8));
    }
    if (f.packets_after_rst > 0) f.signs.emplace_back(sign::data_after_rst);
    f.rst_seq_offset = seq_diff(p.seq, server_next);
    if (f.rst_seq_offset < 0 || f.rst_seq_offset > static_cast<long long>(std::max<uint32_t>(client_window, 1)))
      f.signs.emplace_back(sign::seq_window);
    if (f.signs.empty()) return std::nullopt;  // looks like the server's own RST
    return f;
  }
  return std::nullopt;
}

std::string trigger_of(const std::string& payload) {
  if (payload.size() >= 6 && payload[0] == 0x16 && payload[1] == 0x03 && payload[5] == 0x01) return "tls_client_hello";
  for (const char* m : {"GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT "})
    if (payload.rfind(m, 0) == 0) return "http_request";
  return "data";
}

std::optional<PacketFinding> silent_drop(const Flow& flow) {
  const Packet* first_data = nullptr;
  bool synack = false;
  uint32_t sent_end = 0;
  int retransmissions = 0;
  int64_t last_ts = 0;
  for (const Packet* p : flow.packets) {
    if (flow.from_server(*p)) {
      if (!first_data) {
        if ((p->flags & kTcpSyn) && (p->flags & kTcpAck)) synack = true;
        continue;
      }
      return std::nullopt;  // something came back after the request: not silence
    }
    last_ts = p->ts_us;
    if (p->payload_len == 0) continue;
    const uint32_t end = p->seq + p->payload_len;
    if (!first_data) {
      if (!synack) return std::nullopt;
      first_data = p;
      sent_end = end;
      continue;
    }
    if (seq_diff(end, sent_end) <= 0) ++retransmissions;
    else sent_end = end;
  }
  if (!first_data || retransmissions == 0) return std::nullopt;
  PacketFinding f;
  f.kind = kind::silent_drop;
  f.peer = endpoint(flow.server, flow.sport);
  f.signs = {std::string(sign::retransmitted)};
  f.t_ms = ms(first_data->ts_us - flow.packets.front()->ts_us);
  f.trigger = trigger_of(first_data->payload);
  f.retransmissions = retransmissions;
  f.silence_ms = ms(last_ts - first_data->ts_us);
  return f;
}

// The handshake's round trip (SYN to SYN-ACK): the path's delay before this flow's own data could fill any
// queue. None when the SYN was sent more than once (Karn: which one was answered is unknown).
std::optional<double> handshake_rtt(const Flow& flow) {
  const Packet* syn = nullptr;
  int syns = 0;
  for (const Packet* p : flow.packets) {
    if (!(p->flags & kTcpSyn)) continue;
    if (!flow.from_server(*p)) {
      if (!(p->flags & kTcpAck)) syn = p, ++syns;
      continue;
    }
    if ((p->flags & kTcpAck) && syn && syns == 1 && p->ts_us >= syn->ts_us) return ms(p->ts_us - syn->ts_us);
    return std::nullopt;
  }
  return std::nullopt;
}

std::optional<PacketFinding> policer(const Flow& flow) {
  constexpr size_t kMinPackets = 30;
  constexpr int64_t kMinSpanUs = 2000000;
  std::vector<const Packet*> data;
  std::map<uint32_t, int64_t> tsval_sent;  // the client's timestamp value -> when it first left
  for (const Packet* p : flow.packets) {
    if (flow.from_server(*p)) {
      if (p->payload_len > 0) data.push_back(p);
    } else if (p->ts_val) {
      tsval_sent.emplace(*p->ts_val, p->ts_us);
    }
  }
  if (data.size() < kMinPackets || data.back()->ts_us - data.front()->ts_us < kMinSpanUs) return std::nullopt;

  // Round-trip samples: a server packet echoing our timestamp, against when we sent that timestamp.
  std::vector<std::pair<size_t, double>> samples;  // index into data, RTT
  for (size_t i = 0; i < data.size(); ++i)
    if (data[i]->ts_ecr)
      if (auto it = tsval_sent.find(*data[i]->ts_ecr); it != tsval_sent.end() && data[i]->ts_us >= it->second)
        samples.emplace_back(i, ms(data[i]->ts_us - it->second));
  if (samples.size() < kMinPackets / 2) return std::nullopt;  // no timestamps: queueing cannot be told apart
  // The path's own delay. A link whose queue never empties (a slow link shared by several transfers) keeps
  // every sample of the transfer high, so the handshake, taken before this flow loaded it, counts too.
  double base = samples.front().second;
  for (const auto& r : samples) base = std::min(base, r.second);
  if (const auto handshake = handshake_rtt(flow)) base = std::min(base, *handshake);

  // Loss events. A hole opening in the sequence: a segment was dropped before us. Or a stall: when a policer
  // drops the whole tail of a flight nothing comes after it, and the sender resends only after its
  // retransmission timeout (at least 200 ms on Linux, 1 s by RFC 6298): a pause far longer than both the
  // round trip and the transfer's usual spacing. Events closer together than a round trip count once.
  std::vector<double> gaps;
  for (size_t i = 1; i < data.size(); ++i) gaps.push_back(ms(data[i]->ts_us - data[i - 1]->ts_us));
  const double usual_gap = median(gaps);
  const double stall_ms = std::max({200.0, 3 * base, 4 * usual_gap});
  uint32_t highest = data.front()->seq;
  std::vector<int64_t> losses;
  std::vector<bool> opens_loss(data.size(), false);
  std::vector<std::pair<int64_t, uint32_t>> delivered;  // time, new bytes
  const int64_t merge_us = std::max<int64_t>(50000, static_cast<int64_t>(base * 2000));
  for (size_t i = 0; i < data.size(); ++i) {
    const Packet* p = data[i];
    const uint32_t end = p->seq + p->payload_len;
    const bool hole = seq_diff(p->seq, highest) > 0;
    const bool stall = i > 0 && gaps[i - 1] >= stall_ms;
    if (hole || stall) {
      opens_loss[i] = true;
      if (losses.empty() || p->ts_us - losses.back() > merge_us) losses.push_back(p->ts_us);
    }
    if (seq_diff(end, highest) > 0) {
      delivered.emplace_back(p->ts_us, static_cast<uint32_t>(seq_diff(end, highest)));
      highest = end;
    }
  }
  if (losses.size() < 3) return std::nullopt;
  // Karn: a packet that ends a loss may be a retransmission; its echo says nothing about the path's delay.
  std::vector<std::pair<int64_t, double>> rtts;
  for (const auto& [i, r] : samples)
    if (!opens_loss[i]) rtts.emplace_back(data[i]->ts_us, r);

  const int64_t from = losses.front(), to = data.back()->ts_us;
  // Windows long enough to hold several loss cycles, so a policer's sawtooth averages out.
  const int64_t window = std::max<int64_t>(1000000, (to - from) / 10);
  std::vector<double> rates;
  uint64_t total = 0;
  for (int64_t w = from; w + window <= to; w += window) {
    uint64_t bytes = 0;
    for (const auto& [t, b] : delivered)
      if (t >= w && t < w + window) bytes += b;
    rates.push_back(static_cast<double>(bytes) * 8e6 / static_cast<double>(window));
  }
  for (const auto& [t, b] : delivered)
    if (t >= from) total += b;
  if (rates.size() < 3) return std::nullopt;
  std::vector<double> intervals;
  for (size_t i = 1; i < losses.size(); ++i) intervals.push_back(ms(losses[i] - losses[i - 1]));
  // How long the path held packets just before each loss: a full queue adds delay, a policer does not.
  std::vector<double> at_loss;
  for (int64_t l : losses) {
    std::vector<double> before;
    for (const auto& [t, r] : rtts)
      if (t < l && t >= l - 500000) before.push_back(r);
    if (!before.empty()) at_loss.push_back(median(before));
  }
  PacketFinding f;
  f.kind = kind::policer;
  f.peer = endpoint(flow.server, flow.sport);
  f.t_ms = ms(from - flow.packets.front()->ts_us);
  f.rate_bps = static_cast<double>(total) * 8e6 / static_cast<double>(std::max<int64_t>(1, to - from));
  f.rate_variation = variation(rates);
  f.loss_events = static_cast<int>(losses.size());
  f.loss_interval_ms = median(intervals);
  f.rtt_base_ms = base;
  f.rtt_at_loss_ms = median(at_loss);
  if (f.rate_variation < 0.35) f.signs.emplace_back(sign::flat_rate);
  if (variation(intervals) < 0.6) f.signs.emplace_back(sign::regular_losses);
  if (!at_loss.empty() && f.rtt_at_loss_ms - base < 25 + 0.5 * base) f.signs.emplace_back(sign::no_queueing);
  if (f.signs.size() < 3) return std::nullopt;  // all three or it is not a policer's mark
  return f;
}

std::string answer_text(const DnsRecord& r) { return r.type + " " + r.value; }

std::vector<std::string> answer_set(const DnsMessage& m) {
  std::vector<std::string> out;
  if (m.rcode != 0) out.push_back(m.rcode == 3 ? "NXDOMAIN" : "RCODE" + std::to_string(m.rcode));
  for (const auto& r : m.answers) out.push_back(answer_text(r));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string qtype_name(uint16_t t) { return t == 1 ? "A" : t == 28 ? "AAAA" : "TYPE" + std::to_string(t); }

}  // namespace

int ip_id_fits(const std::vector<int>& ids, int id) {
  if (ids.empty()) return -1;
  if (std::all_of(ids.begin(), ids.end(), [](int v) { return v == 0; })) return ids.size() >= 2 ? id == 0 : -1;
  std::vector<int> nonzero;
  for (int v : ids)
    if (v != 0) nonzero.push_back(v);
  if (nonzero.size() < 2) return -1;
  for (size_t i = 1; i < nonzero.size(); ++i)
    if (id_distance(nonzero[i], nonzero[i - 1]) > kIdCounterSlack) return -1;  // no counter: random IDs
  if (id == 0) return 1;  // a stack's control socket (RSTs for closed connections) sends ID 0
  for (int v : nonzero)
    if (id_distance(v, id) <= kIdCounterSlack) return 1;
  return 0;
}

std::vector<PacketFinding> find_tcp_findings(const std::vector<Packet>& sorted) {
  std::vector<PacketFinding> out;
  for (const auto& flow : tcp_flows(sorted)) {
    if (auto f = rst_injection(flow)) out.push_back(std::move(*f));
    if (auto f = silent_drop(flow)) out.push_back(std::move(*f));
    if (auto f = policer(flow)) out.push_back(std::move(*f));
  }
  return out;
}

std::vector<PacketFinding> find_dns_injection(const std::vector<Packet>& sorted) {
  struct Query {
    const Packet* sent;
    std::vector<const Packet*> replies;
  };
  std::map<std::tuple<std::string, uint16_t, std::string, uint16_t, uint16_t, std::string, uint16_t>, Query> queries;
  std::map<std::string, std::vector<const Packet*>> by_resolver;  // every reply of each resolver
  for (const auto& p : sorted) {
    if (p.protocol != 17 || !p.dns) continue;
    const auto& m = *p.dns;
    if (!m.response) {
      queries.try_emplace(std::make_tuple(p.src, p.sport, p.dst, p.dport, m.id, m.qname, m.qtype), Query{&p, {}});
      continue;
    }
    auto it = queries.find(std::make_tuple(p.dst, p.dport, p.src, p.sport, m.id, m.qname, m.qtype));
    if (it == queries.end()) continue;
    it->second.replies.push_back(&p);
    by_resolver[p.src].push_back(&p);
  }
  std::vector<PacketFinding> out;
  for (const auto& [key, q] : queries) {
    if (q.replies.size() < 2) continue;
    std::set<std::vector<std::string>> distinct;
    for (const Packet* r : q.replies) distinct.insert(answer_set(*r->dns));
    if (distinct.size() < 2) continue;  // a retried query answered twice alike
    // Which reply is not the resolver's: the one whose TTL or IP ID differs from the resolver's other
    // replies (other queries included); failing that, the first (an injector wins the race).
    const auto& all = by_resolver[q.replies.front()->src];
    auto odd = [&](const Packet* r) {
      std::map<int, int> ttl_count;
      std::vector<int> ids;
      for (const Packet* o : all)
        if (o != r) {
          ++ttl_count[o->ttl];
          if (o->ip_version == 4) ids.push_back(o->ip_id);
        }
      const bool ttl_odd = !ttl_count.empty() && !ttl_count.count(r->ttl);
      const bool id_odd = r->ip_version == 4 && ip_id_fits(ids, r->ip_id) == 0;
      return std::make_pair(ttl_odd, id_odd);
    };
    const Packet* injected = q.replies.front();
    for (const Packet* r : q.replies) {
      auto [t, i] = odd(r);
      if (t || i) {
        injected = r;
        break;
      }
    }
    const Packet* genuine = nullptr;
    for (const Packet* r : q.replies)
      if (answer_set(*r->dns) != answer_set(*injected->dns)) {
        genuine = r;
        break;
      }
    PacketFinding f;
    f.kind = kind::dns_injection;
    f.peer = endpoint(injected->src, injected->sport);
    f.signs = {std::string(sign::answers_differ)};
    f.t_ms = ms(injected->ts_us - q.sent->ts_us);
    f.query_name = injected->dns->qname;
    f.query_type = qtype_name(injected->dns->qtype);
    f.query_id = injected->dns->id;
    f.replies = static_cast<int>(q.replies.size());
    f.injected_answers = answer_set(*injected->dns);
    f.genuine_answers = answer_set(*genuine->dns);
    f.injected_ttl = injected->ttl;
    f.genuine_ttl = genuine->ttl;
    if (injected->ip_version == 4) {
      f.injected_ip_id = injected->ip_id;
      f.genuine_ip_id = genuine->ip_id;
    }
    auto [ttl_odd, id_odd] = odd(injected);
    if (ttl_odd) f.signs.emplace_back(sign::ttl);
    if (id_odd) f.signs.emplace_back(sign::ip_id);
    f.gap_ms = std::abs(ms(genuine->ts_us - injected->ts_us));
    out.push_back(std::move(f));
  }
  return out;
}

std::vector<PacketFinding> analyze_packets(std::vector<Packet> packets) {
  std::stable_sort(packets.begin(), packets.end(), [](const Packet& a, const Packet& b) { return a.ts_us < b.ts_us; });
  auto out = find_dns_injection(packets);
  auto tcp = find_tcp_findings(packets);
  out.insert(out.end(), std::make_move_iterator(tcp.begin()), std::make_move_iterator(tcp.end()));
  return out;
}

}  // namespace kuzet::packets
