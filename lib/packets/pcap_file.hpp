#pragma once
// The classic libpcap file format (what tcpdump -w and Wireshark read), read and written by hand: the
// packets it carries are untrusted (anyone on the path chose their bytes), so the reader is bounded in
// frames and bytes and reports a clear error instead of reading past the end.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kuzet::packets {

// Link types of the frames (a subset of pcap's LINKTYPE_ values the decoder understands).
inline constexpr uint32_t kLinkEthernet = 1;
inline constexpr uint32_t kLinkRaw = 101;         // bare IPv4/IPv6
inline constexpr uint32_t kLinkLinuxSll = 113;    // the "any" pseudo-interface
inline constexpr uint32_t kLinkLinuxSll2 = 276;

struct Frame {
  int64_t ts_us = 0;       // capture time, microseconds since the epoch
  uint32_t orig_len = 0;   // length on the wire (bytes may hold fewer: the snapshot length)
  std::string bytes;
};

struct PcapFile {
  uint32_t linktype = kLinkEthernet;
  uint32_t snaplen = 65535;
  std::vector<Frame> frames;
};

struct PcapLimits {
  size_t max_frames = 100000;
  size_t max_frame_bytes = 262144;
};

struct PcapReadResult {
  PcapFile file;
  std::string error;  // "" when the whole input was read
};

// Reads a pcap file (either byte order, micro- or nanosecond timestamps). On an error the frames read
// before it are kept and `error` says what was wrong.
PcapReadResult read_pcap(std::string_view data, const PcapLimits& limits = {});

// Writes a pcap file (native little-endian, microseconds).
std::string write_pcap(const PcapFile& file);

}  // namespace kuzet::packets
