// The verdict engine: observations + control + knowledge -> verdict. Decision table: docs/verdicts.md.
// Order of the walk: run-level offline, then per target the strong local evidence, then layer by layer
// (DNS, TCP, TLS, certificate, HTTP, page, throughput) comparing with the control at each layer.
#include "analysis/analysis.hpp"
#include "measure/http/url.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "analysis/rules.hpp"
#include "core/vocabulary/evidence.hpp"
#include "core/vocabulary/failure.hpp"
#include "core/vocabulary/method.hpp"
#include "core/vocabulary/verdict.hpp"
#include "i18n/embedded_verdicts.hpp"
#include "i18n/i18n.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::analysis {
namespace {

namespace failure = core::failure;
namespace method = core::method;
namespace verdict = core::verdict;

using measure::HttpRequest;
using measure::TargetObservations;
using measure::TlsHandshake;
using Args = std::vector<std::pair<std::string, std::string>>;

Message msg(std::string key, Args args = {}, std::vector<Message> parts = {}) {
  return Message{"", std::move(key), std::move(args), std::move(parts)};
}
// A clause filling the placeholder `name` of the message it is given to.
Message clause(std::string name, std::string key, Args args = {}) {
  return Message{std::move(name), std::move(key), std::move(args), {}};
}

std::string render(const Message& m, const i18n::Catalog& texts) {
  Args values = m.args;
  for (const auto& part : m.parts) values.emplace_back(part.name, render(part, texts));
  return texts.format(m.key, values);
}

const i18n::Catalog& english() {
  static const i18n::Catalog texts = i18n::Catalog::embedded(i18n::embedded::verdicts, i18n::kDefaultLanguage);
  return texts;
}

enum class Layer { none = 0, dns, tcp, tls, http };

// What one vantage point saw, reduced layer by layer.
struct View {
  bool https = false;
  bool resolved = false;
  bool connected = false;
  bool handshake = false;                // https: a TLS handshake completed; http: same as connected
  const TlsHandshake* tls = nullptr;     // the completed handshake HTTP used (or the first completed)
  bool verified = false;                 // that handshake's chain verified for the host, publicly
  bool trusted_locally_only = false;     // it verified against this machine's store but not the public bundle
  const HttpRequest* response = nullptr;  // final response of the redirect chain
  bool body_flowing = false;  // the response timed out while its body was still arriving (slow, not cut)
  Layer failed_at = Layer::none;  // first failing layer; none when a usable response arrived
  std::string failure;            // raw failure string at failed_at
  size_t failed_hop = 0;          // http: index of the failing request
};

std::string first_nonempty(std::initializer_list<std::string> values, std::string fallback) {
  for (const auto& v : values)
    if (!v.empty()) return v;
  return fallback;
}

View view_of(const TargetObservations& o) {
  View v;
  v.https = o.scheme == "https";
  v.resolved = !o.dns.addresses.empty();
  if (!v.resolved) {
    std::string from_queries;
    for (const auto& q : o.dns.queries)
      if (from_queries.empty() && !q.failure.empty()) from_queries = q.failure;
    v.failed_at = Layer::dns;
    v.failure = first_nonempty({o.dns.failure, from_queries}, std::string(failure::dns_no_answer));
    return v;
  }
  for (const auto& c : o.tcp)
    if (c.failure.empty()) v.connected = true;
  if (!v.connected) {
    v.failed_at = Layer::tcp;
    v.failure = o.tcp.empty() ? std::string(failure::tcp_error) : o.tcp.front().failure;
    return v;
  }
  const HttpRequest* first_request = o.http && !o.http->requests.empty() ? &o.http->requests.front() : nullptr;
  if (v.https) {
    // The handshake that matters: the one on the address HTTP used, else a verified one, else any completed.
    // (A control's list may also hold handshakes with the probe's addresses, which need not be the site.)
    auto rank = [&](const TlsHandshake& h) {
      if (first_request && h.address == first_request->address) return 2;
      return h.verify_failure.empty() ? 1 : 0;
    };
    for (const auto& h : o.tls)
      if (h.failure.empty() && (!v.tls || rank(h) > rank(*v.tls))) v.tls = &h;
    v.handshake = v.tls != nullptr;
    if (!v.handshake) {
      v.failed_at = Layer::tls;
      v.failure = o.tls.empty() ? std::string(failure::tls_error) : o.tls.front().failure;
      return v;
    }
    // Verified means accepted by the public web PKI. A chain only this machine's store accepts (a root the
    // user installed, checked against the pristine public bundle) is trusted locally only.
    v.trusted_locally_only = v.tls->verify_failure.empty() && !v.tls->public_trust.empty() &&
                             !v.tls->public_verify_failure.empty();
    v.verified = measure::publicly_verified(*v.tls);
  } else {
    v.handshake = true;
  }
  if (!o.http) {
    v.failed_at = Layer::http;  // not measured
    return v;
  }
  v.response = final_response(*o.http);
  if (v.response && !o.http->failure.empty()) {
    const bool timed_out = o.http->failure.size() > 8 &&
                           o.http->failure.compare(o.http->failure.size() - 8, 8, ".timeout") == 0;
    v.body_flowing = timed_out && v.response->body_length >= kMinThroughputBytes;
  }
  if (v.response && (o.http->failure.empty() || v.body_flowing)) return v;
  v.failed_at = Layer::http;
  v.failure = first_nonempty({o.http->failure}, std::string(failure::http_error));
  v.failed_hop = o.http->requests.empty() ? 0 : o.http->requests.size() - 1;
  return v;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

bool is_2xx(int status) { return status >= 200 && status < 300; }

std::string fmt_bps(double bps) {
  char buf[32];
  if (bps >= 1e6) snprintf(buf, sizeof buf, "%.1f Mbit/s", bps / 1e6);
  else snprintf(buf, sizeof buf, "%.0f kbit/s", bps / 1e3);
  return buf;
}

std::string num(double value) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.0f", value);
  return buf;
}

// Per-target throughput facts, computed over the whole run (the baseline needs every target).
struct ThroughputCheck {
  bool judged = false;   // the body was big enough and there was something to compare its rate with
  bool suspect = false;  // <= 1/10 of the baseline and of the control (of whichever exists)
  double local_bps = 0, baseline_bps = 0, control_bps = 0;
  size_t baseline_targets = 0;
};

// Looks uncensored and carried enough bytes for its rate to mean something.
bool usable_for_baseline(const TargetInput& t) {
  const View v = view_of(t.observations);
  if (v.failed_at != Layer::none || !v.response || !t.observations.http) return false;
  if (v.https && !v.verified) return false;
  if (!is_2xx(v.response->status) || v.response->body_length < kMinRateBytes) return false;
  return effective_throughput_bps(*t.observations.http) > 0;
}

// A policer holds the flow of a name to a fixed rate (SNI throttling: Russia 2021, Kazakhstan 2022), whatever
// the size of the object. A target is a suspect when its body rate is a tenth or less of the same link's other
// targets (same minutes) and of the control's rate for the same object; with no other target, the control
// alone. Suspects are confirmed or cleared by fetches from the same address (judge_throughput).
std::vector<ThroughputCheck> check_throughput(const std::vector<TargetInput>& targets) {
  std::vector<ThroughputCheck> checks(targets.size());
  std::vector<bool> usable(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) usable[i] = usable_for_baseline(targets[i]);
  for (size_t i = 0; i < targets.size(); ++i) {
    const auto& o = targets[i].observations;
    const View v = view_of(o);
    if (v.failed_at != Layer::none || !v.response || v.response->body_length < kMinRateBytes) continue;
    auto& c = checks[i];
    c.local_bps = effective_throughput_bps(*o.http);
    if (c.local_bps <= 0) continue;
    // The baseline is the other targets of the same run: same link, same time.
    std::vector<double> others;
    for (size_t j = 0; j < targets.size(); ++j)
      if (j != i && usable[j]) others.push_back(effective_throughput_bps(*targets[j].observations.http));
    if (auto base = median(others)) {
      c.baseline_bps = *base;
      c.baseline_targets = others.size();
    }
    const auto& control = targets[i].control;
    if (control && control->failure.empty() && control->target.http) {
      const View cv = view_of(control->target);
      if (cv.failed_at == Layer::none && cv.response && cv.response->body_length >= kMinRateBytes)
        c.control_bps = effective_throughput_bps(*control->target.http);
    }
    c.judged = c.baseline_bps > 0 || c.control_bps > 0;
    if (!c.judged) continue;
    c.suspect = (c.baseline_bps <= 0 || c.local_bps * kThrottleFactor <= c.baseline_bps) &&
                (c.control_bps <= 0 || c.local_bps * kThrottleFactor <= c.control_bps) &&
                body_transfer_ms(*o.http) >= kMinSlowTransferMs;
  }
  return checks;
}

// Builds one target's verdict; the walk returns at the first decision.
class TargetJudge {
 public:
  TargetJudge(const TargetInput& input, const Knowledge& knowledge, const ThroughputCheck& throughput)
      : in_(input), o_(input.observations), knowledge_(knowledge), throughput_(throughput) {}

