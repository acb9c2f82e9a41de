#pragma once
// Builds IPv4 frames (LINKTYPE_RAW) for the packet-analysis tests and the fuzz corpus generator: what a
// capture of each interference would hold, written as a real pcap file and read back.
#include <arpa/inet.h>

#include <cstdint>
#include <string>
#include <vector>

#include "packets/pcap_file.hpp"

namespace kuzet::packets::testing {

struct Ip {
  std::string src, dst;
  uint8_t ttl = 64;
  uint16_t id = 0;
};

inline void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}
inline void put32(std::string& s, uint32_t v) {
  put16(s, static_cast<uint16_t>(v >> 16));
  put16(s, static_cast<uint16_t>(v & 0xffff));
}

inline std::string ipv4(const Ip& ip, uint8_t proto, const std::string& l4) {
  std::string s;
  s.push_back(0x45);
  s.push_back(0);
  put16(s, static_cast<uint16_t>(20 + l4.size()));
  put16(s, ip.id);
  put16(s, 0x4000);
  s.push_back(static_cast<char>(ip.ttl));
  s.push_back(static_cast<char>(proto));
  put16(s, 0);
  in_addr a{}, b{};
  inet_pton(AF_INET, ip.src.c_str(), &a);
  inet_pton(AF_INET, ip.dst.c_str(), &b);
  s.append(reinterpret_cast<const char*>(&a), 4);
  s.append(reinterpret_cast<const char*>(&b), 4);
  return s + l4;
}

struct Tcp {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 502;
  int wscale = -1;                 // SYN option when >= 0
  int64_t ts_val = -1, ts_ecr = 0;  // timestamps option when ts_val >= 0
  std::string payload;
};

inline std::string tcp(const Tcp& t) {
  std::string opts;
  if (t.wscale >= 0) {
    opts += std::string("\x01\x03\x03", 3);
    opts.push_back(static_cast<char>(t.wscale));
  }
  if (t.ts_val >= 0) {
    opts += std::string("\x01\x01\x08\x0a", 4);
    put32(opts, static_cast<uint32_t>(t.ts_val));
    put32(opts, static_cast<uint32_t>(t.ts_ecr));
  }
  std::string s;
  put16(s, t.sport);
  put16(s, t.dport);
  put32(s, t.seq);
  put32(s, t.ack);
  s.push_back(static_cast<char>(((20 + opts.size()) / 4) << 4));
  s.push_back(static_cast<char>(t.flags));
  put16(s, t.window);
  put32(s, 0);  // checksum, urgent pointer
  return s + opts + t.payload;
}

inline std::string udp(uint16_t sport, uint16_t dport, const std::string& payload) {
  std::string s;
  put16(s, sport);
  put16(s, dport);
  put16(s, static_cast<uint16_t>(8 + payload.size()));
  put16(s, 0);
  return s + payload;
}

// A DNS message with one question and A records (empty `addresses` with rcode 3: NXDOMAIN).
inline std::string dns(uint16_t id, bool response, const std::string& name, uint16_t qtype,
                       const std::vector<std::string>& addresses = {}, int rcode = 0) {
  std::string s;
  put16(s, id);
  put16(s, static_cast<uint16_t>((response ? 0x8180 : 0x0100) | rcode));
  put16(s, 1);
  put16(s, static_cast<uint16_t>(addresses.size()));
  put16(s, 0);
  put16(s, 0);
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    s.push_back(static_cast<char>(dot - start));
    s += name.substr(start, dot - start);
    start = dot + 1;
  }
  s.push_back(0);
  put16(s, qtype);
  put16(s, 1);
  for (const auto& a : addresses) {
    put16(s, 0xc00c);
    put16(s, 1);
    put16(s, 1);
    put32(s, 60);
    put16(s, 4);
    in_addr v{};
    inet_pton(AF_INET, a.c_str(), &v);
    s.append(reinterpret_cast<const char*>(&v), 4);
  }
  return s;
}

// Frames in the order added; times in milliseconds since an arbitrary start.
struct Capture {
  PcapFile file{kLinkRaw, 65535, {}};
  void add(double t_ms, const std::string& ip_packet) {
    file.frames.push_back(Frame{1700000000000000LL + static_cast<int64_t>(t_ms * 1000),
                                static_cast<uint32_t>(ip_packet.size()), ip_packet});
  }
  void tcp_packet(double t_ms, const Ip& ip, const Tcp& t) { add(t_ms, ipv4(ip, 6, tcp(t))); }
  void udp_packet(double t_ms, const Ip& ip, uint16_t sport, uint16_t dport, const std::string& payload) {
    add(t_ms, ipv4(ip, 17, udp(sport, dport, payload)));
  }
};

inline std::string client_hello() {
  std::string s("\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03", 11);
  s.resize(205, 'x');
  return s;
}

}  // namespace kuzet::packets::testing
