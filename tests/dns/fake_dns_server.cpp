#include "tests/dns/fake_dns_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "ascii/ascii.hpp"

namespace kuzet::tests {

namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeAaaa = 28;

void put16(std::vector<uint8_t>& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, static_cast<uint16_t>(v >> 16));
  put16(out, static_cast<uint16_t>(v));
}

void put_name(std::vector<uint8_t>& out, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    const size_t len = dot - start;
    if (len > 0) {
      out.push_back(static_cast<uint8_t>(len));
      out.insert(out.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    }
    start = dot + 1;
  }
  out.push_back(0);
}

std::string normalize(std::string name) {
  ascii::lower_in_place(name);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

struct Question {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string name;
  uint16_t type = 0;
  size_t end = 0;  // offset just after the question section's first entry
};

// Parses the first question of an uncompressed query; nullopt for anything else.
std::optional<Question> parse_question(const std::vector<uint8_t>& q) {
  if (q.size() < 12 || ((q[4] << 8) | q[5]) < 1) return std::nullopt;
  Question out;
  out.id = static_cast<uint16_t>((q[0] << 8) | q[1]);
  out.flags = static_cast<uint16_t>((q[2] << 8) | q[3]);
  size_t at = 12;
  while (true) {
    if (at >= q.size()) return std::nullopt;
    const uint8_t len = q[at++];
    if (len == 0) break;
    if (len > 63 || at + len > q.size()) return std::nullopt;
    if (!out.name.empty()) out.name += '.';
    out.name.append(q.begin() + static_cast<long>(at), q.begin() + static_cast<long>(at + len));
    at += len;
  }
  if (at + 4 > q.size()) return std::nullopt;
  out.type = static_cast<uint16_t>((q[at] << 8) | q[at + 1]);
  out.end = at + 4;
  return out;
}

std::vector<uint8_t> header(const Question& question, int rcode, uint16_t answers, bool truncated = false) {
  std::vector<uint8_t> out;
  put16(out, question.id);
  // QR, opcode 0, TC, RD copied from the query, RA, rcode.
  put16(out, static_cast<uint16_t>(0x8000 | (truncated ? 0x0200 : 0) | (question.flags & 0x0100) | 0x0080 |
                                   (rcode & 0x0F)));
  put16(out, 1);
  put16(out, answers);
  put16(out, 0);
  put16(out, 0);
  return out;
}

void put_address_records(std::vector<uint8_t>& out, uint16_t owner_pointer, uint16_t type,
                         const std::vector<std::string>& addresses, uint32_t ttl) {
  for (const std::string& text : addresses) {
    unsigned char bytes[16];
    const int family = type == kTypeA ? AF_INET : AF_INET6;
    if (inet_pton(family, text.c_str(), bytes) != 1) throw std::invalid_argument("bad fake address " + text);
    put16(out, static_cast<uint16_t>(0xC000 | owner_pointer));
    put16(out, type);
    put16(out, 1);
    put32(out, ttl);
    const uint16_t size = type == kTypeA ? 4 : 16;
    put16(out, size);
    out.insert(out.end(), bytes, bytes + size);
  }
}

}  // namespace

std::vector<uint8_t> encode_dns_query(uint16_t id, const std::string& name, uint16_t type) {
  std::vector<uint8_t> out;
  put16(out, id);
  put16(out, 0x0100);  // RD
  put16(out, 1);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put_name(out, name);
  put16(out, type);
  put16(out, 1);
  return out;
}