  Verdict run() {
    local_ = view_of(o_);
    const auto& c = in_.control;
    if (c) {
      for (const auto& info : c->addresses) address_info_[info.address] = info;
      if (c->failure.empty()) control_ = view_of(c->target);
    }
    add("control", control_ ? "measured" : c ? "unavailable: " + first_nonempty({c->failure}, "?") : "absent");
    if (auto v = judge_dns()) return *v;
    if (auto v = judge_known_interception()) return *v;
    if (auto v = judge_connection()) return *v;
    if (auto v = judge_certificate()) return *v;
    if (auto v = judge_http_failure()) return *v;
    if (auto v = judge_page()) return *v;
    return judge_throughput();
  }

 private:
  Verdict make(std::string_view verdict, std::string_view method, Message message) {
    Verdict v;
    v.verdict = std::string(verdict);
    v.method = std::string(method);
    v.explanation = render(message, english());
    v.message = std::move(message);
    v.evidence = evidence_;
    return v;
  }
  void add(std::string key, std::string value) { evidence_.push_back({std::move(key), std::move(value)}); }

  bool bogon(const std::string& address) const {
    auto it = address_info_.find(address);
    return (it != address_info_.end() && it->second.bogon) || is_bogon_address(address);
  }
  uint32_t asn(const std::string& address) const {
    auto it = address_info_.find(address);
    return it == address_info_.end() ? 0 : it->second.asn;
  }
  const TargetObservations& control_target() const { return in_.control->target; }

