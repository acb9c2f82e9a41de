#include "packets/decode.hpp"

#include <arpa/inet.h>

#include "ascii/ascii.hpp"

namespace kuzet::packets {
namespace {

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t be32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 | p[3];
}

std::string address_text(int family, const uint8_t* p) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, p, buf, sizeof buf);
  return buf;
}

// A (possibly compressed) name at `at`; false on loops, overruns or over-long names.
bool read_name(const uint8_t* msg, size_t len, size_t& at, std::string& out) {
  size_t p = at;
  bool jumped = false;
  int hops = 0;
  out.clear();
  while (true) {
    if (p >= len) return false;
    const uint8_t l = msg[p];
    if ((l & 0xc0) == 0xc0) {
      if (p + 1 >= len || ++hops > 16) return false;
      if (!jumped) at = p + 2;
      jumped = true;
      p = static_cast<size_t>(l & 0x3f) << 8 | msg[p + 1];
      continue;
    }
    if (l & 0xc0) return false;
    if (l == 0) {
      if (!jumped) at = p + 1;
      return true;
    }
    if (p + 1 + l > len || out.size() + l + 1 > 255) return false;
    if (!out.empty()) out.push_back('.');
    for (size_t i = 0; i < l; ++i) out.push_back(ascii::lower(static_cast<char>(msg[p + 1 + i])));
    p += 1 + l;
  }
}

std::string type_name(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 5: return "CNAME";
    case 28: return "AAAA";
    default: return "TYPE" + std::to_string(t);
  }
}

bool decode_tcp(const uint8_t* p, size_t len, uint32_t wire_len, Packet& pk) {
  if (len < 20) return false;
  pk.sport = be16(p);
  pk.dport = be16(p + 2);
  pk.seq = be32(p + 4);
  pk.ack = be32(p + 8);
  const size_t off = static_cast<size_t>(p[12] >> 4) * 4;
  pk.flags = p[13];
  pk.window = be16(p + 14);
  if (off < 20 || off > len) return false;
  for (size_t o = 20; o < off;) {
    const uint8_t kind = p[o];
    if (kind == 0) break;
    if (kind == 1) {
      ++o;
      continue;
    }
    if (o + 1 >= off || p[o + 1] < 2 || o + p[o + 1] > off) break;
    if (kind == 3 && p[o + 1] == 3) pk.window_scale = p[o + 2];
    if (kind == 8 && p[o + 1] == 10) {
      pk.ts_val = be32(p + o + 2);
      pk.ts_ecr = be32(p + o + 6);
    }
    o += p[o + 1];
  }
  pk.payload_len = wire_len > off ? wire_len - static_cast<uint32_t>(off) : 0;
  pk.payload.assign(reinterpret_cast<const char*>(p + off), len - off);
  return true;
}

bool decode_udp(const uint8_t* p, size_t len, uint32_t wire_len, Packet& pk) {
  if (len < 8) return false;
  pk.sport = be16(p);
  pk.dport = be16(p + 2);
  pk.payload_len = wire_len > 8 ? wire_len - 8 : 0;
  pk.payload.assign(reinterpret_cast<const char*>(p + 8), len - 8);
  if (pk.sport == 53 || pk.dport == 53)
    pk.dns = parse_dns_message(reinterpret_cast<const uint8_t*>(pk.payload.data()), pk.payload.size());
  return true;
}

