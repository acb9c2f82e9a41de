#include "collector/ingest/upload.hpp"

#include <nlohmann/json.hpp>

#include <time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include "ascii/ascii.hpp"
#include "collector/vantage/vantage.hpp"
#include "core/encoding/canonical_json.hpp"
#include "core/crypto/crypto.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/crypto/signing.hpp"
#include "envelope/envelope.hpp"
#include "core/time.hpp"
#include "core/vocabulary/country.hpp"
#include "core/vocabulary/series.hpp"

namespace kuzet::collector::ingest {

namespace {

// Deep enough for any real measurement; shallow enough that no recursive code downstream (nlohmann's
// dump, our checks) can exhaust the stack on hostile input.
constexpr size_t kMaxDepth = 64;

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Minimal scanner that finds where values begin and end. It does not validate scalars: every span it
// returns is then parsed by nlohmann, which does.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : s_(text) {}
  void skip_ws() {
    while (pos_ < s_.size() && is_ws(s_[pos_])) ++pos_;
  }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool eat(char c) {
    skip_ws();
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  size_t pos() const { return pos_; }

  // Skips a string starting at '"'. false when unterminated. A quote ends the string unless an odd run of
  // backslashes precedes it; memchr finds the candidates far faster than a loop over every byte.
  bool skip_string() {
    if (peek() != '"') return false;
    const size_t open = pos_;
    for (size_t from = pos_ + 1; from < s_.size();) {
      const void* hit = std::memchr(s_.data() + from, '"', s_.size() - from);
      if (!hit) break;
      const size_t quote = static_cast<size_t>(static_cast<const char*>(hit) - s_.data());
      size_t backslashes = 0;
      while (quote - backslashes - 1 > open && s_[quote - backslashes - 1] == '\\') ++backslashes;
      if (backslashes % 2 == 0) {
        pos_ = quote + 1;
        return true;
      }
      from = quote + 1;
    }
    pos_ = s_.size();
    return false;
  }

  // Skips one value; returns its span, or an empty view (with error set) when broken.
  std::string_view skip_value(std::string* error) {
    skip_ws();
    size_t start = pos_;
    char c = peek();
    if (c == '"') {
      if (!skip_string()) return fail(error, "unterminated string");
    } else if (c == '{' || c == '[') {
      std::string stack;
      while (pos_ < s_.size()) {
        char d = s_[pos_];
        if (d == '"') {
          if (!skip_string()) return fail(error, "unterminated string");
          continue;
        }
        ++pos_;
        if (d == '{' || d == '[') {
          stack.push_back(d);
          if (stack.size() > kMaxDepth) return fail(error, "nested too deeply");
        } else if (d == '}' || d == ']') {
          if (stack.empty() || (d == '}') != (stack.back() == '{')) return fail(error, "unbalanced brackets");
          stack.pop_back();
          if (stack.empty()) break;
        }
      }
      if (!stack.empty()) return fail(error, "unterminated object or array");
    } else {
      while (pos_ < s_.size() && !is_ws(s_[pos_]) && s_[pos_] != ',' && s_[pos_] != ']' && s_[pos_] != '}') ++pos_;
      if (pos_ == start) return fail(error, "value expected");
    }
    return s_.substr(start, pos_ - start);
  }

 private:
  std::string_view fail(std::string* error, const char* what) {
    *error = std::string(what) + " at byte " + std::to_string(pos_);
    return {};
  }
  std::string_view s_;
  size_t pos_ = 0;
};

UploadBody malformed(std::string detail) {
  UploadBody b;
  b.error = reason::malformed;
  b.detail = std::move(detail);
  return b;
}

// Phase timings are CPU time of the calling thread: on a shared machine wall time would mostly measure
// the other processes.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// The phase clock: 0 when the caller did not ask for timings.
double phase_ms(const CheckOptions& options) { return options.timed ? thread_cpu_ms() : 0; }

const nlohmann::json* string_field(const nlohmann::json& obj, const char* name, bool required, std::string* error) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) {
    if (required) *error = std::string("missing ") + name;
    return nullptr;
  }
  if (!it->is_string()) {
    *error = std::string(name) + " is not a string";
    return nullptr;
  }
  return &*it;
}

