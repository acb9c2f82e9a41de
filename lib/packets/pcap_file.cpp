#include "packets/pcap_file.hpp"

#include <cstring>

namespace kuzet::packets {
namespace {

uint32_t read32(const unsigned char* p, bool swap) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swap ? __builtin_bswap32(v) : v;
}

void put32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}

}  // namespace

PcapReadResult read_pcap(std::string_view data, const PcapLimits& limits) {
  PcapReadResult r;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  if (data.size() < 24) {
    r.error = "pcap: shorter than its 24-byte header";
    return r;
  }
  uint32_t magic;
  std::memcpy(&magic, p, 4);
  bool swap = false, nanos = false;
  if (magic == 0xa1b2c3d4) {
  } else if (magic == 0xd4c3b2a1) {
    swap = true;
  } else if (magic == 0xa1b23c4d) {
    nanos = true;
  } else if (magic == 0x4d3cb2a1) {
    swap = nanos = true;
  } else {
    r.error = "pcap: not a pcap file (bad magic)";
    return r;
  }
  r.file.snaplen = read32(p + 16, swap);
  r.file.linktype = read32(p + 20, swap) & 0x0fffffff;  // upper bits: FCS flags
  size_t at = 24;
  while (at < data.size()) {
    if (r.file.frames.size() >= limits.max_frames) {
      r.error = "pcap: more than " + std::to_string(limits.max_frames) + " frames";
      return r;
    }
    if (data.size() - at < 16) {
      r.error = "pcap: truncated frame header";
      return r;
    }
    const uint32_t sec = read32(p + at, swap), frac = read32(p + at + 4, swap);
    const uint32_t incl = read32(p + at + 8, swap), orig = read32(p + at + 12, swap);
    at += 16;
    if (incl > limits.max_frame_bytes) {
      r.error = "pcap: frame of " + std::to_string(incl) + " bytes exceeds the limit";
      return r;
    }
    if (data.size() - at < incl) {
      r.error = "pcap: truncated frame";
      return r;
    }
    Frame f;
    f.ts_us = static_cast<int64_t>(sec) * 1000000 + (nanos ? frac / 1000 : frac);
    f.orig_len = orig;
    f.bytes.assign(data.substr(at, incl));
    at += incl;
    r.file.frames.push_back(std::move(f));
  }
  return r;
}

std::string write_pcap(const PcapFile& file) {
  std::string out;
  put32(out, 0xa1b2c3d4);
  put16(out, 2);
  put16(out, 4);
  put32(out, 0);
  put32(out, 0);
  put32(out, file.snaplen);
  put32(out, file.linktype);
  for (const auto& f : file.frames) {
    put32(out, static_cast<uint32_t>(f.ts_us / 1000000));
    put32(out, static_cast<uint32_t>(f.ts_us % 1000000));
    put32(out, static_cast<uint32_t>(f.bytes.size()));
    put32(out, std::max<uint32_t>(f.orig_len, static_cast<uint32_t>(f.bytes.size())));
    out += f.bytes;
  }
  return out;
}

}  // namespace kuzet::packets
