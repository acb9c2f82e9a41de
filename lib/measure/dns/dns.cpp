// The DNS step: A and AAAA with c-ares on a private channel, raw replies classified by dns_parse.cpp.
// c-ares opens its sockets through SocketTap, which keeps listening for late replies ("Hold-On").
#include "measure/dns/dns.hpp"

#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <vector>

#include "core/time.hpp"
#include "core/vocabulary/failure.hpp"
#include "measure/dns/dns_parse.hpp"

namespace kuzet::measure::dns {

namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kClassIn = 1;
// c-ares doubles the per-try timeout on each round (per server), so two tries of T/3 and 2T/3 fill the
// budget T for one resolver; with several system resolvers the overall deadline cuts the rest.
constexpr int kTries = 2;

// c-ares wants one global init before any channel; it cannot fail on Linux short of running out of memory,
// and if it does every resolve() reports dns.error rather than throwing in a worker thread.
bool library_ready() {
  static std::once_flag once;
  static bool ready = false;
  std::call_once(once, [] { ready = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS; });
  return ready;
}

struct PendingQuery;

// "Hold-On": a UDP reply to a query that already completed is recorded when it arrives within the hold
// window, comes from the server that gave the first reply, carries the same ID and question, and says
// something different from the replies recorded so far.
struct HoldWindow {
  bool active = false;
  DnsReplyQuestion question;  // of the first reply (c-ares checked it against the query it sent)
  std::string server;         // "ip:port" the first reply came from
  std::chrono::steady_clock::time_point opened;  // when the first reply arrived
  std::chrono::steady_clock::time_point until;
};

// A flood of distinct forgeries cannot grow the observation without bound.
constexpr size_t kMaxLateReplies = 4;

// Owns the sockets c-ares opens (ares_set_socket_functions), so that datagrams arriving after their query
// completed are seen: while c-ares runs it reads through receive() here, and a UDP socket it closes stays
// open (until the hold is finished) for the hold window to read. Sockets are per resolve(): no shared state.
// Held sockets may be read after their window closed (resolve_first): the kernel's arrival time of each
// datagram (SO_TIMESTAMPNS), not the time it is read, says whether it came within the window.
class SocketTap {
 public:
  SocketTap(std::vector<PendingQuery*> queries, int hold_on_ms, int after_proof_ms,
            std::chrono::steady_clock::time_point deadline)
      : queries_(std::move(queries)),
        hold_on_(std::max(hold_on_ms, 0)),
        after_proof_(std::max(after_proof_ms, 0)),
        deadline_(deadline) {}
  ~SocketTap() {
    for (int fd : held_) ::close(fd);
  }
  SocketTap(const SocketTap&) = delete;
  SocketTap& operator=(const SocketTap&) = delete;

  static const ares_socket_functions functions;

  // Called from on_reply with the reply c-ares accepted, i.e. the datagram receive() just read.
  void start_hold(PendingQuery& query, const unsigned char* reply, int length);
  // The first replies are proven genuine: each window ends after_proof_ms after its first reply, if not before.
  void shorten_holds();
  // The end of the last open hold window, if one is still open.
  std::optional<std::chrono::steady_clock::time_point> hold_end() const;
  const std::vector<int>& held_sockets() const { return held_; }
  // Reads the datagrams waiting on a held socket (at most 64); how many it read.
  int drain(int fd);

 private:
  ares_socket_t open(int domain, int type, int protocol);
  int close(ares_socket_t fd);
  ssize_t receive(ares_socket_t fd, void* data, size_t length, int flags, sockaddr* from, socklen_t* from_length);
  void note_datagram(const uint8_t* data, size_t length, const std::string& server,
                     std::chrono::steady_clock::time_point arrival);
  bool is_udp(int fd) const { return std::find(udp_.begin(), udp_.end(), fd) != udp_.end(); }