  // A DNS answer points at a relaying proxy, not a blockpage, when the exchange went through one of these
  // addresses with a certificate the public web PKI accepts for the host: only the site holds that key, so
  // the proxy relayed the site. (Over plain HTTP nothing proves the origin.)
  bool relayed_verified(const std::vector<std::string>& addresses) const {
    if (!local_.verified || !local_.tls || local_.failed_at != Layer::none) return false;
    return std::find(addresses.begin(), addresses.end(), local_.tls->address) != addresses.end();
  }

  // The local answer is a known blockpage: the address of a known blockpage server, or a page (any hop)
  // matching a known fingerprint. Adds the evidence and returns the blockpage's name.
  std::optional<std::string> known_blockpage_answer() {
    for (const auto& fp : knowledge_.blockpages) {
      const auto& addrs = o_.dns.addresses;
      const bool by_address = !fp.address.empty() && std::find(addrs.begin(), addrs.end(), fp.address) != addrs.end();
      bool by_page = false;
      if (o_.http)
        for (const auto& hop : o_.http->requests) by_page = by_page || (hop.status > 0 && fingerprint_matches(fp, hop));
      if (!by_address && !by_page) continue;
      if (by_address) add("dns.blockpage_address", fp.address);
      add(std::string(core::evidence::blockpage), fp.name);
      return fp.name;
    }
    return std::nullopt;
  }

  // A layer failed here. Compare with how far the control got.
  Verdict failed_layer(Layer layer, const std::string& layer_method, Message what) {
    what.name = "what";
    add("failure", local_.failure);
    if (!control_ && bogon_everywhere_)
      return make(verdict::down, layer_method, msg("layer.down_private_record", {}, {what}));
    if (!control_) {
      // A reset the packets show was forged (docs/packet-evidence.md) needs no control: not the server's.
      if (const auto* rst = injected_rst(layer_method)) {
        add(std::string(core::evidence::packets_rst_injection), rst->peer);
        return make(verdict::blocked, layer_method, msg("layer.rst_injected", {{"peer", rst->peer}}, {what}));
      }
      return make(verdict::inconclusive, method::none, msg("layer.no_control", {}, {what}));
    }
    if (control_->failed_at != Layer::none && control_->failed_at <= layer) {
      add("control.failure", control_->failure);
      return make(verdict::down, layer_method, msg("layer.down", {{"control_failure", control_->failure}}, {what}));
    }
    if (dns_inconsistent_ && !local_.verified && layer != Layer::dns)
      return make(verdict::blocked, method::dns_hijack, msg("layer.dns_hijack", {{"failure", local_.failure}}));
    return make(verdict::blocked, layer_method, msg("layer.blocked", {}, {what}));
  }

  const packets::PacketFinding* injected_rst(const std::string& layer_method) const {
    if (layer_method != method::tcp_reset && layer_method != method::tls_reset && layer_method != method::http_reset)
      return nullptr;
    for (const auto& f : o_.packet_evidence)
      if (f.kind == packets::kind::rst_injection) return &f;
    return nullptr;
  }

  // Two different replies to one query in the packets, the odd one named by its TTL / IP ID or by winning
  // the race (docs/packet-evidence.md): on-path injection, decisive without a control. Only when the
  // forged answer is what this measurement used or recorded.
  std::optional<Verdict> judge_injected_packets() {
    for (const auto& f : o_.packet_evidence) {
      if (f.kind != packets::kind::dns_injection) continue;
      std::vector<std::string> forged;
      for (const auto& a : f.injected_answers) {
        const auto space = a.find(' ');
        if (space == std::string::npos) continue;
        const std::string value = a.substr(space + 1);
        bool recorded = false;
        for (const auto& q : o_.dns.queries)
          for (const auto& ans : q.answers) recorded = recorded || ans.value == value;
        if (recorded) forged.push_back(value);
      }
      if (forged.empty()) continue;
      add(std::string(core::evidence::packets_dns_injection), join(forged));
      return make(verdict::blocked, injection_method(forged),
                  msg("dns.injected_packets", {{"type", f.query_type}, {"addresses", join(forged)},
                                               {"genuine", join(f.genuine_answers)}}));
    }
    return std::nullopt;
  }

