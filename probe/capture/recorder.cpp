#include "probe/capture/recorder.hpp"

#include "probe/capture/libpcap.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <fstream>
#include <sstream>


namespace kuzet::probe::capture {

void on_packet(unsigned char* user, const pcap_pkthdr* h, const unsigned char* bytes) {
  auto* self = reinterpret_cast<Recorder*>(user);
  std::lock_guard<std::mutex> lock(self->mutex_);
  if (!self->running_) return;
  if (self->bytes_ + h->caplen > self->limits_.max_run_bytes) {
    ++self->dropped_;
    return;
  }
  self->bytes_ += h->caplen;
  self->frames_.frames.push_back(packets::Frame{static_cast<int64_t>(h->ts.tv_sec) * 1000000 + h->ts.tv_usec, h->len,
                                                std::string(reinterpret_cast<const char*>(bytes), h->caplen)});
}

namespace {

struct Endpoint {
  std::string ip;
  int family = AF_INET;
  uint16_t port = 53;
};

bool is_address(const std::string& text, int* family = nullptr) {
  unsigned char buf[16];
  for (int f : {AF_INET, AF_INET6})
    if (inet_pton(f, text.c_str(), buf) == 1) {
      if (family) *family = f;
      return true;
    }
  return false;
}

// "IP", "IP:PORT", "[IPv6]", "[IPv6]:PORT" (the resolver forms the config accepts).
std::optional<Endpoint> parse_endpoint(const std::string& text) {
  Endpoint e;
  std::string host = text, port;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::nullopt;
      port = text.substr(close + 2);
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    host = text.substr(0, text.find(':'));
    port = text.substr(text.find(':') + 1);
  }
  if (!is_address(host, &e.family)) return std::nullopt;
  e.ip = host;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    const int p = std::stoi(port);
    if (p < 1 || p > 65535) return std::nullopt;
    e.port = static_cast<uint16_t>(p);
  }
  return e;
}

std::string first_nameserver() {
  std::ifstream in("/etc/resolv.conf");
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string key, value;
    if (words >> key >> value && key == "nameserver") return value;
  }
  return "";
}

// The local address and interface the kernel would use to reach `ip` (a UDP connect sends nothing).
bool route_to(const Endpoint& to, std::string* iface, std::string* local) {
  const int fd = ::socket(to.family, SOCK_DGRAM, 0);
  if (fd < 0) return false;
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (to.family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(to.port);
    inet_pton(AF_INET, to.ip.c_str(), &a->sin_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(to.port);
    inet_pton(AF_INET6, to.ip.c_str(), &a->sin6_addr);
    len = sizeof *a;
  }
  sockaddr_storage me{};
  socklen_t me_len = sizeof me;
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &me_len) == 0;
  ::close(fd);
  if (!ok) return false;
  char text[INET6_ADDRSTRLEN] = {};
  const void* addr = me.ss_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&me)->sin_addr)
                                             : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&me)->sin6_addr);
  inet_ntop(me.ss_family, addr, text, sizeof text);
  *local = text;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != me.ss_family) continue;
    const size_t n = me.ss_family == AF_INET ? 4 : 16;
    const void* a = me.ss_family == AF_INET
                        ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
                        : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr);
    if (std::memcmp(a, addr, n) == 0) {
      *iface = i->ifa_name;
      break;
    }
  }
  freeifaddrs(list);
  return !iface->empty();
}

// Drops CAP_NET_RAW from this thread's effective, permitted and inheritable sets, the ambient set and (when
// allowed) the bounding set: the open handle keeps working, nothing else may open one.
void drop_net_raw() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capget, &header, data) == 0) {
    const uint32_t bit = 1u << (CAP_NET_RAW % 32);
    auto& d = data[CAP_NET_RAW / 32];
    d.effective &= ~bit;
    d.permitted &= ~bit;
    d.inheritable &= ~bit;
    syscall(SYS_capset, &header, data);
  }
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_NET_RAW, 0, 0);
  prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0);  // needs CAP_SETPCAP; without it the sets above suffice
}

}  // namespace