std::vector<uint8_t> fake_dns_reply(const std::vector<uint8_t>& query, const FakeDnsConfig& config) {
  auto question = parse_question(query);
  if (!question) return {};
  const FakeDnsMode mode =
      (question->type == kTypeAaaa && config.aaaa_mode) ? *config.aaaa_mode : config.mode;
  const std::vector<uint8_t> question_bytes(query.begin() + 12, query.begin() + static_cast<long>(question->end));
  auto with_question = [&](std::vector<uint8_t> out) {
    out.insert(out.end(), question_bytes.begin(), question_bytes.end());
    return out;
  };
  switch (mode) {
    case FakeDnsMode::silent:
      return {};
    case FakeDnsMode::garbage:
      return {'n', 'o', 't', ' ', 'd', 'n', 's', 0xff, 0x00, 0x13, 0x37};
    case FakeDnsMode::nxdomain:
      return with_question(header(*question, 3, 0));
    case FakeDnsMode::servfail:
      return with_question(header(*question, 2, 0));
    case FakeDnsMode::refused:
      return with_question(header(*question, 5, 0));
    case FakeDnsMode::no_answer:
      return with_question(header(*question, 0, 0));
    case FakeDnsMode::truncated:
      return with_question(header(*question, 0, 0, true));
    case FakeDnsMode::malformed: {
      auto out = with_question(header(*question, 0, 1));
      put16(out, 0xC00C);
      put16(out, question->type);
      put16(out, 1);
      put32(out, config.ttl);
      put16(out, 16);
      out.push_back(10);  // 1 of the 16 promised bytes
      return out;
    }
    case FakeDnsMode::answer:
      break;
  }
  const std::vector<std::string>* addresses =
      question->type == kTypeA ? &config.a : question->type == kTypeAaaa ? &config.aaaa : nullptr;
  const size_t address_count = addresses ? addresses->size() : 0;
  const bool has_cname = !config.cname.empty();
  auto out = with_question(header(*question, 0, static_cast<uint16_t>(address_count + (has_cname ? 1 : 0))));
  uint16_t owner = 12;  // the question's name
  if (has_cname) {
    put16(out, 0xC00C);
    put16(out, kTypeCname);
    put16(out, 1);
    put32(out, config.ttl);
    std::vector<uint8_t> target;
    put_name(target, config.cname);
    put16(out, static_cast<uint16_t>(target.size()));
    owner = static_cast<uint16_t>(out.size());
    out.insert(out.end(), target.begin(), target.end());
  }
  if (addresses) put_address_records(out, owner, question->type, *addresses, config.ttl);
  return out;
}

FakeDnsServer::FakeDnsServer(FakeDnsConfig default_config, bool ipv6_loopback)
    : ipv6_(ipv6_loopback), default_config_(std::move(default_config)) {
  socket_ = ::socket(ipv6_ ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket_ < 0) throw std::runtime_error("fake dns: socket failed");
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (ipv6_) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    len = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    len = sizeof(sockaddr_in);
  }
  if (::bind(socket_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::getsockname(socket_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(socket_);
    throw std::runtime_error("fake dns: bind failed");
  }
  port_ = ntohs(ipv6_ ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  wake_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_ < 0) {
    ::close(socket_);
    throw std::runtime_error("fake dns: eventfd failed");
  }
  thread_ = std::thread([this] { serve(); });
}

FakeDnsServer::~FakeDnsServer() {
  uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_, &one, sizeof one);
  thread_.join();
  ::close(wake_);
  ::close(socket_);
}

std::string FakeDnsServer::address() const {
  return (ipv6_ ? "[::1]:" : "127.0.0.1:") + std::to_string(port_);
}

void FakeDnsServer::set(const std::string& name, FakeDnsConfig config) {
  std::lock_guard lock(mutex_);
  by_name_[normalize(name)] = std::move(config);
}

void FakeDnsServer::set_default(FakeDnsConfig config) {
  std::lock_guard lock(mutex_);
  default_config_ = std::move(config);
}

std::vector<std::string> FakeDnsServer::names_seen() const {
  std::lock_guard lock(mutex_);
  return names_seen_;
}

FakeDnsConfig FakeDnsServer::config_for(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = by_name_.find(name);
  return it != by_name_.end() ? it->second : default_config_;
}