  std::optional<Verdict> judge_dns() {
    const auto& local_addresses = o_.dns.addresses;
    add("dns.local", join(local_addresses));
    if (control_) add("dns.control", join(control_target().dns.addresses));
    if (!local_.resolved) {
      const std::string layer_method = dns_method(local_.failure);
      add("failure", local_.failure);
      const Message what = clause("what", "what.dns", {{"host", o_.dns.hostname}, {"failure", local_.failure}});
      if (!control_) return make(verdict::inconclusive, method::none, msg("dns.no_control", {}, {what}));
      if (!control_->resolved) {
        add("control.failure", control_->failure);
        return make(verdict::down, layer_method, msg("dns.down", {{"control_failure", control_->failure}}, {what}));
      }
      return make(verdict::blocked, layer_method, msg(layer_method == method::dns_nxdomain ? "dns.denied" : "dns.unanswered", {}, {what}));
    }

    // A URL that names an address was never looked up: nobody answered it, so there is no DNS to judge.
    if (o_.dns.queries.empty() && measure::http::is_ip_literal(o_.host)) {
      add("dns", "none: the URL names an address");
      return std::nullopt;
    }

    // A name that exists nowhere (the control's resolver denies it) but got an answer here: whoever answered
    // (an injector, a resolver that answers everything) did not keep a site from anyone. Down, unless the
    // answer here led to the site proven by a verified certificate (then the control's DNS was the odd one).
    if (control_ && !control_->resolved && dns_method(control_->failure) == method::dns_nxdomain &&
        !(local_.verified && local_.failed_at == Layer::none)) {
      add("control.failure", control_->failure);
      add("dns.note", "answered here, but the name does not exist at the control");
      // Unless the answer is a known blockpage (its address, or its page): then the network keeps the name
      // on its block list even though the site is gone, and known blockpages are decisive (rule 6.1). An
      // unknown page here is more likely a resolver that answers every nonexistent name (ISP search pages).
      if (auto bp = known_blockpage_answer())
        return make(verdict::blocked, method::dns_hijack, msg("dns.nonexistent_blockpage", {{"host", o_.dns.hostname}, {"control_failure", control_->failure}, {"blockpage", *bp}}));
      return make(verdict::down, method::dns_nxdomain, msg("dns.nonexistent", {{"host", o_.dns.hostname}, {"control_failure", control_->failure}, {"addresses", join(local_addresses)}}));
    }

    if (auto v = judge_injected_packets()) return v;

    std::vector<std::string> local_bogons;
    for (const auto& a : local_addresses)
      if (bogon(a)) local_bogons.push_back(a);
    // The control's DNS answer counts even when the control then refused to go on: a collector does not
    // connect to private addresses ("control.private_address"), which itself says its answer was a bogon.
    bool control_bogon = false;
    if (in_.control) {
      for (const auto& a : in_.control->target.dns.addresses) control_bogon = control_bogon || bogon(a);
      control_bogon = control_bogon || in_.control->failure == "control.private_address";
    }
    bogon_everywhere_ = !local_bogons.empty() && control_bogon;
    if (!local_bogons.empty() && !control_bogon) {
      add("dns.bogons", join(local_bogons));
      if (relayed_verified(local_bogons)) {
        add("dns.note", "a private address, but the server there proved to be the site (verified certificate): a relaying proxy");
        return std::nullopt;
      }
      return make(verdict::blocked, method::dns_bogon, msg("dns.bogon", {{"addresses", join(local_bogons)}}));
    }

    for (const auto& fp : knowledge_.blockpages) {
      if (fp.address.empty()) continue;
      if (std::find(local_addresses.begin(), local_addresses.end(), fp.address) != local_addresses.end()) {
        add("dns.blockpage_address", fp.address);
        if (relayed_verified({fp.address})) {
          add("dns.note", "a known blockpage address, but the server there proved to be the site (verified certificate)");
          continue;
        }
        add(std::string(core::evidence::blockpage), fp.name);
        return make(verdict::blocked, method::dns_hijack, msg("dns.blockpage_address", {{"address", fp.address}, {"blockpage", fp.name}}));
      }
    }

    // Consistency with the control: same address, same network (CDNs answer by region), or the control itself
    // reached one of our addresses with a certificate that verifies for the host.
    if (control_ && control_->resolved) {
      const auto& ctl = control_target();
      std::set<std::string> ctl_ips(ctl.dns.addresses.begin(), ctl.dns.addresses.end());
      std::set<uint32_t> ctl_asns;
      for (const auto& a : ctl.dns.addresses)
        if (asn(a) != 0) ctl_asns.insert(asn(a));
      std::string how;
      for (const auto& a : local_addresses)
        if (ctl_ips.count(a) && how.empty()) how = "ip";
      // Without any network data for our answers a CDN cannot be ruled out: say "unknown", claim no hijack.
      // (An address the collector looked up and found unannounced has an entry with asn 0: that counts.)
      bool any_local_info = false;
      for (const auto& a : local_addresses) any_local_info = any_local_info || address_info_.count(a) > 0;
      for (const auto& a : local_addresses)
        if (how.empty() && asn(a) != 0 && ctl_asns.count(asn(a))) how = "asn " + std::to_string(asn(a));
      for (const auto& h : ctl.tls)
        if (how.empty() && h.failure.empty() && h.verify_failure.empty() &&
            std::find(local_addresses.begin(), local_addresses.end(), h.address) != local_addresses.end())
          how = "control verified TLS at " + h.address;
      if (how.empty() && !any_local_info) {
        add("dns.consistency", "unknown (no network data for the local answers)");
        return std::nullopt;
      }
      dns_inconsistent_ = how.empty();
      add("dns.consistency", how.empty() ? "none" : how);
      if (auto v = judge_injection(ctl_ips, ctl_asns)) return v;
    } else {
      add("dns.consistency", "unknown");
    }
    return std::nullopt;
  }