// False for what is not decoded: truncated headers, fragments, other protocols, IPv6 extension headers.
bool decode_ip(const uint8_t* p, size_t len, Packet& pk) {
  if (len < 1) return false;
  const int version = p[0] >> 4;
  size_t hdr = 0;
  uint32_t total = 0;
  if (version == 4) {
    if (len < 20) return false;
    hdr = static_cast<size_t>(p[0] & 0x0f) * 4;
    if (hdr < 20 || hdr > len) return false;
    total = be16(p + 2);
    if (total < hdr) return false;
    const uint16_t frag = be16(p + 6);
    if ((frag & 0x1fff) != 0 || (frag & 0x2000)) return false;  // fragments: not reassembled
    pk.ip_version = 4;
    pk.ip_id = be16(p + 4);
    pk.dont_fragment = frag & 0x4000;
    pk.ttl = p[8];
    pk.protocol = p[9];
    pk.src = address_text(AF_INET, p + 12);
    pk.dst = address_text(AF_INET, p + 16);
  } else if (version == 6) {
    if (len < 40) return false;
    hdr = 40;
    total = 40u + be16(p + 4);
    pk.ip_version = 6;
    pk.ttl = p[7];
    pk.protocol = p[6];  // extension headers are not followed: such packets are skipped below
    pk.src = address_text(AF_INET6, p + 8);
    pk.dst = address_text(AF_INET6, p + 24);
  } else {
    return false;
  }
  const size_t captured = std::min<size_t>(len, total) - hdr;
  const uint32_t wire = total - static_cast<uint32_t>(hdr);
  if (pk.protocol == 6) return decode_tcp(p + hdr, captured, wire, pk);
  if (pk.protocol == 17) return decode_udp(p + hdr, captured, wire, pk);
  return false;
}

}  // namespace

std::optional<DnsMessage> parse_dns_message(const uint8_t* d, size_t len) {
  if (len < 12 || len > 65535) return std::nullopt;
  DnsMessage m;
  m.id = be16(d);
  m.response = d[2] & 0x80;
  m.rcode = d[3] & 0x0f;
  const uint16_t qd = be16(d + 4), an = be16(d + 6);
  if (qd != 1) return std::nullopt;
  size_t at = 12;
  if (!read_name(d, len, at, m.qname) || at + 4 > len) return std::nullopt;
  m.qtype = be16(d + at);
  at += 4;
  for (uint16_t i = 0; i < an && i < 64; ++i) {
    std::string owner;
    if (!read_name(d, len, at, owner) || at + 10 > len) return std::nullopt;
    DnsRecord r;
    const uint16_t type = be16(d + at);
    r.type = type_name(type);
    r.ttl = be32(d + at + 4);
    const uint16_t rdlen = be16(d + at + 8);
    at += 10;
    if (at + rdlen > len) return std::nullopt;
    if (type == 1 && rdlen == 4) r.value = address_text(AF_INET, d + at);
    else if (type == 28 && rdlen == 16) r.value = address_text(AF_INET6, d + at);
    else if (type == 5) {
      size_t p = at;
      if (!read_name(d, len, p, r.value)) return std::nullopt;
    }
    at += rdlen;
    m.answers.push_back(std::move(r));
  }
  return m;
}

std::optional<Packet> decode_frame(uint32_t linktype, const Frame& frame) {
  const auto* p = reinterpret_cast<const uint8_t*>(frame.bytes.data());
  size_t len = frame.bytes.size();
  size_t skip = 0;
  uint16_t ethertype = 0;
  if (linktype == kLinkEthernet) {
    if (len < 14) return std::nullopt;
    ethertype = be16(p + 12);
    skip = 14;
    if (ethertype == 0x8100 && len >= 18) {  // one VLAN tag
      ethertype = be16(p + 16);
      skip = 18;
    }
  } else if (linktype == kLinkLinuxSll) {
    if (len < 16) return std::nullopt;
    ethertype = be16(p + 14);
    skip = 16;
  } else if (linktype == kLinkLinuxSll2) {
    if (len < 20) return std::nullopt;
    ethertype = be16(p);
    skip = 20;
  } else if (linktype == kLinkRaw) {
    ethertype = len > 0 && (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
  } else {
    return std::nullopt;
  }
  if (ethertype != 0x0800 && ethertype != 0x86dd) return std::nullopt;
  Packet pk;
  pk.ts_us = frame.ts_us;
  if (!decode_ip(p + skip, len - skip, pk)) return std::nullopt;
  return pk;
}

std::vector<Packet> decode_all(const PcapFile& file) {
  std::vector<Packet> out;
  for (const auto& f : file.frames)
    if (auto p = decode_frame(file.linktype, f)) out.push_back(std::move(*p));
  return out;
}

}  // namespace kuzet::packets