void FakeDnsServer::serve() {
  struct Scheduled {
    std::chrono::steady_clock::time_point due;
    std::vector<uint8_t> bytes;
    sockaddr_storage peer;
    socklen_t peer_len;
  };
  std::vector<Scheduled> scheduled;  // delayed datagrams, in scheduling order
  std::vector<uint8_t> buffer(65536);
  while (true) {
    // Send what is due, then wait for a query, the next due datagram or the stop signal.
    const auto now = std::chrono::steady_clock::now();
    int wait_ms = -1;
    for (auto it = scheduled.begin(); it != scheduled.end();) {
      if (it->due <= now) {
        ::sendto(socket_, it->bytes.data(), it->bytes.size(), 0, reinterpret_cast<const sockaddr*>(&it->peer),
                 it->peer_len);
        it = scheduled.erase(it);
        continue;
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(it->due - now).count();
      if (wait_ms < 0 || left < wait_ms) wait_ms = static_cast<int>(left);
      ++it;
    }
    pollfd fds[2] = {{socket_, POLLIN, 0}, {wake_, POLLIN, 0}};
    if (::poll(fds, 2, wait_ms) < 0) continue;
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    const ssize_t n = ::recvfrom(socket_, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (n <= 0) continue;
    const auto arrived = std::chrono::steady_clock::now();
    std::vector<uint8_t> query(buffer.begin(), buffer.begin() + n);
    auto question = parse_question(query);
    if (!question) continue;
    const std::string name = normalize(question->name);
    {
      std::lock_guard lock(mutex_);
      names_seen_.push_back(name);
    }
    queries_received_.fetch_add(1);
    const FakeDnsConfig config = config_for(name);
    try {
      for (auto& datagram : fake_dns_datagrams(query, config)) {
        if (datagram.delay_ms <= 0) {
          ::sendto(socket_, datagram.bytes.data(), datagram.bytes.size(), 0, reinterpret_cast<const sockaddr*>(&peer),
                   peer_len);
        } else {
          scheduled.push_back({arrived + std::chrono::milliseconds(datagram.delay_ms), std::move(datagram.bytes), peer,
                               peer_len});
        }
      }
    } catch (const std::exception&) {
      // A bad address in a test's config: the query goes unanswered (the test will show a timeout).
    }
  }
}

std::vector<FakeDnsDatagram> fake_dns_datagrams(const std::vector<uint8_t>& query, const FakeDnsConfig& config) {
  std::vector<FakeDnsDatagram> out;
  auto question = parse_question(query);
  if (!question) return out;
  auto forged_config = [&](std::vector<std::string> a, std::vector<std::string> aaaa) {
    FakeDnsConfig forged = config;
    forged.mode = FakeDnsMode::answer;
    forged.aaaa_mode.reset();
    forged.cname.clear();
    forged.a = std::move(a);
    forged.aaaa = std::move(aaaa);
    return forged;
  };
  if (config.wrong_id_first) {
    auto reply = fake_dns_reply(query, forged_config({"203.0.113.66"}, {"2001:db8::66"}));
    if (!reply.empty()) {
      reply[0] ^= 0x5a;  // another ID
      out.push_back({0, std::move(reply)});
    }
  }
  const std::vector<std::string>& injected = question->type == kTypeAaaa ? config.injected_aaaa : config.injected_a;
  const bool injecting = (question->type == kTypeA || question->type == kTypeAaaa) && !injected.empty();
  int real_delay = 0;
  if (injecting) {
    auto forged = fake_dns_reply(
        config.injected_wrong_question ? encode_dns_query(question->id, "other.example", question->type) : query,
        forged_config(config.injected_a, config.injected_aaaa));
    if (config.injected_wrong_id && !forged.empty()) forged[0] ^= 0x5a;
    if (config.injected_after_real) {
      out.push_back({0, fake_dns_reply(query, config)});
      out.push_back({config.injection_gap_ms, std::move(forged)});
      real_delay = -1;  // already queued
    } else {
      out.push_back({0, std::move(forged)});
      real_delay = config.injection_gap_ms;
    }
  }
  if (real_delay >= 0) out.push_back({real_delay, fake_dns_reply(query, config)});
  if (config.duplicate_real) {
    const int at = injecting && !config.injected_after_real ? config.injection_gap_ms : 0;
    out.push_back({at, fake_dns_reply(query, config)});
    FakeDnsConfig retransmitted = config;
    retransmitted.ttl = config.ttl > 0 ? config.ttl - 1 : 0;
    std::reverse(retransmitted.a.begin(), retransmitted.a.end());
    std::reverse(retransmitted.aaaa.begin(), retransmitted.aaaa.end());
    out.push_back({at, fake_dns_reply(query, retransmitted)});
  }
  std::erase_if(out, [](const FakeDnsDatagram& d) { return d.bytes.empty(); });
  return out;
}

}  // namespace kuzet::tests