  // On-path injection races the real reply with a forged one; a resolver that keeps listening after the
  // first reply ("Hold-On") records both. Two different replies to one query, or one answer set mixing the
  // control's network with a foreign address that does not work, cannot come from one honest resolver.
  // The method vocabulary is closed (issue 5): an injected answer is a hijack of the name, or a bogon when the
  // forged address is one. "dns.injected" evidence says how it was seen.
  static std::string injection_method(const std::vector<std::string>& forged) {
    for (const auto& a : forged)
      if (is_bogon_address(a)) return std::string(method::dns_bogon);
    return std::string(method::dns_hijack);
  }

  std::optional<Verdict> judge_injection(const std::set<std::string>& ctl_ips, const std::set<uint32_t>& ctl_asns) {
    auto consistent = [&](const std::string& a) { return ctl_ips.count(a) > 0 || (asn(a) != 0 && ctl_asns.count(asn(a)) > 0); };
    auto foreign = [&](const std::string& a) { return !consistent(a) && address_info_.count(a) > 0; };
    // 1. Several replies recorded for one query type, with different address sets.
    std::map<std::string, std::set<std::set<std::string>>> replies;
    for (const auto& q : o_.dns.queries) {
      std::set<std::string> set;
      for (const auto& a : q.answers)
        if (a.type == "A" || a.type == "AAAA") set.insert(a.value);
      if (!set.empty()) replies[q.query_type].insert(set);
    }
    for (const auto& [type, sets] : replies) {
      if (sets.size() < 2) continue;
      std::vector<std::string> forged;
      for (const auto& set : sets)
        for (const auto& a : set)
          if (foreign(a)) forged.push_back(a);
      if (forged.empty()) continue;
      add("dns.injected", join(forged));
      return make(verdict::blocked, injection_method(forged), msg("dns.injected_replies", {{"type", type}, {"addresses", join(forged)}}));
    }
    // 2. One answer set mixing the control's network with foreign addresses that do not work here.
    std::vector<std::string> good, forged;
    for (const auto& a : o_.dns.addresses) (consistent(a) ? good : forged).push_back(a);
    if (good.empty() || forged.empty()) return std::nullopt;
    for (const auto& a : forged) {
      if (!foreign(a)) return std::nullopt;
      for (const auto& c : o_.tcp)
        if (c.address == a && c.failure.empty() && (!local_.https)) return std::nullopt;
      for (const auto& h : o_.tls)
        if (h.address == a && h.failure.empty() && h.verify_failure.empty()) return std::nullopt;
      bool tried = false;
      for (const auto& c : o_.tcp) tried = tried || c.address == a;
      if (!tried) return std::nullopt;  // never tested: could be a CDN address we did not get to
    }
    add("dns.injected", join(forged));
    return make(verdict::blocked, injection_method(forged), msg("dns.injected_mixed", {{"addresses", join(forged)}}));
  }

  std::optional<Verdict> judge_known_interception() {
    const auto& roots = knowledge_.interception_roots;
    if (roots.empty()) return std::nullopt;
    // What the control was shown: a root it sees too is the site's own business (or a lab), not interception.
    std::vector<measure::CertificateInfo> control_certs;
    if (control_)
      for (const auto& h : control_target().tls) control_certs.insert(control_certs.end(), h.chain.begin(), h.chain.end());
    for (const auto& h : o_.tls) {
      if (!h.failure.empty()) continue;
      std::string root = known_root_in_chain(h.chain, roots);
      std::string how = "certificate or key hash";
      if (!root.empty() && !known_root_in_chain(control_certs, roots).empty()) root.clear();
      if (root.empty()) {
        root = known_root_named_in_chain(h.chain, roots);
        how = "issuer name";
        if (!root.empty() && !known_root_named_in_chain(control_certs, roots).empty()) root.clear();
      }
      if (root.empty()) continue;
      add(std::string(core::evidence::tls_known_root), root);
      add("tls.known_root_matched_by", how);
      add("tls.verify", first_nonempty({h.verify_failure}, "verified"));
      if (!h.chain.empty()) add("tls.local_issuer", h.chain.front().issuer);
      return make(verdict::intercepted, method::tls_mitm, msg(h.verify_failure.empty() ? "tls.known_root_trusted" : "tls.known_root", {{"address", h.address}, {"root", root}}));
    }
    return std::nullopt;
  }

  std::optional<Verdict> judge_connection() {
    if (local_.failed_at == Layer::tcp) {
      return failed_layer(Layer::tcp, tcp_method(local_.failure), msg("what.tcp", {{"failure", local_.failure}}));
    }
    if (local_.failed_at == Layer::tls) {
      return failed_layer(Layer::tls, tls_method(local_.failure), msg("what.tls", {{"failure", local_.failure}}));
    }
    return std::nullopt;
  }

