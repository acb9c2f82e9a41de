// Fuzzes untrusted capture bytes: the pcap reader, the frame decoder (every link type it knows) and the
// analysis over whatever decodes. Checks the reader's bounds and the decoder's promises, not only crashes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "packets/analyze.hpp"

using namespace kuzet::packets;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const PcapLimits limits{2000, 4096};
  auto r = read_pcap(in, limits);
  if (r.file.frames.size() > limits.max_frames) __builtin_trap();
  size_t bytes = 0;
  for (const auto& f : r.file.frames) {
    if (f.bytes.size() > limits.max_frame_bytes) __builtin_trap();
    bytes += f.bytes.size() + 16;
  }
  if (bytes + 24 > size + 24) __builtin_trap();
  // The same bytes as one frame of every link type (a capture's content is what the fuzzer controls most).
  for (uint32_t link : {kLinkEthernet, kLinkRaw, kLinkLinuxSll, kLinkLinuxSll2}) {
    auto p = decode_frame(link, Frame{0, static_cast<uint32_t>(size), std::string(in)});
    if (p && (p->payload.size() > size || (p->protocol != 6 && p->protocol != 17))) __builtin_trap();
    if (p && p->payload.size() > p->payload_len) __builtin_trap();
  }
  auto packets = decode_all(r.file);
  for (const auto& f : analyze_packets(packets))
    if (f.kind.empty() || f.peer.empty()) __builtin_trap();
  return 0;
}
