#include <nlohmann/json.hpp>

#include <type_traits>

#include "core/encoding/json_struct.hpp"
#include "packets/findings.hpp"

namespace kuzet::packets {

// Each kind writes only its own facts: the schema (docs/measurement-schema.md) lists them per kind.
void to_json(nlohmann::json& j, const PacketFinding& f) {
  j = {{"kind", f.kind}, {"peer", f.peer}, {"signs", f.signs}, {"t_ms", f.t_ms}};
  if (f.kind == kind::rst_injection) {
    j["rst_ttl"] = f.rst_ttl;
    j["server_ttls"] = f.server_ttls;
    if (f.rst_ip_id >= 0) {
      j["rst_ip_id"] = f.rst_ip_id;
      j["server_ip_ids"] = f.server_ip_ids;
    }
    j["rst_count"] = f.rst_count;
    j["packets_after_rst"] = f.packets_after_rst;
    j["rst_seq_offset"] = f.rst_seq_offset;
  } else if (f.kind == kind::dns_injection) {
    j["query_name"] = f.query_name;
    j["query_type"] = f.query_type;
    j["query_id"] = f.query_id;
    j["replies"] = f.replies;
    j["injected_answers"] = f.injected_answers;
    j["genuine_answers"] = f.genuine_answers;
    j["injected_ttl"] = f.injected_ttl;
    j["genuine_ttl"] = f.genuine_ttl;
    if (f.injected_ip_id >= 0) {
      j["injected_ip_id"] = f.injected_ip_id;
      j["genuine_ip_id"] = f.genuine_ip_id;
    }
    j["gap_ms"] = f.gap_ms;
  } else if (f.kind == kind::silent_drop) {
    j["trigger"] = f.trigger;
    j["retransmissions"] = f.retransmissions;
    j["silence_ms"] = f.silence_ms;
  } else if (f.kind == kind::hop) {
    j["hop"] = f.hop;
    j["max_ttl"] = f.max_ttl;
    j["trigger"] = f.trigger;
    j["failure"] = f.failure;
  } else if (f.kind == kind::policer) {
    j["rate_bps"] = f.rate_bps;
    j["rate_variation"] = f.rate_variation;
    j["loss_events"] = f.loss_events;
    j["loss_interval_ms"] = f.loss_interval_ms;
    j["rtt_base_ms"] = f.rtt_base_ms;
    j["rtt_at_loss_ms"] = f.rtt_at_loss_ms;
  }
}

namespace {

// An integer fact (or a list of them): only integers that fit, never a cast float (core/encoding/json_struct.hpp).
template <class T>
void read_integers(const nlohmann::json& j, const char* key, T& field, const std::type_identity_t<T>& fallback) {
  field = core::json_value(j, key, fallback);
}

}  // namespace

void from_json(const nlohmann::json& j, PacketFinding& f) {
  f = PacketFinding{};
  f.kind = j.at("kind").get<std::string>();
  f.peer = j.value("peer", "");
  f.signs = j.value("signs", std::vector<std::string>{});
  f.t_ms = j.value("t_ms", 0.0);
  read_integers(j, "rst_ttl", f.rst_ttl, 0);
  read_integers(j, "server_ttls", f.server_ttls, std::vector<int>{});
  read_integers(j, "rst_ip_id", f.rst_ip_id, -1);
  read_integers(j, "server_ip_ids", f.server_ip_ids, std::vector<int>{});
  read_integers(j, "rst_count", f.rst_count, 0);
  read_integers(j, "packets_after_rst", f.packets_after_rst, 0);
  read_integers(j, "rst_seq_offset", f.rst_seq_offset, 0LL);
  f.query_name = j.value("query_name", "");
  f.query_type = j.value("query_type", "");
  read_integers(j, "query_id", f.query_id, 0);
  read_integers(j, "replies", f.replies, 0);
  f.injected_answers = j.value("injected_answers", std::vector<std::string>{});
  f.genuine_answers = j.value("genuine_answers", std::vector<std::string>{});
  read_integers(j, "injected_ttl", f.injected_ttl, 0);
  read_integers(j, "genuine_ttl", f.genuine_ttl, 0);
  read_integers(j, "injected_ip_id", f.injected_ip_id, -1);
  read_integers(j, "genuine_ip_id", f.genuine_ip_id, -1);
  f.gap_ms = j.value("gap_ms", 0.0);
  f.trigger = j.value("trigger", "");
  read_integers(j, "retransmissions", f.retransmissions, 0);
  f.silence_ms = j.value("silence_ms", 0.0);
  f.rate_bps = j.value("rate_bps", 0.0);
  f.rate_variation = j.value("rate_variation", 0.0);
  read_integers(j, "loss_events", f.loss_events, 0);
  f.loss_interval_ms = j.value("loss_interval_ms", 0.0);
  f.rtt_base_ms = j.value("rtt_base_ms", 0.0);
  f.rtt_at_loss_ms = j.value("rtt_at_loss_ms", 0.0);
  read_integers(j, "hop", f.hop, 0);
  read_integers(j, "max_ttl", f.max_ttl, 0);
  f.failure = j.value("failure", "");
}

int locate_hop(const std::vector<std::string>& outcomes, const std::string& interference) {
  for (size_t k = 0; k < outcomes.size(); ++k) {
    if (outcomes[k] == interference) return static_cast<int>(k) + 1;
    if (outcomes[k].empty()) return 0;  // the server itself answered: nothing in between did
  }
  return 0;
}

}  // namespace kuzet::packets