  std::optional<Verdict> judge_certificate() {
    if (!local_.https || !local_.tls || local_.verified) {
      if (local_.verified && control_ && control_->tls && !local_.tls->chain.empty() &&
          !control_->tls->chain.empty() && local_.tls->chain.front().sha256 != control_->tls->chain.front().sha256)
        add("tls.note", "leaf differs from the control's but verifies publicly (rotation or CDN)");
      return std::nullopt;
    }
    const auto& h = *local_.tls;
    // A chain this machine trusts but the public web PKI does not: judged by the public verdict. The user (or
    // an administrator) installed the root that signs it, so a browser here shows no warning.
    const std::string vf = local_.trusted_locally_only ? h.public_verify_failure : h.verify_failure;
    add("tls.verify", vf);
    if (local_.trusted_locally_only) {
      add("tls.public_trust", h.public_trust);
      add("tls.local_trust", "this machine trusts the chain (a root installed locally); the public web PKI does not");
    }
    if (!h.chain.empty()) add("tls.local_leaf", h.chain.front().sha256), add("tls.local_issuer", h.chain.front().issuer);
    const Message what = clause("what", local_.trusted_locally_only ? "what.cert_public" : "what.cert", {{"address", h.address}, {"host", o_.host}, {"verify", vf}});
    const Message trusted_here = clause("trusted_here", local_.trusted_locally_only ? "clause.trusted_locally" : "clause.none");
    if (!control_ || !control_->handshake || !control_->tls)
      return make(verdict::inconclusive, method::none, msg("cert.no_control", {}, {what, trusted_here}));
    const auto& ch = *control_->tls;
    if (!ch.chain.empty()) add("tls.control_leaf", ch.chain.front().sha256), add("tls.control_issuer", ch.chain.front().issuer);
    bool same_leaf = false;             // the very certificate verified at the control
    bool same_leaf_as_control = false;  // the very certificate the control was shown, verified there or not
    for (const auto& ct : control_target().tls) {
      if (!ct.failure.empty() || ct.chain.empty() || h.chain.empty() || ct.chain.front().sha256 != h.chain.front().sha256) continue;
      same_leaf_as_control = true;
      if (ct.verify_failure.empty()) same_leaf = true;
    }
    if (!control_->verified) {
      // The site's own expired, wrong-name or self-signed certificate, shown identically to the control.
      if (same_leaf_as_control) {
        add("control.tls.verify", ch.verify_failure);
        return make(verdict::down, method::none, msg("cert.down_same", {{"control_verify", ch.verify_failure}}, {what}));
      }
      return make(verdict::inconclusive, method::none, msg("cert.both_broken", {}, {what}));
    }
    if (same_leaf)
      return make(verdict::inconclusive, method::none, msg("cert.local_problem", {}, {what}));
    if (dns_inconsistent_ && !local_.trusted_locally_only)
      return make(verdict::blocked, method::dns_hijack, msg("cert.dns_hijack", {{"verify", vf}}));
    if (vf == failure::tls_expired)
      return make(verdict::inconclusive, method::none, msg("cert.expired", {}, {what}));
    return make(verdict::intercepted, method::tls_mitm, msg("cert.intercepted", {}, {what, trusted_here}));
  }

  std::optional<Verdict> judge_http_failure() {
    if (local_.failed_at != Layer::http) return std::nullopt;
    if (!o_.http) return make(verdict::inconclusive, method::none, msg("http.not_measured"));
    std::string hop_host = o_.host;
    if (local_.failed_hop < o_.http->requests.size()) hop_host = url_host(o_.http->requests[local_.failed_hop].url);
    // The first request runs where our own TCP/TLS steps already succeeded: a TCP/TLS failure there happened
    // during the exchange. A later hop (redirect, maybe to https or another host) needed its own resolution,
    // connection and handshake, so its failure belongs to that layer.
    const bool first_hop = local_.failed_hop == 0;
    std::string layer_method = first_hop ? http_method(local_.failure) : method_for_failure(local_.failure);
    if (layer_method.empty() && !first_hop) layer_method = http_method(local_.failure);
    add("http.failed_hop", std::to_string(local_.failed_hop));
    add("http.failed_host", hop_host);
    if (layer_method.empty()) {
      // Redirect loops and too many redirects: the site's configuration. The control following the same
      // chain into the same failure proves it (down); alone it says nothing about the network.
      add("failure", local_.failure);
      if (control_ && control_->failed_at == Layer::http && control_->failure == local_.failure) {
        add("control.failure", control_->failure);
        return make(verdict::down, method::none, msg("http.down_config", {{"failure", local_.failure}}));
      }
      return make(verdict::inconclusive, method::none, msg("http.unattributed", {{"failure", local_.failure}}));
    }
    if (!first_hop)  // the control followed the same chain: failed_layer compares with how far it got
      return failed_layer(Layer::http, layer_method, msg("what.redirect", {{"url", o_.http->requests[local_.failed_hop].url}, {"failure", local_.failure}}));
    return failed_layer(Layer::http, layer_method, msg("what.http", {{"failure", local_.failure}}));
  }

