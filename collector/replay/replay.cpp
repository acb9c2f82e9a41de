#include "collector/replay/replay.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "core/crypto/crypto.hpp"
#include "core/vocabulary/method.hpp"
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "core/time.hpp"
#include "core/vocabulary/verdict.hpp"

namespace kuzet::replay {

using timeline::kMinuteMs;
using timeline::kNetworkTarget;
using timeline::kShutdown;
using timeline::SeriesKey;

namespace {

constexpr int64_t kHour = 60 * kMinuteMs;
constexpr int64_t kDay = 24 * kHour;
// Times below are offsets from 2022-01-01T00:00:00Z.
constexpr int64_t kJan1 = 1640995200000;
constexpr int64_t at(int day, int hour, int minute) { return kJan1 + (day - 1) * kDay + hour * kHour + minute * kMinuteMs; }

struct Network {
  uint32_t asn;
  const char* name;
  bool consumer;            // mobile / home access: blocked messengers, dark until 10 Jan
  int64_t cut_ms;           // the 5 Jan shutdown began (staggered, as Cloudflare and RIPE Atlas saw)
};
constexpr Network kNetworks[] = {
    {9198, "JSC Kazakhtelecom", true, at(5, 10, 30)},
    {21299, "Kar-Tel LLC (Beeline)", true, at(5, 10, 50)},
    {29355, "Kcell JSC", true, at(5, 11, 0)},
    {48503, "Mobile Telecom-Service (Tele2)", true, at(5, 11, 10)},
    {48716, "PS Internet Company (data centre)", false, at(5, 11, 15)},
};

struct Target {
  const char* host;
  const char* category;
  bool messenger;
  std::string_view block_method;
};
constexpr Target kTargets[] = {
    {"web.whatsapp.com", "messaging", true, core::method::tls_timeout},
    {"web.telegram.org", "messaging", true, core::method::tcp_timeout},
    {"signal.org", "messaging", true, core::method::tls_timeout},
    {"www.instagram.com", "social", false, ""},
    {"www.gov.kz", "egov", false, ""},
    {"tengrinews.kz", "news", false, ""},
    {"www.google.com", "search", false, ""},
    {"www.youtube.com", "video", false, ""},
};

constexpr int64_t kMessengersFrom = at(4, 14, 30);
constexpr int64_t kMessengersUntil = at(11, 6, 0);
constexpr int64_t kRestoreFrom = at(6, 6, 0);   // the short restoration of 6 Jan
constexpr int64_t kRestoreUntil = at(6, 9, 0);
constexpr int64_t kDataCentreBack = at(7, 0, 0);
constexpr int64_t kAlmatyBack = at(10, 2, 0);
constexpr int64_t kStable = at(11, 2, 15);

// Deterministic and portable (std::uniform_*_distribution are not the same everywhere).
struct Rng {
  uint64_t s;
  uint64_t next() {  // splitmix64
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) / 9007199254740992.0; }
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
  std::string hex(size_t bytes) {
    std::string out;
    static const char* d = "0123456789abcdef";
    for (size_t i = 0; i < bytes; ++i) {
      auto v = static_cast<unsigned>(next() & 0xff);
      out += d[v >> 4];
      out += d[v & 15];
    }
    return out;
  }
};

struct Probe {
  const Network* network;
  bool almaty;  // outside Almaty, consumer networks stay mostly dark until 11 Jan
  bool keeps_measuring;  // during an outage: measures and stores "offline" results, else silent
  int64_t phase_ms;
  core::KeyPair key;
  std::string key_id;
  std::string public_key_b64;
};

bool online(const Probe& p, int64_t t) {
  const Network& n = *p.network;
  if (t < n.cut_ms) return true;
  if (t >= kRestoreFrom && t < kRestoreUntil) return true;
  if (!n.consumer) return t >= kDataCentreBack;
  if (t < kAlmatyBack) return false;
  if (p.almaty || t >= kStable) return true;
  // Other cities: a few hours a day.
  const int64_t hour_of_day = ((t - kJan1) % kDay) / kHour;
  return hour_of_day >= 4 && hour_of_day < 8;
}

// The next moment from t on when the probe is online (uploads wait for it).
int64_t next_online(const Probe& p, int64_t t) {
  while (!online(p, t)) t += 5 * kMinuteMs;
  return t;
}

std::string uid_for(int64_t t, Rng& rng) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ_", &tm);
  return buf + rng.hex(8);
}

}  // namespace

