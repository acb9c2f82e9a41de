#pragma once
// Opt-in packet capture around the measurements (config `capture: true`, `run --capture`;
// docs/packet-evidence.md). The only libpcap code of the probe: it opens one handle on the interface the
// route to the resolver uses, then drops CAP_NET_RAW, and records only what a BPF filter lets through:
// DNS to and from the resolver, and TCP to the addresses and ports of the targets being measured (the
// filter grows as targets resolve). Bounded by the snapshot length and a per-run byte cap.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "packets/pcap_file.hpp"

struct pcap;         // libpcap's handle (pcap_t)
struct pcap_pkthdr;  // and packet header, kept out of this header

namespace kuzet::probe::capture {

struct LibPcap;

struct CaptureLimits {
  int snaplen = 512;                           // headers, DNS messages and the start of a ClientHello
  size_t max_run_bytes = 16u * 1024 * 1024;    // captured bytes per run (the unit allows 96 MB in all)
  size_t max_packets_per_target = 5000;        // analysed per target
  // The pcap attached to a record with a finding: 64 KiB in base64, so a full upload batch (200 records)
  // stays under the collector's 16 MiB body limit even when every record carries one.
  size_t max_pcap_bytes = 48 * 1024;
};

class Recorder {
 public:
  // Opens the capture for a probe whose DNS goes to `resolver` ("IP", "IP:PORT", "[v6]:PORT"; "" = the
  // first nameserver of /etc/resolv.conf) and drops CAP_NET_RAW from this thread's sets. nullptr with
  // *why when capture is not possible (no CAP_NET_RAW, no such interface): the probe measures without it.
  // Call before other threads start: capabilities are per thread.
  static std::unique_ptr<Recorder> open(const std::string& resolver, const CaptureLimits& limits, std::string* why);
  ~Recorder();
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // One run: begin() starts recording (DNS to the resolver), watch() adds a target's server addresses and
  // ports before it is connected to (returns once the filter is in place), end() stops and hands over the
  // run's frames. Nothing is recorded between runs.
  void begin();
  void watch(const std::vector<std::string>& addresses, const std::vector<uint16_t>& ports);
  packets::PcapFile end();

  const CaptureLimits& limits() const { return limits_; }
  const std::string& interface_name() const { return interface_; }
  // The probe's own address on that interface (to keep it out of attached pcaps).
  const std::string& local_address() const { return local_address_; }

 private:
  Recorder() = default;
  std::string filter_text() const;  // under mutex_
  void apply_filter(const std::string& text);  // the capture thread (or open(), before it starts)
  void loop();

  const LibPcap* pcap_ = nullptr;  // loaded on open (probe/capture/libpcap.hpp)
  ::pcap* handle_ = nullptr;
  CaptureLimits limits_;
  std::string interface_, local_address_, resolver_ip_;
  uint16_t resolver_port_ = 53;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::thread thread_;
  bool running_ = false, stopping_ = false;
  bool draining_ = false;  // end(): read what the kernel already holds before recording stops
  std::set<std::string> addresses_;
  std::set<uint16_t> ports_;
  uint64_t wanted_filter_ = 0, applied_filter_ = 0;  // generations
  packets::PcapFile frames_;
  size_t bytes_ = 0;
  size_t dropped_ = 0;
  friend void on_packet(unsigned char*, const ::pcap_pkthdr*, const unsigned char*);
};

}  // namespace kuzet::probe::capture