  std::optional<Verdict> judge_page() {
    const HttpRequest& r = *local_.response;
    add("http.status", std::to_string(r.status));
    add("http.body_length", std::to_string(r.body_length));
    add("http.title", r.title);
    const bool hijack_possible = dns_inconsistent_ && !local_.verified;
    const HttpRequest* cr = control_ ? control_->response : nullptr;
    if (cr) {
      add("http.control_status", std::to_string(cr->status));
      add("http.control_body_length", std::to_string(cr->body_length));
      add("http.control_title", cr->title);
    }
    // Known fingerprints on any hop (a blockpage may redirect onwards), unless the control got the same.
    for (const auto& fp : knowledge_.blockpages) {
      bool local_match = false, control_match = false;
      for (const auto& hop : o_.http->requests)
        if (hop.status > 0 && fingerprint_matches(fp, hop)) local_match = true;
      if (control_ && control_target().http)
        for (const auto& hop : control_target().http->requests)
          if (hop.status > 0 && fingerprint_matches(fp, hop)) control_match = true;
      if (local_match && !control_match) {
        add(std::string(core::evidence::blockpage), fp.name);
        if (hijack_possible)
          return make(verdict::blocked, method::dns_hijack, msg("page.hijack_blockpage", {{"blockpage", fp.name}}));
        return make(verdict::blocked, method::http_blockpage, msg("page.known_blockpage", {{"blockpage", fp.name}}));
      }
    }
    if (!cr) {
      // Local evidence only: a publicly verified TLS connection proves the page came from the site, whatever
      // it says (an error status is the site's own decision).
      if (local_.verified) {
        add("http.note", "no control page; judged by the verified TLS connection");
        return std::nullopt;
      }
      std::string key = !control_ ? "page.no_control" : "page.control_failed";
      if (!local_.https) key += "_plain";
      Args args{{"status", std::to_string(r.status)}};
      if (control_) args.emplace_back("control_failure", control_->failure);
      return make(verdict::inconclusive, method::none, msg(key, args));
    }
    // http-diff against the control.
    std::vector<Message> signal_messages;  // each difference, for the explanation; English in the evidence
    if (r.status != cr->status && !(is_2xx(r.status) && is_2xx(cr->status)) && !is_2xx(r.status))
      signal_messages.push_back(clause("signal", "signal.status", {{"status", std::to_string(r.status)}, {"control_status", std::to_string(cr->status)}}));
    const bool title_differs = !ascii::equals_ignoring_case(ascii::trim(r.title, ascii::kWhitespace),
                                                            ascii::trim(cr->title, ascii::kWhitespace));
    // A body cut by the timeout while still flowing is incomplete by definition: its length says nothing.
    const bool short_body = cr->body_length >= kMinControlBodyForDiff && !r.body_truncated && !local_.body_flowing &&
                            static_cast<double>(r.body_length) < kBodyLengthRatio * static_cast<double>(cr->body_length);
    if (short_body && title_differs)
      signal_messages.push_back(clause("signal", "signal.body", {{"length", std::to_string(r.body_length)}, {"control_length", std::to_string(cr->body_length)}}));
    const std::string local_site = site_of_host(url_host(o_.http->final_url));
    const std::string control_site = site_of_host(url_host(control_target().http->final_url));
    // Over verified TLS a redirect comes from the site itself (geo-redirects are common): only plain HTTP counts.
    if (!local_.https && local_site != control_site && title_differs)
      signal_messages.push_back(clause("signal", "signal.redirect", {{"site", local_site}, {"control_site", control_site}}));
    std::vector<std::string> signals;
    for (const auto& m : signal_messages) signals.push_back(render(m, english()));
    if (!signals.empty() && local_.verified) {
      // Over publicly verified TLS only the site's own servers could answer: a CDN challenge, a geoblock or a
      // broken redirect sent to this network is the site's decision, not the network's interference.
      add("http.diff", join(signals));
      add("http.server_side", "the site's own answer over a publicly verified connection");
      return make(verdict::ok, method::none, msg("page.server_side", {{"title", r.title}}, {signal_messages.front()}));
    }
    if (!signals.empty()) {
      add("http.diff", join(signals));
      if (hijack_possible)
        return make(verdict::blocked, method::dns_hijack, msg("page.dns_hijack", {}, {signal_messages.front()}));
      return make(verdict::blocked, method::http_blockpage, msg("page.blockpage", {}, {signal_messages.front()}));
    }
    return std::nullopt;
  }

