#pragma once
// A fake DNS server for loopback tests: UDP on 127.0.0.1, an ephemeral port, its own thread, replies
// encoded by hand. Behaviour is configured per query name (a default applies to every other name).
// Link target: kuzet_fake_dns. Usage:
//   FakeDnsServer dns;                       // answers 192.0.2.1 for every name
//   dns.set("blocked.example", {.mode = FakeDnsMode::nxdomain});
//   resolve("blocked.example", {.resolver = dns.address()});
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace kuzet::tests {

enum class FakeDnsMode {
  answer,           // NOERROR with the configured addresses of the query's type (none: NOERROR, no answer)
  nxdomain,         // rcode 3, no records
  servfail,         // rcode 2
  refused,          // rcode 5
  no_answer,        // NOERROR with an empty answer section
  silent,           // never replies
  garbage,          // replies with bytes that are not DNS (c-ares drops them: the query times out)
  malformed,        // right ID and question, answer section cut short (the client must see a bad reply)
  truncated,        // NOERROR with the TC bit and no records: the client retries over TCP, which we refuse
};

struct FakeDnsConfig {
  FakeDnsMode mode = FakeDnsMode::answer;
  std::optional<FakeDnsMode> aaaa_mode;  // overrides mode for AAAA queries
  std::vector<std::string> a{"192.0.2.1"};
  std::vector<std::string> aaaa;
  uint32_t ttl = 300;
  // When set, the answer is "name CNAME <cname>" followed by the addresses owned by <cname>.
  std::string cname;
  // Sends a forged reply (wrong ID, address 203.0.113.66) before the real one, as an off-path spoofer
  // would; a correct client ignores it.
  bool wrong_id_first = false;
  // On-path injection: a forged reply with the right ID and question answering injected_a (A queries) or
  // injected_aaaa (AAAA queries) goes out at once and the real reply injection_gap_ms later. An empty
  // list: no injection for that type (the real reply goes out at once).
  std::vector<std::string> injected_a;
  std::vector<std::string> injected_aaaa;
  int injection_gap_ms = 100;
  bool injected_after_real = false;  // the real reply first, the forged one injection_gap_ms later
  bool injected_wrong_id = false;    // the forged reply carries another ID (an off-path guesser)
  bool injected_wrong_question = false;  // right ID, but the question names "other.example"
  // Right after the real reply, two more copies of it: one byte-identical, one with the TTL lowered by 1
  // and the addresses in reverse order (what a caching resolver answers to a retransmission).
  bool duplicate_real = false;
};

// An on-path injector that lost the race: the real A answer at once, a forged one gap_ms later.
inline FakeDnsConfig forgery_after_real(std::vector<std::string> real_a, std::vector<std::string> forged_a,
                                        int gap_ms) {
  FakeDnsConfig config;
  config.a = std::move(real_a);
  config.injected_a = std::move(forged_a);
  config.injection_gap_ms = gap_ms;
  config.injected_after_real = true;
  return config;
}

// One datagram the server sends for a query, delay_ms after the query arrived.
struct FakeDnsDatagram {
  int delay_ms = 0;
  std::vector<uint8_t> bytes;
};

class FakeDnsServer {
 public:
  // Listens on 127.0.0.1, or on ::1 when ipv6_loopback (throws std::runtime_error if ::1 is unusable).
  explicit FakeDnsServer(FakeDnsConfig default_config = {}, bool ipv6_loopback = false);
  ~FakeDnsServer();
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:<port>" or "[::1]:<port>", usable as DnsOptions::resolver

  // Configures one name (case-insensitive, trailing dot ignored). Safe while the server runs.
  void set(const std::string& name, FakeDnsConfig config);
  void set_default(FakeDnsConfig config);

  int queries_received() const { return queries_received_.load(); }
  std::vector<std::string> names_seen() const;  // query names in arrival order, lower-case

 private:
  void serve();

  FakeDnsConfig config_for(const std::string& name) const;

  int socket_ = -1;
  int wake_ = -1;  // eventfd that stops the thread
  uint16_t port_ = 0;
  bool ipv6_ = false;
  mutable std::mutex mutex_;
  FakeDnsConfig default_config_;
  std::map<std::string, FakeDnsConfig> by_name_;
  std::vector<std::string> names_seen_;
  std::atomic<int> queries_received_{0};
  std::thread thread_;
};

// Every datagram the server sends for `query` under config, in sending order (wrong-ID forgery,
// injection, the real reply and its duplicates); empty when it sends nothing.
std::vector<FakeDnsDatagram> fake_dns_datagrams(const std::vector<uint8_t>& query, const FakeDnsConfig& config);

// Builds the reply the server would send to `query` (exposed for seed corpora and parser tests);
// empty when the query cannot be parsed or the mode sends nothing.
std::vector<uint8_t> fake_dns_reply(const std::vector<uint8_t>& query, const FakeDnsConfig& config);
// Encodes a standard query (RD set) for name and type (1 = A, 28 = AAAA) with the given ID.
std::vector<uint8_t> encode_dns_query(uint16_t id, const std::string& name, uint16_t type);

}  // namespace kuzet::tests