std::unique_ptr<Recorder> Recorder::open(const std::string& resolver, const CaptureLimits& limits, std::string* why) {
  std::unique_ptr<Recorder> r(new Recorder());
  r->limits_ = limits;
  const std::string text = resolver.empty() ? first_nameserver() : resolver;
  auto parsed = parse_endpoint(text);
  if (!parsed) {
    *why = "no resolver address to find the interface by ('" + text + "')";
    return nullptr;
  }
  // A resolver on this machine (systemd-resolved) is not on the path: DNS cannot be watched, TCP can.
  const bool loopback = parsed->ip.rfind("127.", 0) == 0 || parsed->ip == "::1";
  if (!loopback) {
    r->resolver_ip_ = parsed->ip;
    r->resolver_port_ = parsed->port;
  }
  if (loopback || !route_to(*parsed, &r->interface_, &r->local_address_)) {
    Endpoint probe{"192.0.2.1", AF_INET, 53};  // the default route's interface
    if (!route_to(probe, &r->interface_, &r->local_address_)) {
      *why = "no route to find the interface by";
      return nullptr;
    }
  }
  const LibPcap* pcap = load_libpcap(why);
  if (!pcap) {
    drop_net_raw();
    return nullptr;
  }
  r->pcap_ = pcap;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* h = pcap->create(r->interface_.c_str(), err);
  if (!h) {
    *why = err;
    return nullptr;
  }
  pcap->set_snaplen(h, limits.snaplen);
  pcap->set_promisc(h, 0);
  pcap->set_immediate_mode(h, 1);
  pcap->set_timeout(h, 100);
  pcap->set_buffer_size(h, 4 * 1024 * 1024);
  const int status = pcap->activate(h);
  if (status < 0) {
    *why = status == PCAP_ERROR_PERM_DENIED ? std::string("no permission to capture (needs CAP_NET_RAW)")
                                             : std::string(pcap->geterr(h));
    pcap->close(h);
    drop_net_raw();
    return nullptr;
  }
  r->handle_ = h;
  drop_net_raw();
  r->frames_.linktype = static_cast<uint32_t>(pcap->datalink(h));
  r->frames_.snaplen = static_cast<uint32_t>(limits.snaplen);
  // Nothing passes until a run begins. Every filter goes through apply_filter: a filter set once with
  // pcap_setfilter would stay in libpcap's memory and be applied again, in userland, to packets the kernel
  // let in later under another filter.
  r->apply_filter("less 1");
  r->thread_ = std::thread([p = r.get()] { p->loop(); });
  return r;
}

Recorder::~Recorder() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  if (handle_) pcap_->breakloop(handle_);
  if (thread_.joinable()) thread_.join();
  if (handle_) pcap_->close(handle_);
}

std::string Recorder::filter_text() const {
  if (!running_) return "less 1";
  std::vector<std::string> parts;
  if (!resolver_ip_.empty())
    parts.push_back("(udp and host " + resolver_ip_ + " and port " + std::to_string(resolver_port_) + ")");
  if (!addresses_.empty() && !ports_.empty()) {
    std::string hosts, ports;
    for (const auto& a : addresses_) hosts += (hosts.empty() ? "host " : " or host ") + a;
    for (uint16_t p : ports_) ports += (ports.empty() ? "port " : " or port ") + std::to_string(p);
    parts.push_back("(tcp and (" + hosts + ") and (" + ports + "))");
  }
  if (parts.empty()) return "less 1";
  std::string f;
  for (const auto& p : parts) f += (f.empty() ? "" : " or ") + p;
  return f;
}