  std::vector<PendingQuery*> queries_;
  int hold_on_;
  int after_proof_;
  std::chrono::steady_clock::time_point deadline_;
  std::vector<int> udp_;   // UDP sockets open for c-ares
  std::vector<int> held_;  // UDP sockets c-ares closed, kept for the hold window
  // The last datagram c-ares read: on_reply runs right after it, for the reply it accepted.
  bool last_valid_ = false;
  uint16_t last_id_ = 0;
  std::string last_server_;
};

struct PendingQuery {
  DnsQuery query;
  core::Stopwatch started;
  std::chrono::steady_clock::time_point started_at = std::chrono::steady_clock::now();
  bool done = false;
  SocketTap* tap = nullptr;
  HoldWindow hold;
  struct Late {
    DnsQuery reply;
    std::chrono::steady_clock::time_point arrival;
  };
  std::vector<Late> late;  // later replies that differ from query and each other, in arrival order
  void append_late(std::vector<DnsQuery>& queries) const {
    for (const Late& l : late) queries.push_back(l.reply);
  }
};

std::string address_text(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "";
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  return "";
}

const ares_socket_functions SocketTap::functions = {
    [](int domain, int type, int protocol, void* tap) -> ares_socket_t {
      return static_cast<SocketTap*>(tap)->open(domain, type, protocol);
    },
    [](ares_socket_t fd, void* tap) { return static_cast<SocketTap*>(tap)->close(fd); },
    [](ares_socket_t fd, const sockaddr* address, ares_socklen_t length, void*) {
      return ::connect(fd, address, length);
    },
    [](ares_socket_t fd, void* data, size_t length, int flags, sockaddr* from, ares_socklen_t* from_length,
       void* tap) -> ares_ssize_t {
      return static_cast<SocketTap*>(tap)->receive(fd, data, length, flags, from, from_length);
    },
    [](ares_socket_t fd, const iovec* parts, int count, void*) -> ares_ssize_t {
      msghdr message{};
      message.msg_iov = const_cast<iovec*>(parts);
      message.msg_iovlen = static_cast<size_t>(count);
      return ::sendmsg(fd, &message, MSG_NOSIGNAL);  // a TCP peer that went away must not SIGPIPE the probe
    },
};

ares_socket_t SocketTap::open(int domain, int type, int protocol) {
  // With its socket functions replaced, c-ares 1.18 does not make the socket non-blocking itself.
  const int fd = ::socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd >= 0 && (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_DGRAM) {
    udp_.push_back(fd);
    const int on = 1;  // arrival times for datagrams read after their hold window (drain)
    ::setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  }
  return fd < 0 ? ARES_SOCKET_BAD : fd;
}

int SocketTap::close(ares_socket_t fd) {
  if (is_udp(fd)) {
    udp_.erase(std::find(udp_.begin(), udp_.end(), fd));
    if (hold_on_ > 0) {
      held_.push_back(fd);  // c-ares is done with it; late replies may still arrive
      return 0;
    }
  }
  return ::close(fd);
}

ssize_t SocketTap::receive(ares_socket_t fd, void* data, size_t length, int flags, sockaddr* from,
                           socklen_t* from_length) {
  const ssize_t count = ::recvfrom(fd, data, length, flags, from, from_length);
  last_valid_ = false;
  if (count <= 0 || !is_udp(fd)) return count;  // errno is c-ares's to read
  sockaddr_storage peer{};
  socklen_t peer_length = sizeof peer;
  if (from != nullptr) {
    std::memcpy(&peer, from, std::min<size_t>(*from_length, sizeof peer));
  } else if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_length) != 0) {
    return count;
  }
  const auto* bytes = static_cast<const uint8_t*>(data);
  last_valid_ = count >= 2;
  last_id_ = last_valid_ ? static_cast<uint16_t>((bytes[0] << 8) | bytes[1]) : 0;
  last_server_ = address_text(reinterpret_cast<const sockaddr*>(&peer));
  note_datagram(bytes, static_cast<size_t>(count), last_server_, std::chrono::steady_clock::now());
  return count;
}

void SocketTap::start_hold(PendingQuery& query, const unsigned char* reply, int length) {
  if (hold_on_ <= 0 || !last_valid_ || last_server_.empty()) return;  // disabled, or the reply came by TCP
  auto question = dns_reply_question(reply, static_cast<size_t>(length));
  if (!question || question->id != last_id_) return;
  query.hold.active = true;
  query.hold.question = std::move(*question);
  query.hold.server = last_server_;
  query.hold.opened = std::chrono::steady_clock::now();
  query.hold.until = std::min(query.hold.opened + std::chrono::milliseconds(hold_on_), deadline_);
}

void SocketTap::shorten_holds() {
  for (PendingQuery* q : queries_)
    if (q->hold.active) q->hold.until = std::min(q->hold.until, q->hold.opened + std::chrono::milliseconds(after_proof_));
}

std::optional<std::chrono::steady_clock::time_point> SocketTap::hold_end() const {
  std::optional<std::chrono::steady_clock::time_point> end;
  const auto now = std::chrono::steady_clock::now();
  for (const PendingQuery* q : queries_) {
    if (q->hold.active && q->hold.until > now && (!end || q->hold.until > *end)) end = q->hold.until;
  }
  return end;
}

