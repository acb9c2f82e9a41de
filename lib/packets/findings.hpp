#pragma once
// What the packets of one measurement show about how it was interfered with (docs/packet-evidence.md).
// Typed here; JSON in findings_json.cpp (the "packet_evidence" list of a measurement record).
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace kuzet::packets {

namespace kind {
inline constexpr std::string_view rst_injection = "rst_injection";  // a TCP RST the server did not send
inline constexpr std::string_view dns_injection = "dns_injection";  // two different replies to one query
inline constexpr std::string_view silent_drop = "silent_drop";      // the request vanished after the handshake
inline constexpr std::string_view policer = "policer";              // a flat rate enforced by dropping
inline constexpr std::string_view hop = "hop";                      // where on the path the injector sits (--locate)
}  // namespace kind

// The signs a finding rests on (its "signs" list).
namespace sign {
inline constexpr std::string_view ttl = "ttl";                  // IP TTL unlike the real sender's packets
inline constexpr std::string_view ip_id = "ip_id";              // IP ID outside the real sender's sequence
inline constexpr std::string_view data_after_rst = "data_after_rst";  // the server went on after "its" RST
inline constexpr std::string_view seq_window = "seq_window";    // RST sequence number outside the window
inline constexpr std::string_view answers_differ = "answers_differ";  // replies to one query disagree
inline constexpr std::string_view retransmitted = "retransmitted";    // the request was sent again, unanswered
inline constexpr std::string_view flat_rate = "flat_rate";
inline constexpr std::string_view regular_losses = "regular_losses";
inline constexpr std::string_view no_queueing = "no_queueing";  // losses without the delay a full queue adds
}  // namespace sign

struct PacketFinding {
  std::string kind;
  std::string peer;  // the server's or resolver's "address:port" ([v6]:port)
  std::vector<std::string> signs;
  double t_ms = 0;   // when the finding's packet arrived, since the flow's first packet (SYN or query)

  // rst_injection: the RST against the server's own packets of the same connection
  int rst_ttl = 0;
  std::vector<int> server_ttls;
  int rst_ip_id = -1;               // -1: IPv6 (no IP ID)
  std::vector<int> server_ip_ids;   // up to 8, in arrival order
  int rst_count = 0;                // RSTs "from the server" in that connection
  int packets_after_rst = 0;        // server packets that still arrived after the first one
  long long rst_seq_offset = 0;     // RST sequence number minus the server's next expected one

  // dns_injection
  std::string query_name;
  std::string query_type;
  int query_id = 0;
  int replies = 0;
  std::vector<std::string> injected_answers;  // "A 31.13.72.9"; "NXDOMAIN" for an empty reply
  std::vector<std::string> genuine_answers;
  int injected_ttl = 0, genuine_ttl = 0;      // IP TTLs of the two replies
  int injected_ip_id = -1, genuine_ip_id = -1;
  double gap_ms = 0;                          // between the injected reply and the genuine one

  // silent_drop
  std::string trigger;  // "tls_client_hello", "http_request", "data"
  int retransmissions = 0;
  double silence_ms = 0;  // from the request to the last packet of the connection

  // policer
  double rate_bps = 0;          // delivered rate once the losses started
  double rate_variation = 0;    // coefficient of variation of the rate over fixed windows
  int loss_events = 0;
  double loss_interval_ms = 0;  // median time between loss events
  double rtt_base_ms = 0;       // lowest round-trip time seen
  double rtt_at_loss_ms = 0;    // typical round-trip time just before a loss

  // hop (kuzet-probe run --locate): the trigger (`trigger`) resent with IP TTL 1, 2, ...; the interference
  // (`failure`, e.g. tls.reset) first answered at `hop`, so the box sits `hop` routers away.
  int hop = 0;
  int max_ttl = 0;  // the highest TTL tried
  std::string failure;
};

// The hop of an injector from TTL-limited repeats: outcomes[k] is the failure ("" = the server answered)
// of the trigger sent with TTL k + 1. The first TTL whose outcome is `interference` (an injected reset
// answers once the trigger reaches the box, even though it expires there); 0 when the server answered first
// or the interference never showed.
int locate_hop(const std::vector<std::string>& outcomes, const std::string& interference);

void to_json(nlohmann::json& j, const PacketFinding& f);
void from_json(const nlohmann::json& j, PacketFinding& f);

}  // namespace kuzet::packets