// Replaces the kernel's filter in one step: SO_ATTACH_FILTER swaps it atomically, and what the old filter let
// in stays queued for the next read. pcap_setfilter also deals with what is already queued (re-filtering it in
// userland with its stored program, or discarding it, depending on libpcap's version and path): with it, each
// target whose addresses were added could cost the targets already in flight their packets (the lab's
// daemon-capture scenario lost a SYN-ACK, and with it the proof of an injected reset). libpcap's way remains
// for cooked captures, whose programs it must rewrite for the kernel.
void Recorder::apply_filter(const std::string& text) {
  bpf_program prog{};
  if (pcap_->compile(handle_, &prog, text.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) return;
  static_assert(sizeof(bpf_insn) == sizeof(sock_filter));
  const int linktype = pcap_->datalink(handle_);
  sock_fprog program{static_cast<unsigned short>(prog.bf_len), reinterpret_cast<sock_filter*>(prog.bf_insns)};
  const bool attached = linktype != DLT_LINUX_SLL && linktype != DLT_LINUX_SLL2 && prog.bf_len <= BPF_MAXINSNS &&
                        ::setsockopt(pcap_->fileno(handle_), SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) == 0;
  if (!attached) pcap_->setfilter(handle_, &prog);
  pcap_->freecode(&prog);
}

// The capture thread: reads packets, and applies filter changes between reads (libpcap is not to be
// used from two threads at once).
void Recorder::loop() {
  auto* self = reinterpret_cast<unsigned char*>(this);
  while (true) {
    uint64_t generation = 0;
    bool drain = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      if (wanted_filter_ != applied_filter_) {
        generation = wanted_filter_;
        drain = draining_;
      }
    }
    if (drain) {
      // The run is over, but packets it caused may still wait in the capture buffer (the packet tap sees a
      // reset before TCP reports it, so they are there, but a loaded machine may not have read them yet):
      // read everything already captured, without waiting for more. -2 is a breakloop that arrived
      // between reads; only "nothing left" (0) or an error ends the drain.
      char error[PCAP_ERRBUF_SIZE];
      if (pcap_->setnonblock(handle_, 1, error) == 0) {
        for (int n = 1; n != 0 && n != PCAP_ERROR;) n = pcap_->dispatch(handle_, -1, on_packet, self);
        pcap_->setnonblock(handle_, 0, error);
      }
    }
    if (generation) {
      std::string filter;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (drain) running_ = draining_ = false;
        filter = filter_text();
      }
      apply_filter(filter);
      std::lock_guard<std::mutex> lock(mutex_);
      applied_filter_ = generation;
      changed_.notify_all();
    }
    pcap_->dispatch(handle_, -1, on_packet, self);
  }
}

void Recorder::begin() {
  std::unique_lock<std::mutex> lock(mutex_);
  frames_.frames.clear();
  bytes_ = dropped_ = 0;
  addresses_.clear();
  ports_.clear();
  running_ = true;
  const uint64_t g = ++wanted_filter_;
  pcap_->breakloop(handle_);
  changed_.wait(lock, [&] { return applied_filter_ >= g || stopping_; });
}

void Recorder::watch(const std::vector<std::string>& addresses, const std::vector<uint16_t>& ports) {
  std::unique_lock<std::mutex> lock(mutex_);
  const size_t before = addresses_.size() + ports_.size();
  for (const auto& a : addresses)
    if (is_address(a)) addresses_.insert(a);  // only literal addresses reach the filter
  ports_.insert(ports.begin(), ports.end());
  if (addresses_.size() + ports_.size() == before) return;
  const uint64_t g = ++wanted_filter_;
  pcap_->breakloop(handle_);
  changed_.wait(lock, [&] { return applied_filter_ >= g || stopping_; });
}

packets::PcapFile Recorder::end() {
  std::unique_lock<std::mutex> lock(mutex_);
  draining_ = true;  // the capture thread reads what is buffered, then stops recording
  const uint64_t g = ++wanted_filter_;
  pcap_->breakloop(handle_);
  changed_.wait(lock, [&] { return applied_filter_ >= g || stopping_; });
  packets::PcapFile out = std::move(frames_);
  frames_ = packets::PcapFile{out.linktype, out.snaplen, {}};
  return out;
}

}  // namespace kuzet::probe::capture