Replay generate_replay(const ReplayConfig& config) {
  Replay out;
  Rng rng{config.seed};
  const int n_targets = std::clamp(config.targets, 1, static_cast<int>(std::size(kTargets)));
  const int64_t end_ms = config.start_ms + config.days * kDay;

  std::vector<Probe> probes;
  for (int i = 0; i < config.probes; ++i) {
    Probe p;
    p.network = &kNetworks[static_cast<size_t>(i) % std::size(kNetworks)];
    // Seven in ten probes of each network are in Almaty, the rest in other cities.
    p.almaty = (i / static_cast<int>(std::size(kNetworks))) % 10 < 7;
    p.keeps_measuring = rng.uniform() < 0.6;
    p.phase_ms = rng.below(config.round_ms);
    std::string secret;
    for (int b = 0; b < 4; ++b) {
      uint64_t v = rng.next();
      secret.append(reinterpret_cast<const char*>(&v), 8);
    }
    p.key = core::derive_network_key(secret, "KZ", p.network->asn);
    p.key_id = core::key_id(p.key.public_key);
    p.public_key_b64 = core::base64_encode(p.key.public_key);
    out.keys.push_back({p.public_key_b64, p.key_id});
    probes.push_back(std::move(p));
  }

  struct Pending {
    int64_t received;
    std::string envelope;
    const Probe* probe;
  };
  std::vector<Pending> pending;
  const int64_t spacing = config.round_ms / n_targets;
  for (const auto& p : probes) {
    for (int64_t round = config.start_ms - config.round_ms + p.phase_ms; round < end_ms; round += config.round_ms) {
      const std::string run_id = rng.hex(8);
      for (int ti = 0; ti < n_targets; ++ti) {
        const int64_t t = round + ti * spacing + rng.below(20000);
        if (t < config.start_ms || t >= end_ms) continue;
        const bool up = online(p, t);
        if (!up && !p.keeps_measuring) continue;
        const Target& target = kTargets[ti];
        std::string verdict(core::verdict::ok), method, explanation = "Reachable; matches the control.";
        if (!up) {
          verdict = core::verdict::offline;
          explanation = "The probe had no connectivity at all.";
        } else if (target.messenger && p.network->consumer && t >= kMessengersFrom && t < kMessengersUntil) {
          verdict = core::verdict::blocked;
          method = target.block_method;
          explanation = "Blocked on this network while the control reached it.";
        }
        if (up && rng.uniform() < config.noise) {
          const int64_t k = rng.below(3);
          const bool was_blocked = verdict == core::verdict::blocked;
          verdict = k == 0 ? core::verdict::down
                    : k == 1 ? core::verdict::inconclusive
                             : (was_blocked ? core::verdict::ok : core::verdict::blocked);
          method = verdict == core::verdict::blocked ? core::method::tcp_reset : "";
          explanation = "Noise the generator adds on purpose.";
        }
        const std::string started = core::format_rfc3339(core::SystemTime(std::chrono::milliseconds(t)));
        nlohmann::json m{{"schema", "kuzet.measurement/1"},
                         {"measurement_uid", uid_for(t, rng)},
                         {"run_id", run_id},
                         {"input", std::string("https://") + target.host + "/"},
                         {"target", target.host},
                         {"category", target.category},
                         {"spec", "replay/kz-2022-01"},
                         {"started_at", started},
                         {"runtime_ms", 300 + rng.below(2000)},
                         {"verdict", verdict},
                         {"method", method},
                         {"explanation", explanation},
                         {"evidence", nlohmann::json::array()},
                         {"network", {{"cc", "KZ"}, {"asn", p.network->asn}, {"as_name", p.network->name},
                                      {"source", "collector"}}},
                         {"software", {{"name", "kuzet-replay-gen"}, {"version", "1"}}},
                         {"observations", nlohmann::json::object()},
                         {"control", nullptr}};
        // Normally uploaded within the hour; results made offline wait for connectivity, then some hours more.
        int64_t received = up ? t + kMinuteMs + rng.below(kHour) : next_online(p, t) + rng.below(6 * kHour);
        pending.push_back({received, envelope::sign(m, p.key).dump(), &p});
      }
    }
  }
  std::stable_sort(pending.begin(), pending.end(),
                   [](const Pending& a, const Pending& b) { return a.received < b.received; });
  for (auto& pe : pending) {
    out.received_at_ms.push_back(pe.received);
    out.envelopes.push_back(std::move(pe.envelope));
    // A synthetic tag: one per probe, unlike any HMAC the collector makes (those are hex only).
    out.sources.push_back({"replay-" + pe.probe->key_id.substr(0, 10),
                           collector::network::AsnInfo{pe.probe->network->asn, pe.probe->network->name, "KZ"}});
  }

  // Truth, clipped to the generated period.
  auto add = [&](SeriesKey key, std::string_view kind, int64_t from, int64_t until) {
    from = std::max(from, config.start_ms);
    until = std::min(until, end_ms);
    if (from < until) out.truth.push_back({std::move(key), std::string(kind), from, until});
  };
  for (const auto& n : kNetworks) {
    bool has_probe = std::any_of(probes.begin(), probes.end(), [&](const Probe& p) { return p.network == &n; });
    if (!has_probe) continue;
    add({"KZ", n.asn, kNetworkTarget}, kShutdown, n.cut_ms, kRestoreFrom);
    add({"KZ", n.asn, kNetworkTarget}, kShutdown, kRestoreUntil, n.consumer ? kAlmatyBack : kDataCentreBack);
    if (!n.consumer) continue;
    for (int ti = 0; ti < n_targets; ++ti)
      if (kTargets[ti].messenger)
        add({"KZ", n.asn, kTargets[ti].host}, core::verdict::blocked, kMessengersFrom, kMessengersUntil);
  }
  return out;
}

}  // namespace kuzet::replay