void SocketTap::note_datagram(const uint8_t* data, size_t length, const std::string& server,
                              std::chrono::steady_clock::time_point arrival) {
  auto question = dns_reply_question(data, length);
  if (!question) return;
  for (PendingQuery* q : queries_) {
    if (!q->hold.active || arrival > q->hold.until || q->hold.server != server || !(q->hold.question == *question))
      continue;
    DnsQuery late;
    late.query_type = q->query.query_type;
    parse_dns_reply(data, length, late);
    late.duration_ms = std::chrono::duration<double, std::milli>(arrival - q->started_at).count();
    if (same_dns_reply(late, q->query)) return;
    for (const PendingQuery::Late& seen : q->late)
      if (same_dns_reply(late, seen.reply)) return;
    if (q->late.size() < kMaxLateReplies) q->late.push_back({std::move(late), arrival});
    return;
  }
}

// When the kernel received a datagram (SO_TIMESTAMPNS, wall clock), on the steady clock; now if it did not say.
std::chrono::steady_clock::time_point arrival_time(msghdr& message) {
  const auto now = std::chrono::steady_clock::now();
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp{};
    std::memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
    const auto received = std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds(stamp.tv_sec) + std::chrono::nanoseconds(stamp.tv_nsec)));
    const auto age = std::chrono::system_clock::now() - received;
    if (age < std::chrono::system_clock::duration::zero()) return now;  // the wall clock stepped back
    return now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
  }
  return now;
}

int SocketTap::drain(int fd) {
  std::vector<uint8_t> buffer(65536);  // a DNS reply over UDP fits in 64 KiB
  int read = 0;
  for (; read < 64; ++read) {  // bounded: a flood cannot starve the loop
    sockaddr_storage peer{};
    iovec part{buffer.data(), buffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    msghdr message{};
    message.msg_name = &peer;
    message.msg_namelen = sizeof peer;
    message.msg_iov = &part;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    const ssize_t count = ::recvmsg(fd, &message, MSG_DONTWAIT);
    if (count < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return read;
      // e.g. ICMP port unreachable: nothing more will come on it
      ::close(fd);
      held_.erase(std::find(held_.begin(), held_.end(), fd));
      return read;
    }
    note_datagram(buffer.data(), static_cast<size_t>(count), address_text(reinterpret_cast<const sockaddr*>(&peer)),
                  arrival_time(message));
  }
  return read;
}

// The reply (abuf) is handed to us whatever the rcode, thanks to ARES_FLAG_NOCHECKRESP; without a reply
// the status says why.
void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* reply, int length) {
  auto* pending = static_cast<PendingQuery*>(arg);
  if (pending->done) return;
  pending->done = true;
  pending->query.duration_ms = pending->started.elapsed_ms();
  if (reply != nullptr && length > 0) {
    parse_dns_reply(reply, static_cast<size_t>(length), pending->query);
    if (pending->tap) pending->tap->start_hold(*pending, reply, length);
    return;
  }
  pending->query.rcode.clear();
  switch (status) {
    case ARES_ETIMEOUT:
    case ARES_ECANCELLED:     // our overall deadline passed
    case ARES_EDESTRUCTION:
      pending->query.failure = core::failure::dns_timeout;
      break;
    default:
      // ARES_ECONNREFUSED (ICMP port unreachable from the resolver), ARES_EBADNAME, ARES_EBADRESP, local
      // errors: nothing a resolver said about the name.
      pending->query.failure = core::failure::dns_error;
      break;
  }
}

class Channel {
 public:
  ~Channel() {
    if (channel_) ares_destroy(channel_);
  }
  // Returns the c-ares status.
  int init(int timeout_ms, SocketTap& tap) {
    ares_options options{};
    options.flags = ARES_FLAG_NOCHECKRESP;  // report SERVFAIL/REFUSED instead of retrying them away
    options.timeout = std::max(timeout_ms / 3, 1);  // T/3 then 2T/3 (kTries = 2); ms with ARES_OPT_TIMEOUTMS
    options.tries = kTries;
    options.ndots = 1;
    options.ndomains = 0;  // no search list: the name is queried as given
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS | ARES_OPT_DOMAINS;
    const int status = ares_init_options(&channel_, &options, mask);
    if (status == ARES_SUCCESS) ares_set_socket_functions(channel_, &SocketTap::functions, &tap);
    return status;
  }
  int use_server(const ResolverAddress& server) {
    ares_addr_port_node node{};
    node.family = server.family;
    if (server.family == AF_INET6)
      inet_pton(AF_INET6, server.ip.c_str(), &node.addr.addr6);
    else
      inet_pton(AF_INET, server.ip.c_str(), &node.addr.addr4);
    node.udp_port = server.port;
    node.tcp_port = server.port;
    return ares_set_servers_ports(channel_, &node);
  }
  ares_channel get() const { return channel_; }