  Verdict judge_throughput() {
    const auto& t = throughput_;
    if (t.judged) {
      add("throughput.local_bps", num(t.local_bps));
      if (t.baseline_bps > 0) {
        add("throughput.baseline_bps", num(t.baseline_bps));
        add("throughput.baseline_targets", std::to_string(t.baseline_targets));
      }
      if (t.control_bps > 0) add("throughput.control_bps", num(t.control_bps));
    }
    if (!t.suspect) {
      if (local_.body_flowing && t.judged)
        return make(verdict::ok, method::none, msg("ok.flowing_like_others"));
      if (local_.body_flowing)
        return make(verdict::ok, method::none, msg("ok.flowing_no_reference"));
      if (dns_inconsistent_ && local_.verified)
        return make(verdict::ok, method::none, msg("ok.dns_differs_verified"));
      if (dns_inconsistent_)
        return make(verdict::ok, method::none, msg("ok.dns_differs_same_page"));
      if (!control_ || !control_->response)
        return make(verdict::ok, method::none, msg("ok.verified_no_control"));
      return make(verdict::ok, method::none, msg("ok.matches", {{"status", std::to_string(local_.response->status)}}));
    }
    const Message compared = t.baseline_bps > 0 ? clause("reference", "ref.baseline", {{"rate", fmt_bps(t.baseline_bps)}})
                                                : clause("reference", "ref.control", {{"rate", fmt_bps(t.control_bps)}});
    const auto& neutral = o_.neutral_sni_http;
    if (!neutral)
      return make(verdict::ok, method::none, msg("rate.no_neutral", {{"rate", fmt_bps(t.local_bps)}}, {compared}));
    const double neutral_bps = confirmation_rate_bps(*neutral);
    add("throughput.neutral_sni_bps", num(neutral_bps));
    // The same object again with the site's name, fetched after the neutral one: a policer keyed on the name
    // slows it again; congestion that happened to hit the first fetch has passed by then.
    double repeat_bps = -1;  // -1: no repeat fetch (older probes)
    if (o_.repeat_sni_http) {
      repeat_bps = confirmation_rate_bps(*o_.repeat_sni_http);
      add("throughput.repeat_sni_bps", num(repeat_bps));
    }
    // Faster than the target by kNeutralSpeedup is enough: on a fast path the baseline's short transfers give
    // rates that are mostly noise (Gbit/s), so comparing the neutral fetch with them would clear real throttling.
    const bool neutral_fast = neutral_bps > 0 && neutral_bps >= kNeutralSpeedup * t.local_bps;
    const bool still_slow = repeat_bps < 0 || (repeat_bps > 0 && repeat_bps * kNeutralSpeedup <= neutral_bps);
    if (neutral_fast && still_slow)
      return make(verdict::throttled, method::throughput,
                  repeat_bps > 0 ? msg("rate.throttled_repeat", {{"rate", fmt_bps(t.local_bps)}, {"neutral_rate", fmt_bps(neutral_bps)}, {"repeat_rate", fmt_bps(repeat_bps)}}, {compared})
                                 : msg("rate.throttled", {{"rate", fmt_bps(t.local_bps)}, {"neutral_rate", fmt_bps(neutral_bps)}}, {compared}));
    if (neutral_fast)
      return make(verdict::ok, method::none, msg("rate.congestion_passed", {{"rate", fmt_bps(t.local_bps)}, {"repeat_rate", fmt_bps(repeat_bps)}, {"neutral_rate", fmt_bps(neutral_bps)}}));
    return make(verdict::ok, method::none, msg("rate.slow_path", {{"rate", fmt_bps(t.local_bps)}, {"neutral_rate", fmt_bps(neutral_bps)}}));
  }

  const TargetInput& in_;
  const TargetObservations& o_;
  const Knowledge& knowledge_;
  const ThroughputCheck& throughput_;
  View local_;
  std::optional<View> control_;  // set only when the control measured
  std::map<std::string, measure::AddressInfo> address_info_;
  bool dns_inconsistent_ = false;
  bool bogon_everywhere_ = false;  // the control got a private address for the name too: the site's own record
  std::vector<Evidence> evidence_;
};

// Nothing reached: every target (connectivity anchors included) failed before any server spoke TLS/HTTP.
bool reached_nothing(const std::vector<TargetInput>& targets) {
  if (targets.empty()) return false;
  for (const auto& t : targets) {
    const View v = view_of(t.observations);
    if (v.failed_at == Layer::none || v.failed_at == Layer::http) return false;
  }
  return true;
}

}  // namespace

std::string explain(const Message& message, std::string_view lang) {
  if (lang == i18n::kDefaultLanguage) return render(message, english());
  return render(message, i18n::Catalog::embedded(i18n::embedded::verdicts, lang));
}

std::vector<Verdict> analyze_run(const std::vector<TargetInput>& targets, const RunFacts& facts,
                                 const Knowledge& knowledge) {
  std::vector<Verdict> verdicts;
  verdicts.reserve(targets.size());
  if (!facts.collector_reachable && reached_nothing(targets)) {
    size_t anchors = 0;
    for (const auto& t : targets) anchors += t.category == "control" ? 1 : 0;
    for (const auto& t : targets) {
      const View v = view_of(t.observations);
      Verdict verdict;
      verdict.verdict = verdict::offline;
      verdict.message = msg("run.offline");
      verdict.explanation = render(verdict.message, english());
      verdict.evidence = {{"failure", v.failure},
                          {"targets_failed", std::to_string(targets.size())},
                          {"anchors_failed", std::to_string(anchors)},
                          {"collector_reachable", "false"}};
      verdicts.push_back(std::move(verdict));
    }
    return verdicts;
  }
  const auto throughput = check_throughput(targets);
  for (size_t i = 0; i < targets.size(); ++i)
    verdicts.push_back(TargetJudge(targets[i], knowledge, throughput[i]).run());
  return verdicts;
}

std::vector<size_t> throttling_suspects(const std::vector<TargetInput>& targets) {
  std::vector<size_t> out;
  const auto checks = check_throughput(targets);
  for (size_t i = 0; i < checks.size(); ++i)
    if (checks[i].suspect) out.push_back(i);
  return out;
}

}  // namespace kuzet::analysis