// The key id of a base64 public key; nullopt unless it decodes to 32 bytes. An upload's envelopes nearly
// always share one key, so each checking thread keeps its last answer rather than decode and hash again.
std::optional<std::string> key_id_of(const std::string& public_key) {
  thread_local std::string last_key, last_id;
  if (!last_key.empty() && public_key == last_key) return last_id;
  const auto raw = core::base64_decode(public_key);
  if (!raw || raw->size() != 32) return std::nullopt;
  last_id = core::key_id(*raw);
  last_key = public_key;
  return last_id;
}

bool valid_uid(const std::string& uid) {
  if (uid.empty() || uid.size() > 128) return false;
  for (char c : uid) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

UploadBody split_upload_body(std::string_view body, size_t max_items) {
  Scanner sc(body);
  if (!sc.eat('{')) return malformed("body is not a JSON object");
  UploadBody out;
  bool seen = false;
  std::string error;
  if (!sc.eat('}')) {
    while (true) {
      sc.skip_ws();
      auto key_span = sc.skip_value(&error);
      if (key_span.empty() || key_span[0] != '"') return malformed(error.empty() ? "object key expected" : error);
      std::string key;
      try {
        key = nlohmann::json::parse(key_span).get<std::string>();
      } catch (const std::exception&) {
        return malformed("bad object key");
      }
      if (!sc.eat(':')) return malformed("':' expected");
      sc.skip_ws();
      if (key == "measurements") {
        if (seen) return malformed("duplicate measurements key");
        seen = true;
        if (!sc.eat('[')) return malformed("measurements is not an array");
        if (!sc.eat(']')) {
          while (true) {
            auto item = sc.skip_value(&error);
            if (item.empty()) return malformed(error);
            if (out.envelopes.size() >= max_items) {
              UploadBody b;
              b.error = reason::too_large;
              b.detail = "more than " + std::to_string(max_items) + " measurements";
              return b;
            }
            out.envelopes.push_back(item);
            if (sc.eat(',')) continue;
            if (sc.eat(']')) break;
            return malformed("',' or ']' expected in measurements");
          }
        }
      } else {
        auto value = sc.skip_value(&error);
        if (value.empty() || !nlohmann::json::accept(value)) return malformed("bad value for key " + key);
      }
      if (sc.eat(',')) continue;
      if (sc.eat('}')) break;
      return malformed("',' or '}' expected");
    }
  }
  sc.skip_ws();
  if (!sc.at_end()) return malformed("trailing bytes after the JSON object");
  if (!seen) return malformed("no measurements array");
  return out;
}

namespace {

// The checks of check_envelope_json; canonical_measurement, when not null, is JCS(env's measurement), and
// env's measurement may then hold only the members in kMembersRead.
CheckedEnvelope check_parsed(std::string_view raw, const nlohmann::json& env, const std::string* canonical_measurement,
                             const CheckOptions& options) {
  CheckedEnvelope out;
  const double t0 = phase_ms(options);
  auto& row = out.row;
  std::string error;
  auto reject = [&](std::string_view why) -> CheckedEnvelope& {
    out.reason = why;
    out.parse_ms += (phase_ms(options) - t0);
    return out;
  };
  if (!env.is_object()) return reject(reason::malformed);
  auto m_it = env.find("measurement");
  if (m_it == env.end() || !m_it->is_object()) return reject(reason::malformed);
  const auto& m = *m_it;
  if (auto uid = string_field(m, "measurement_uid", true, &error)) row.uid = uid->get<std::string>();
  if (!error.empty() || !valid_uid(row.uid)) return reject(reason::malformed);
  auto pk = string_field(env, "public_key", true, &error);
  // One signature each (/1) or one for its batch; envelope::verify checks the rest of the shape.
  const auto batch = env.find(envelope::field::batch);
  const bool signed_alone = string_field(env, envelope::field::signature, false, &error) != nullptr;
  if (!pk || !error.empty() || signed_alone == (batch != env.end() && batch->is_object()))
    return reject(reason::malformed);
  auto key_id = key_id_of(pk->get_ref<const std::string&>());
  if (!key_id) return reject(reason::malformed);
  row.key_id = std::move(*key_id);

  auto started = string_field(m, "started_at", true, &error);
  if (!started) return reject(reason::malformed);
  auto started_at = core::parse_rfc3339(started->get<std::string>());
  if (!started_at) return reject(reason::malformed);
  row.started_at_ms = core::to_unix_ms(*started_at);
  for (auto [name, field] : {std::pair{"target", &row.target}, std::pair{"category", &row.category},
                             std::pair{"verdict", &row.verdict}, std::pair{"method", &row.method}}) {
    if (auto v = string_field(m, name, false, &error)) *field = v->get<std::string>();
    if (!error.empty()) return reject(reason::malformed);
  }
  if (auto evidence = m.find("evidence"); evidence != m.end())
    row.decisive = vantage::has_decisive_evidence(row.verdict, *evidence);
  if (auto net = m.find("network"); net != m.end() && !net->is_null()) {
    if (!net->is_object()) return reject(reason::malformed);
    if (auto cc = string_field(*net, "cc", false, &error)) row.cc = cc->get<std::string>();
    if (!error.empty()) return reject(reason::malformed);
    if (auto asn = net->find("asn"); asn != net->end() && !asn->is_null()) {
      if (!asn->is_number_unsigned() || asn->get<uint64_t>() > UINT32_MAX) return reject(reason::malformed);
      row.asn = asn->get<uint32_t>();
    }
  }
  // The texts that name a series become parts of incident ids, file and header lines and URLs downstream:
  // a control character in one is never a real measurement's.
  for (const std::string* text : {&row.cc, &row.target, &row.category, &row.verdict, &row.method})
    if (ascii::has_control(*text)) return reject(reason::malformed);
  if (!core::country::is_code_or_unknown(row.cc)) return reject(reason::malformed);
  // "*" names a network's own series: a measurement so named would share that series' per-probe row.
  if (!core::series::is_measurement_target(row.target)) return reject(reason::malformed);
  row.envelope.assign(raw.data(), raw.size());
  row.content_hash = core::sha256_hex(raw);
  row.received_at_ms = options.now_ms;
  out.parse_ms += (phase_ms(options) - t0);

  const auto registered_ms = options.key_registered_ms ? options.key_registered_ms(row.key_id) : std::nullopt;
  if (options.key_registered_ms && !registered_ms) {
    out.reason = reason::unknown_key;
    return out;
  }
  if (row.started_at_ms > options.now_ms + options.max_future_ms) {
    out.reason = reason::future_timestamp;
    return out;
  }
  // Fresh keys cannot date evidence years back; a probe's own queued shutdown results still fit.
  if (registered_ms && row.started_at_ms < *registered_ms - options.max_backfill_ms) {
    out.reason = reason::backdated;
    return out;
  }
  const double t1 = phase_ms(options);
  try {
    out.reason = canonical_measurement ? envelope::verify(env, *canonical_measurement, options.signatures)
                                       : envelope::verify(env, options.signatures);
  } catch (const std::exception&) {
    out.reason = reason::malformed;  // e.g. a value JCS cannot represent
  }
  out.verify_ms = (phase_ms(options) - t1);
  return out;
}

// The members of a measurement check_parsed reads: the fast path parses only these into its DOM.
constexpr std::array<std::string_view, 8> kMembersRead = {"measurement_uid", "started_at", "target", "category",
                                                          "verdict",         "method",     "evidence", "network"};

// The DOM of a value core::canonical_json has read (valid, bounded, free of duplicate keys), built straight
// from its bytes for the forms that need no decoding: strings without escapes (valid UTF-8 by then),
// integers 0..10^19-1 (nlohmann's unsigned numbers), true, false, null, and arrays and objects of these.
// That is the batch member (scheme, indexes, audit path, signature) and the network. Anything else (an
// escape, a sign, a fraction or exponent, deeper nesting) makes it give up, and nlohmann parses the value.
class PlainBuilder {
 public:
  explicit PlainBuilder(std::string_view raw) : s_(raw) {}
  bool build(nlohmann::json& out) { return value(out, 0) && (skip_ws(), pos_ == s_.size()); }

 private:
  static constexpr int kMaxNesting = 8;
  void skip_ws() {
    while (pos_ < s_.size() && is_ws(s_[pos_])) ++pos_;
  }
  bool eat(char c) {
    skip_ws();
    if (pos_ >= s_.size() || s_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  bool string(std::string& out) {
    if (!eat('"')) return false;
    const size_t end = s_.find('"', pos_);
    if (end == std::string_view::npos) return false;
    const auto body = s_.substr(pos_, end - pos_);
    if (body.find('\\') != std::string_view::npos) return false;
    out.assign(body.data(), body.size());
    pos_ = end + 1;
    return true;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  bool value(nlohmann::json& out, int depth) {
    skip_ws();
    if (pos_ >= s_.size() || depth > kMaxNesting) return false;
    const char c = s_[pos_];
    if (c == '"') {
      std::string text;
      if (!string(text)) return false;
      out = std::move(text);
      return true;
    }
    if (c >= '0' && c <= '9') {
      size_t end = pos_;
      while (end < s_.size() && s_[end] >= '0' && s_[end] <= '9') ++end;
      if (end - pos_ > 19) return false;
      if (end < s_.size() && (s_[end] == '.' || s_[end] == 'e' || s_[end] == 'E')) return false;
      uint64_t n = 0;
      for (size_t i = pos_; i < end; ++i) n = n * 10 + static_cast<uint64_t>(s_[i] - '0');
      out = n;
      pos_ = end;
      return true;
    }
    if (c == 't' && literal("true")) return out = true, true;
    if (c == 'f' && literal("false")) return out = false, true;
    if (c == 'n' && literal("null")) return out = nullptr, true;
    if (c == '[') {
      ++pos_;
      out = nlohmann::json::array();
      if (eat(']')) return true;
      do {
        out.emplace_back();
        if (!value(out.back(), depth + 1)) return false;
      } while (eat(','));
      return eat(']');
    }
    if (c == '{') {
      ++pos_;
      out = nlohmann::json::object();
      if (eat('}')) return true;
      do {
        std::string key;
        if (!string(key) || !eat(':') || !value(out[key], depth + 1)) return false;
      } while (eat(','));
      return eat('}');
    }
    return false;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

nlohmann::json value_of(std::string_view raw) {
  nlohmann::json out;
  if (PlainBuilder(raw).build(out)) return out;
  return nlohmann::json::parse(raw);
}

}  // namespace

CheckedEnvelope check_envelope_json(std::string_view raw, const nlohmann::json& env, const CheckOptions& options) {
  return check_parsed(raw, env, nullptr, options);
}

CheckedEnvelope check_envelope(std::string_view raw, const CheckOptions& options) {
  const double t0 = phase_ms(options);
  auto with_dom = [&] {
    CheckedEnvelope out = check_envelope_with_dom(raw, options);
    out.parse_ms = (phase_ms(options) - t0) - out.verify_ms;  // the fast reader's time included
    return out;
  };
  // One pass over the bytes: strictness, the measurement's canonical form and where each member is.
  const auto read = core::canonical_json(raw, kEnvelopeLimits, 2);
  // Refusals and the rare forms it leaves (and anything but an object): the DOM path decides, as it always did.
  if (!read.ok() || read.canonical.empty() || read.canonical[0] != '{') return with_dom();
  // A DOM of what the checks read: the envelope's other members whole, of the measurement only kMembersRead.
  nlohmann::json env = nlohmann::json::object();
  const std::string* canonical_measurement = nullptr;
  size_t measurement = core::kNoParent;
  try {
    for (size_t i = 0; i < read.members.size(); ++i) {
      const auto& member = read.members[i];
      if (member.parent == core::kNoParent) {
        if (member.name == envelope::field::measurement && member.raw[0] == '{') {
          env[member.name] = nlohmann::json::object();
          measurement = i;
          canonical_measurement = &member.canonical;
        } else {
          env[member.name] = value_of(member.raw);
        }
      } else if (member.parent == measurement &&
                 std::find(kMembersRead.begin(), kMembersRead.end(), member.name) != kMembersRead.end()) {
        env[envelope::field::measurement][member.name] = value_of(member.raw);
      }
    }
  } catch (const std::exception&) {  // bad_alloc
    return with_dom();
  }
  const double parse_ms = (phase_ms(options) - t0);
  CheckedEnvelope out = check_parsed(raw, env, canonical_measurement, options);
  out.parse_ms += parse_ms;
  return out;
}

CheckedEnvelope check_envelope_with_dom(std::string_view raw, const CheckOptions& options) {
  const double t0 = phase_ms(options);
  // Strict: a duplicate key would let the stored bytes show a value the signature does not cover.
  auto parsed = core::parse_json(raw, kEnvelopeLimits);
  if (!parsed.ok()) {
    CheckedEnvelope out;
    out.reason = reason::malformed;
    out.not_json = !nlohmann::json::accept(raw);  // duplicate keys or limits: this item only
    out.parse_ms = (phase_ms(options) - t0);
    return out;
  }
  double parse_ms = (phase_ms(options) - t0);
  CheckedEnvelope out = check_envelope_json(raw, parsed.value, options);
  out.parse_ms += parse_ms;
  return out;
}

}  // namespace kuzet::collector::ingest