 private:
  ares_channel channel_ = nullptr;
};

// Drives the channel until every query has called back (and, with wait_for_holds, every hold window has
// closed), or the deadline passes.
void run_until(ares_channel channel, const std::vector<PendingQuery*>& queries, SocketTap& tap,
               std::chrono::steady_clock::time_point deadline, bool wait_for_holds) {
  auto all_done = [&] {
    return std::all_of(queries.begin(), queries.end(), [](const PendingQuery* q) { return q->done; });
  };
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    const bool resolving = !all_done();
    auto wake_at = deadline;
    if (!resolving) {
      if (!wait_for_holds) break;
      auto hold_end = tap.hold_end();
      if (!hold_end) break;
      wake_at = *hold_end;
    }
    std::vector<pollfd> fds;
    if (resolving) {
      ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
      const int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
      for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
        short events = 0;
        if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
        if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
        if (events != 0) fds.push_back(pollfd{sockets[i], events, 0});
      }
    }
    const size_t cares_count = fds.size();
    for (int fd : tap.held_sockets()) fds.push_back(pollfd{fd, POLLIN, 0});

    auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(wake_at - now);
    timeval limit{static_cast<time_t>(remaining.count() / 1000000),
                  static_cast<suseconds_t>(remaining.count() % 1000000)};
    timeval wait = limit;
    if (resolving) ares_timeout(channel, &limit, &wait);
    const int wait_ms = static_cast<int>(wait.tv_sec * 1000 + (wait.tv_usec + 999) / 1000);
    const int ready = poll(fds.data(), fds.size(), wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;  // cannot wait: unfinished queries end as timeouts below
    }
    if (ready == 0) {
      if (resolving) ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // c-ares's timeouts
      continue;
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      if (i >= cares_count) {
        tap.drain(fds[i].fd);
        continue;
      }
      const bool readable = fds[i].revents & (POLLIN | POLLERR | POLLHUP);
      const bool writable = fds[i].revents & POLLOUT;
      ares_process_fd(channel, readable ? fds[i].fd : ARES_SOCKET_BAD, writable ? fds[i].fd : ARES_SOCKET_BAD);
    }
  }
  if (!all_done()) ares_cancel(channel);  // calls back with ARES_ECANCELLED: recorded as dns.timeout
}

bool is_definite(const std::string& failure) {
  return failure == core::failure::dns_nxdomain || failure == core::failure::dns_servfail ||
         failure == core::failure::dns_refused || failure == core::failure::dns_no_answer;
}

std::optional<std::string> ip_literal(std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned char buffer[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (inet_pton(family, host.c_str(), buffer) == 1 && inet_ntop(family, buffer, text, sizeof text))
      return std::string(text);
  }
  return std::nullopt;
}

}  // namespace

// What outlives resolve_first() while hold windows are open: the queries (c-ares called back into them,
// the tap notes late replies into them) and the tap with its held sockets.
struct DnsHoldOn::State {
  PendingQuery a, aaaa;
  std::unique_ptr<SocketTap> tap;
  bool query_aaaa = true;
};

DnsHoldOn::DnsHoldOn(std::unique_ptr<State> state) : state_(std::move(state)) {}
DnsHoldOn::~DnsHoldOn() = default;

void DnsHoldOn::finish(DnsObservation& obs, bool first_replies_proven) {
  if (!state_) return;
  SocketTap& tap = *state_->tap;
  // Replies already read were judged against the full window: drop those past the shortened one, so what is
  // recorded depends on arrival times only, not on when the proof came.
  if (first_replies_proven) {
    tap.shorten_holds();
    for (PendingQuery* q : {&state_->a, &state_->aaaa})
      std::erase_if(q->late, [q](const PendingQuery::Late& l) { return l.arrival > q->hold.until; });
  }
  // While a window is open, read as replies come; once all have closed, read what the kernel kept (judged by
  // its arrival time). Bounded: a flood of datagrams cannot keep us here past the windows.
  for (int rounds = 0; rounds < 4096; ++rounds) {
    const auto end = tap.hold_end();
    std::vector<pollfd> fds;
    for (int fd : tap.held_sockets()) fds.push_back(pollfd{fd, POLLIN, 0});
    if (fds.empty()) break;
    if (!end) {
      bool more = false;
      for (const pollfd& p : fds) more = tap.drain(p.fd) == 64 || more;
      if (!more) break;
      continue;
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*end - std::chrono::steady_clock::now());
    const int ready = poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (ready < 0 && errno != EINTR) break;
    for (const pollfd& p : fds)
      if (p.revents != 0) tap.drain(p.fd);
  }
  state_->a.append_late(obs.queries);
  if (state_->query_aaaa) state_->aaaa.append_late(obs.queries);
  state_.reset();  // closes the held sockets
}

