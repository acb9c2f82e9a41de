// The DNS step: A and AAAA with c-ares on a private channel, raw replies classified by dns_parse.cpp.
#include "measure/dns.hpp"

#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>

#include "core/failure.hpp"
#include "core/time.hpp"
#include "measure/dns_parse.hpp"

namespace kuzet::measure {

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

struct PendingQuery {
  DnsQuery query;
  core::Stopwatch started;
  bool done = false;
};

// The reply (abuf) is handed to us whatever the rcode, thanks to ARES_FLAG_NOCHECKRESP; without a reply
// the status says why.
void on_reply(void* arg, int status, int /*timeouts*/, unsigned char* reply, int length) {
  auto* pending = static_cast<PendingQuery*>(arg);
  if (pending->done) return;
  pending->done = true;
  pending->query.duration_ms = pending->started.elapsed_ms();
  if (reply != nullptr && length > 0) {
    parse_dns_reply(reply, static_cast<size_t>(length), pending->query);
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
  int init(int timeout_ms) {
    ares_options options{};
    options.flags = ARES_FLAG_NOCHECKRESP;  // report SERVFAIL/REFUSED instead of retrying them away
    options.timeout = std::max(timeout_ms / 3, 1);  // T/3 then 2T/3 (kTries = 2); ms with ARES_OPT_TIMEOUTMS
    options.tries = kTries;
    options.ndots = 1;
    options.ndomains = 0;  // no search list: the name is queried as given
    const int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS | ARES_OPT_DOMAINS;
    return ares_init_options(&channel_, &options, mask);
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

// Drives the channel until every query has called back or the deadline passes.
void run_until(ares_channel channel, const std::vector<PendingQuery*>& queries,
               std::chrono::steady_clock::time_point deadline) {
  auto all_done = [&] {
    return std::all_of(queries.begin(), queries.end(), [](const PendingQuery* q) { return q->done; });
  };
  while (!all_done()) {
    auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (remaining.count() <= 0) break;
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t count = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(bits, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(bits, i)) events |= POLLOUT;
      if (events == 0) continue;
      fds[count++] = pollfd{sockets[i], events, 0};
    }
    timeval limit{static_cast<time_t>(remaining.count() / 1000000),
                  static_cast<suseconds_t>(remaining.count() % 1000000)};
    timeval wait{};
    ares_timeout(channel, &limit, &wait);
    const int wait_ms = static_cast<int>(wait.tv_sec * 1000 + (wait.tv_usec + 999) / 1000);
    const int ready = poll(fds, count, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;  // cannot wait: the queries end as timeouts below
    }
    if (ready == 0) {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // lets c-ares handle its timeouts
      continue;
    }
    for (nfds_t i = 0; i < count; ++i) {
      if (fds[i].revents == 0) continue;
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

DnsObservation resolve(const std::string& hostname, const DnsOptions& options) {
  core::Stopwatch watch;
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
  PendingQuery a, aaaa;  // declared before the channel: its destruction may still call back into them
  Channel channel;
  if (channel.init(options.timeout_ms) != ARES_SUCCESS) return finish(std::string(core::failure::dns_error));
  if (server && channel.use_server(*server) != ARES_SUCCESS) return finish(std::string(core::failure::dns_error));

  a.query.query_type = "A";
  aaaa.query.query_type = "AAAA";
  std::vector<PendingQuery*> pending{&a};
  if (options.query_aaaa) pending.push_back(&aaaa);
  for (PendingQuery* q : pending) {
    q->started = core::Stopwatch();
    ares_query(channel.get(), hostname.c_str(), kClassIn, q == &a ? kTypeA : kTypeAaaa, on_reply, q);
  }
  run_until(channel.get(), pending, deadline);

  for (PendingQuery* q : pending) {
    obs.queries.push_back(q->query);
    for (const DnsAnswer& answer : q->query.answers) {
      if (answer.type == "CNAME") continue;
      if (std::find(obs.addresses.begin(), obs.addresses.end(), answer.value) == obs.addresses.end())
        obs.addresses.push_back(answer.value);
    }
  }
  if (!obs.addresses.empty()) return finish("");
  std::string failure = a.query.failure;
  if (options.query_aaaa && failure == core::failure::dns_timeout && is_definite(aaaa.query.failure))
    failure = aaaa.query.failure;
  return finish(failure);
}

bool is_valid_resolver(const std::string& resolver) { return parse_resolver(resolver).has_value(); }

}  // namespace kuzet::measure
