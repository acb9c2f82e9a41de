#pragma once
// libpcap, loaded when capture is switched on (dlopen) instead of linked: capture is opt-in, and a linked
// libpcap makes every probe map it and what Debian's build pulls in with it (libdbus, libsystemd, libgcrypt,
// liblz4, liblzma: ~0.85 MB resident in the daemon, docs/benchmarks.md) for nothing. The header still
// comes from libpcap-dev, so the function types are libpcap's own.
#include <pcap/pcap.h>

#include <string>

namespace kuzet::probe::capture {

struct LibPcap {
  decltype(&::pcap_create) create;
  decltype(&::pcap_set_snaplen) set_snaplen;
  decltype(&::pcap_set_promisc) set_promisc;
  decltype(&::pcap_set_immediate_mode) set_immediate_mode;
  decltype(&::pcap_set_timeout) set_timeout;
  decltype(&::pcap_set_buffer_size) set_buffer_size;
  decltype(&::pcap_activate) activate;
  decltype(&::pcap_geterr) geterr;
  decltype(&::pcap_close) close;
  decltype(&::pcap_datalink) datalink;
  decltype(&::pcap_compile) compile;
  decltype(&::pcap_setfilter) setfilter;
  decltype(&::pcap_freecode) freecode;
  decltype(&::pcap_dispatch) dispatch;
  decltype(&::pcap_breakloop) breakloop;
  decltype(&::pcap_setnonblock) setnonblock;
  decltype(&::pcap_fileno) fileno;
};

// The process's one copy, loaded on first use (thread-safe); nullptr with *why when no libpcap is installed
// or it lacks a function (the probe then measures without capture).
const LibPcap* load_libpcap(std::string* why);

}  // namespace kuzet::probe::capture