DnsObservation resolve_first(const std::string& hostname, const DnsOptions& options,
                             std::unique_ptr<DnsHoldOn>* hold) {
  core::Stopwatch watch;
  if (hold) hold->reset();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(options.timeout_ms, 1));
  DnsObservation obs;
  obs.hostname = hostname;
  obs.resolver = "system";
  std::optional<ResolverAddress> server;
  if (!options.resolver.empty()) {
    server = parse_resolver(options.resolver);
    obs.resolver = server ? format_resolver(*server) : options.resolver;
  }
  auto finish = [&](std::string failure) {
    obs.failure = std::move(failure);
    obs.duration_ms = watch.elapsed_ms();
    return obs;
  };

  if (auto literal = ip_literal(hostname)) {
    obs.addresses.push_back(*literal);
    return finish("");
  }
  if (!options.resolver.empty() && !server) return finish(std::string(core::failure::dns_error));
  if (hostname.empty()) return finish(std::string(core::failure::dns_error));  // would query the root

  if (!library_ready()) return finish(std::string(core::failure::dns_error));
  // Declared before the channel: its destruction may still call back into them, and it closes its sockets
  // into the tap, which keeps the UDP ones for the hold windows.
  auto state = std::make_unique<DnsHoldOn::State>();
  state->query_aaaa = options.query_aaaa;
  PendingQuery& a = state->a;
  PendingQuery& aaaa = state->aaaa;
  std::vector<PendingQuery*> pending{&a};
  if (options.query_aaaa) pending.push_back(&aaaa);
  state->tap = std::make_unique<SocketTap>(pending, options.hold_on_ms, options.hold_on_after_proof_ms, deadline);
  SocketTap& tap = *state->tap;
  {
    Channel channel;
    if (channel.init(options.timeout_ms, tap) != ARES_SUCCESS) return finish(std::string(core::failure::dns_error));
    if (server && channel.use_server(*server) != ARES_SUCCESS) return finish(std::string(core::failure::dns_error));

    a.query.query_type = "A";
    aaaa.query.query_type = "AAAA";
    for (PendingQuery* q : pending) {
      q->tap = &tap;
      q->started = core::Stopwatch();
      q->started_at = std::chrono::steady_clock::now();
      ares_query(channel.get(), hostname.c_str(), kClassIn, q == &a ? kTypeA : kTypeAaaa, on_reply, q);
    }
    run_until(channel.get(), pending, tap, deadline, hold == nullptr);
  }

  // addresses (and the overall failure) come from the first replies only: the probe goes on to connect to
  // what an ordinary resolver would have returned. Late replies are evidence, recorded after them.
  for (PendingQuery* q : pending) {
    obs.queries.push_back(q->query);
    for (const DnsAnswer& answer : q->query.answers) {
      if (answer.type == "CNAME") continue;
      if (std::find(obs.addresses.begin(), obs.addresses.end(), answer.value) == obs.addresses.end())
        obs.addresses.push_back(answer.value);
    }
  }
  // Held sockets may also carry a reply that came within a window already closed: finish() reads those too.
  if (hold && (tap.hold_end() || !tap.held_sockets().empty())) {
    *hold = std::make_unique<DnsHoldOn>(std::move(state));
  } else {
    for (PendingQuery* q : pending) q->append_late(obs.queries);
  }
  if (!obs.addresses.empty()) return finish("");
  std::string failure = a.query.failure;
  if (options.query_aaaa && failure == core::failure::dns_timeout && is_definite(aaaa.query.failure))
    failure = aaaa.query.failure;
  return finish(failure);
}

DnsObservation resolve(const std::string& hostname, const DnsOptions& options) {
  // The windows are waited out inside resolve_first (run_until), as before: one poll loop.
  return resolve_first(hostname, options, nullptr);
}

bool is_valid_resolver(const std::string& resolver) { return parse_resolver(resolver).has_value(); }

}  // namespace kuzet::measure::dns
