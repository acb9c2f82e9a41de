#include "reports/report/gather.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>
#include <unordered_map>
#include <memory>
#include <set>
#include <stdexcept>

#include "collector/log/log_key.hpp"
#include "collector/log/stored_log.hpp"
#include "collector/store/sqlite/sqlite_util.hpp"
#include "collector/timeline/api/api.hpp"
#include "collector/timeline/incidents.hpp"
#include "collector/ingest/upload.hpp"
#include "core/crypto/crypto.hpp"
#include "core/encoding/json_parse.hpp"
#include "core/time.hpp"
#include "reports/report/bundle.hpp"
#include "tlog/entry.hpp"
#include "tlog/note.hpp"
#include "tlog/tiles.hpp"

namespace kuzet::report {

namespace {

using collector::sqlite::Statement;

int64_t gather_from_ms(const Params& p) { return p.from_ms - timeline::IncidentOptions{}.baseline_window_ms; }

// Keeps the measurements whose envelope verifies and belongs to the report's place; notes the others.
void add_checked(Gathered& out, std::string envelope, const Params& p, int64_t now_ms) {
  std::string error;
  Evidence e = evidence_from_envelope(std::move(envelope), now_ms, &error);
  if (!error.empty()) {
    out.warnings.push_back("a stored envelope fails its checks (" + error + "): left out");
    return;
  }
  if (e.cc != p.cc || (!p.asns.empty() && std::find(p.asns.begin(), p.asns.end(), e.asn) == p.asns.end())) return;
  if (e.started_at_ms < gather_from_ms(p) || e.started_at_ms >= p.until_ms) return;
  out.measurements.push_back(std::move(e));
}

void finish(Gathered& out, const Params& p) {
  sort_evidence(out.measurements);
  auto dup = std::unique(out.measurements.begin(), out.measurements.end(),
                         [](const Evidence& a, const Evidence& b) { return a.uid == b.uid; });
  out.measurements.erase(dup, out.measurements.end());
  out.data_end_ms = std::min(out.data_end_ms, p.until_ms);
}

// The log's public key from a key file: the collector's own (private) key file or a verifier key. Only the
// public half is kept. nullopt (with a warning) when `path` does not exist and was not asked for.
std::optional<tlog::NoteVerifier> read_log_verifier(const std::string& path, bool asked, Gathered& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (asked) throw std::runtime_error("cannot read the log key " + path);
    out.warnings.push_back("no log key at " + path + " (give --log-key FILE): the bundle names no key, so `verify` "
                           "needs --log-key");
    return std::nullopt;
  }
  std::string text(1024, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string error;
  if (text.rfind("PRIVATE+KEY+", 0) == 0) {
    if (auto signer = tlog::parse_signer_key(text, &error)) return tlog::verifier_of(*signer);
  } else if (auto verifier = tlog::parse_verifier_key(text, &error)) {
    return verifier;
  }
  throw std::runtime_error("the log key " + path + " is not a signed-note Ed25519 key: " + error);
}

// Inclusion proofs from the database itself, as the collector's API would give them: against the latest
// checkpoint the collector signed and stored, from the stored entries and subtree hashes (the store's own
// reading code, collector/log/stored_log.hpp, and lib/tlog's proofs).
void prove_from_db(sqlite3* db, const std::string& log_key_path, bool key_asked, Gathered& out) {
  namespace log = collector::log;
  if (!log::has_log_tables(db)) {
    out.warnings.push_back("the database predates the transparency log (schema < 3): the bundle has no proofs");
    return;
  }
  const auto note = log::read_latest_checkpoint(db);
  if (!note) {
    out.warnings.push_back("the collector has not signed a checkpoint in this database yet (kuzet-collector serve "
                           "signs one when it starts): the bundle has no proofs");
    return;
  }
  const auto verifier = read_log_verifier(log_key_path, key_asked, out);
  std::string error;
  std::optional<tlog::Checkpoint> checkpoint;
  if (verifier) {
    checkpoint = tlog::open_checkpoint(*note, *verifier, &error);
    if (!checkpoint)
      throw std::runtime_error("the database's last checkpoint does not verify with the log key " + log_key_path + ": " +
                               error);
    out.log_key = tlog::verifier_key_text(*verifier);
  } else {
    const size_t blank = note->find("\n\n");
    if (blank != std::string::npos) checkpoint = tlog::parse_checkpoint(std::string_view(*note).substr(0, blank + 1), &error);
    if (!checkpoint) throw std::runtime_error("the database's last checkpoint is malformed: " + error);
  }
  log::SqliteLogHashes hashes(db);
  const uint64_t stored = log::stored_log_size(db);
  if (stored < checkpoint->size || tlog::tree_hash(checkpoint->size, hashes) != checkpoint->root)
    throw std::runtime_error("the stored log does not extend its last signed checkpoint (size " +
                             std::to_string(checkpoint->size) + "): the database was altered");
  out.checkpoint = *note;
  size_t unlogged = 0, later = 0;
  for (auto& e : out.measurements) {
    const auto entry = log::read_log_entry(db, e.uid);
    if (!entry) {
      ++unlogged;
      continue;
    }
    if (entry->index >= checkpoint->size) {
      ++later;
      continue;
    }
    LogProof proof;
    proof.index = entry->index;
    proof.entry = entry->entry;
    proof.checkpoint = *note;
    for (const auto& h : tlog::prove_inclusion(entry->index, checkpoint->size, hashes))
      proof.inclusion.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
    e.proof = std::move(proof);
  }
  if (unlogged)
    out.warnings.push_back(std::to_string(unlogged) + " measurements have no log entry: `verify` will name them");
  if (later)
    out.warnings.push_back(std::to_string(later) + " measurements were logged after the last signed checkpoint (size " +
                           std::to_string(checkpoint->size) + "); start kuzet-collector serve on the database (it signs "
                           "one when it starts) and build again, or `verify` will name them");
}

}  // namespace

Gathered gather_from_db(const std::string& db_path, const Params& p, int64_t now_ms, const std::string& log_key) {
  const std::string log_key_path = log_key.empty() ? collector::log::default_log_key_path(db_path) : log_key;
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = raw ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    throw std::runtime_error("cannot open " + db_path + " read-only: " + msg);
  }
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, sqlite3_close);
  sqlite3_busy_timeout(db.get(), 10000);
  Gathered out;
  {
    Statement last(db.get(), "SELECT max(started_at) FROM measurements");
    last.step();
    out.data_end_ms = timeline::bin_floor(last.int_at(0), p.bin_ms) + p.bin_ms;
  }
  std::vector<uint32_t> asns = p.asns;
  if (asns.empty()) {
    Statement q(db.get(), "SELECT DISTINCT asn FROM measurements WHERE cc = ?1 AND started_at >= ?2 AND started_at < ?3");
    q.bind(1, p.cc);
    q.bind(2, gather_from_ms(p));
    q.bind(3, p.until_ms);
    while (q.step()) asns.push_back(static_cast<uint32_t>(q.int_at(0)));
  }
  Statement q(db.get(),
              "SELECT envelope FROM measurements WHERE cc = ?1 AND asn = ?2 AND started_at >= ?3 AND started_at < ?4");
  for (uint32_t asn : asns) {
    q.reset();
    q.bind(1, p.cc);
    q.bind(2, static_cast<int64_t>(asn));
    q.bind(3, gather_from_ms(p));
    q.bind(4, p.until_ms);
    while (q.step()) add_checked(out, q.text_at(0), p, now_ms);
  }
  finish(out, p);
  prove_from_db(db.get(), log_key_path, !log_key.empty(), out);
  return out;
}

namespace {

struct CurlEasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

size_t write_capped(char* data, size_t size, size_t count, void* user) {
  auto* sink = static_cast<std::pair<std::string*, size_t>*>(user);
  const size_t n = size * count;
  if (sink->first->size() + n > sink->second) return 0;  // over the cap: curl stops with an error
  sink->first->append(data, n);
  return n;
}

class Client {
 public:
  Client(std::string base, const HttpLimits& limits) : base_(std::move(base)), limits_(limits), curl_(curl_easy_init()) {
    if (!curl_) throw std::runtime_error("curl_easy_init failed");
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }
  std::string escape(const std::string& s) {
    char* e = curl_easy_escape(curl_.get(), s.c_str(), static_cast<int>(s.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
  }
  // The body of a 200 answer to GET base+path; nullopt for 404; throws otherwise.
  std::optional<std::string> get(const std::string& path) {
    auto [status, body] = get_any(path);
    if (status == 404) return std::nullopt;
    if (status != 200) throw std::runtime_error("GET " + base_ + path + ": HTTP " + std::to_string(status));
    return body;
  }
  // Any HTTP answer: (status, body). Throws on transport errors and oversized replies.
  std::pair<long, std::string> get_any(const std::string& path) {
    CURL* h = curl_.get();
    curl_easy_reset(h);
    std::string body;
    std::pair<std::string*, size_t> sink{&body, limits_.max_reply_bytes};
    char error[CURL_ERROR_SIZE] = "";
    const std::string url = base_ + path;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, limits_.timeout_ms);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kuzet-report");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_capped);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
      if (rc == CURLE_WRITE_ERROR && body.size() + 1 > limits_.max_reply_bytes)
        throw std::runtime_error("GET " + url + ": reply larger than " + std::to_string(limits_.max_reply_bytes) + " bytes");
      throw std::runtime_error("GET " + url + ": " + (error[0] ? error : curl_easy_strerror(rc)));
    }
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    return {status, std::move(body)};
  }
  const std::string& base() const { return base_; }

 private:
  std::string base_;
  HttpLimits limits_;
  std::unique_ptr<CURL, CurlEasyDeleter> curl_;
};

// Replies are untrusted: the bounded parser (core::parse_json), as for every JSON from outside.
nlohmann::json parse_reply(const std::string& body, const std::string& what) {
  auto parsed = core::parse_json(body, core::JsonLimits{body.size(), 32, size_t{1} << 22});
  if (!parsed.ok()) throw std::runtime_error(what + ": the reply is not JSON (" + parsed.error + ")");
  if (!parsed.value.is_object()) throw std::runtime_error(what + ": the reply is not a JSON object");
  return std::move(parsed.value);
}

struct FetchedProof {
  LogProof proof;
  std::string checkpoint;
  uint64_t tree_size = 0;
};

// GET /api/v1/measurements/{uid}/proof; waits out 503 not_yet_checkpointed (the collector signs every few
// seconds). Shapes are checked here; whether the proof is right is verify's job.
FetchedProof fetch_proof(Client& client, const std::string& uid) {
  const std::string path = "/api/v1/measurements/" + client.escape(uid) + "/proof";
  for (int attempt = 0;; ++attempt) {
    auto [status, body] = client.get_any(path);
    if (status == 503 && attempt < 30) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    if (status != 200) throw std::runtime_error("GET " + path + ": HTTP " + std::to_string(status));
    auto j = parse_reply(body, path);
    FetchedProof f;
    auto index = j.find("index"), size = j.find("tree_size"), inclusion = j.find("inclusion"),
         checkpoint = j.find("checkpoint"), entry = j.find("entry");
    if (index == j.end() || !index->is_number_unsigned() || size == j.end() || !size->is_number_unsigned() ||
        inclusion == j.end() || !inclusion->is_array() || inclusion->size() > kMaxProofHashes ||
        checkpoint == j.end() || !checkpoint->is_string() || entry == j.end() || !entry->is_string())
      throw std::runtime_error("GET " + path + ": not a proof");
    f.proof.index = index->get<uint64_t>();
    f.tree_size = size->get<uint64_t>();
    f.checkpoint = checkpoint->get<std::string>();
    f.proof.entry = entry->get<std::string>();
    f.proof.checkpoint = f.checkpoint;
    for (const auto& h : *inclusion) {
      auto raw = h.is_string() ? core::base64_decode(h.get<std::string>()) : std::nullopt;
      if (!raw || raw->size() != 32) throw std::runtime_error("GET " + path + ": not a proof hash");
      f.proof.inclusion.push_back(*raw);
    }
    return f;
  }
}

// Every proof must lead to one checkpoint. Proofs against an older one (the log grew meanwhile) are asked
// again, a few rounds; a log that grows faster than that is reported.
void fetch_proofs_per_measurement(Client& client, Gathered& out) {
  std::vector<FetchedProof> proofs(out.measurements.size());
  std::vector<size_t> todo(out.measurements.size());
  for (size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  for (int round = 0; round < 5 && !todo.empty(); ++round) {
    for (size_t i : todo) proofs[i] = fetch_proof(client, out.measurements[i].uid);
    uint64_t newest = 0;
    std::string newest_note;
    for (const auto& f : proofs)
      if (f.tree_size > newest) newest = f.tree_size, newest_note = f.checkpoint;
    todo.clear();
    for (size_t i = 0; i < proofs.size(); ++i)
      if (proofs[i].checkpoint != newest_note) todo.push_back(i);
    out.checkpoint = newest_note;
  }
  if (!todo.empty())
    throw std::runtime_error("the log grew faster than the proofs could be fetched (" + std::to_string(todo.size()) +
                             " proofs against older checkpoints): build from a quieter moment");
  for (size_t i = 0; i < proofs.size(); ++i) out.measurements[i].proof = std::move(proofs[i].proof);
}

// The body of a signed checkpoint (the signature is verify's job; the size and root are needed here).
tlog::Checkpoint checkpoint_body(const std::string& note) {
  std::string error;
  const size_t blank = note.find("\n\n");
  auto cp = blank == std::string::npos ? std::nullopt
                                       : tlog::parse_checkpoint(std::string_view(note).substr(0, blank + 1), &error);
  if (!cp) throw std::runtime_error("GET /log/checkpoint: not a checkpoint (" + error + ")");
  return *cp;
}

// The same proofs from the log's tiles (C2SP tlog-tiles): the entry bundles give each measurement's index and
// entry, the hash tiles the proofs, computed here with lib/tlog against the checkpoint. About two requests
// per 256 log entries instead of one per measurement. Measurements not yet under the checkpoint wait for
// the next one (the collector signs every few seconds).
void fetch_proofs_from_tiles(Client& client, Gathered& out, std::string note) {
  std::unordered_map<std::string, size_t> wanted;
  for (size_t i = 0; i < out.measurements.size(); ++i) wanted.emplace(out.measurements[i].uid, i);
  std::vector<LogProof> proofs(out.measurements.size());
  std::vector<bool> found(out.measurements.size());
  size_t missing = out.measurements.size();
  uint64_t scanned = 0;  // entries [0, scanned) read
  tlog::Checkpoint cp = checkpoint_body(note);
  for (int attempt = 0;; ++attempt) {
    for (uint64_t b = scanned / tlog::kTileWidth; b * tlog::kTileWidth < cp.size && missing; ++b) {
      tlog::TileId tile{true, 0, b, tlog::kTileWidth};
      tile.width = tlog::tile_width_in_tree(tile, cp.size);
      const std::string path = "/log/" + tlog::tile_path(tile);
      auto body = client.get(path);
      if (!body) throw std::runtime_error("GET " + path + ": not found");
      std::string error;
      auto entries = tlog::decode_entry_bundle(*body, &error);
      if (!entries || entries->size() != tile.width)
        throw std::runtime_error("GET " + path + ": not an entry bundle of " + std::to_string(tile.width) + " entries");
      for (size_t k = 0; k < entries->size(); ++k) {
        const uint64_t index = b * tlog::kTileWidth + k;
        if (index < scanned) continue;
        auto entry = tlog::parse_entry((*entries)[k], &error);
        if (!entry) continue;  // not a Kuzet entry: not one of ours
        auto it = wanted.find(entry->measurement_uid);
        if (it == wanted.end() || found[it->second]) continue;
        found[it->second] = true;
        --missing;
        proofs[it->second].index = index;
        proofs[it->second].entry = std::move((*entries)[k]);
      }
    }
    scanned = cp.size;
    if (missing == 0 || attempt == 30) break;
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto [status, next] = client.get_any("/log/checkpoint");
    if (status != 200) throw std::runtime_error("GET /log/checkpoint: HTTP " + std::to_string(status));
    note = next;
    cp = checkpoint_body(note);
    if (cp.size < scanned) throw std::runtime_error("GET /log/checkpoint: the log shrank");
  }
  if (missing)
    throw std::runtime_error(std::to_string(missing) + " measurements are not in the log's entries up to its checkpoint");
  tlog::TileHashSource hashes(cp.size, [&client](const tlog::TileId& tile) {
    const std::string path = "/log/" + tlog::tile_path(tile);
    auto body = client.get(path);
    if (!body) throw std::runtime_error("GET " + path + ": not found");
    return *body;
  });
  if (tlog::tree_hash(cp.size, hashes) != cp.root)
    throw std::runtime_error("the collector's hash tiles do not hash to its checkpoint's root");
  for (size_t i = 0; i < proofs.size(); ++i) {
    for (const auto& h : tlog::prove_inclusion(proofs[i].index, cp.size, hashes))
      proofs[i].inclusion.emplace_back(reinterpret_cast<const char*>(h.data()), h.size());
    proofs[i].checkpoint = note;
    out.measurements[i].proof = std::move(proofs[i]);
  }
  out.checkpoint = note;
}

void fetch_proofs(Client& client, Gathered& out, ProofFetch how) {
  auto [status, note] = client.get_any("/log/checkpoint");
  if (status == 404) {
    out.warnings.push_back("the collector keeps no transparency log (/log/checkpoint: 404)");
    return;
  }
  if (status != 200) throw std::runtime_error("GET /log/checkpoint: HTTP " + std::to_string(status));
  auto key = client.get("/log/key");
  if (!key) throw std::runtime_error("GET /log/key: not found");
  out.log_key = *key;
  while (!out.log_key.empty() && (out.log_key.back() == '\n' || out.log_key.back() == '\r')) out.log_key.pop_back();
  if (out.measurements.empty()) {
    out.checkpoint = note;
    return;
  }
  if (how == ProofFetch::automatic) {
    // Tiles: ~2 requests per 256 entries of the whole log; per measurement: one each.
    const uint64_t bundles = (checkpoint_body(note).size + tlog::kTileWidth - 1) / tlog::kTileWidth;
    how = 2 * bundles < out.measurements.size() ? ProofFetch::tiles : ProofFetch::per_measurement;
  }
  if (how == ProofFetch::tiles) fetch_proofs_from_tiles(client, out, note);
  else fetch_proofs_per_measurement(client, out);
}

}  // namespace

Gathered gather_from_collector(const std::string& base_url, const Params& p, int64_t now_ms, const HttpLimits& limits) {
  Client client(base_url, limits);
  Gathered out;
  // Where the data ends: the latest bin of any series.
  {
    const std::string path = "/api/v1/series?cc=" + client.escape(p.cc);
    auto body = client.get(path);
    if (!body) throw std::runtime_error("GET " + path + ": not found");
    auto j = parse_reply(*body, path);
    int64_t last = 0;
    if (auto s = j.find("series"); s != j.end() && s->is_array())
      for (const auto& item : *s)
        if (item.is_object() && item.contains("last") && item["last"].is_string())
          if (auto t = core::parse_rfc3339(item["last"].get<std::string>())) last = std::max(last, core::to_unix_ms(*t));
    out.data_end_ms = last + p.bin_ms;
  }
  std::vector<std::string> asn_filters;
  for (uint32_t a : p.asns) asn_filters.push_back("&asn=" + std::to_string(a));
  if (asn_filters.empty()) asn_filters.push_back("");
  size_t seen = 0;
  for (const auto& asn : asn_filters) {
    std::string cursor;
    do {
      const std::string path = "/api/v1/measurements?limit=1000&cc=" + client.escape(p.cc) + asn +
                               "&from=" + client.escape(core::format_utc(gather_from_ms(p))) +
                               "&until=" + client.escape(core::format_utc(p.until_ms)) +
                               (cursor.empty() ? "" : "&cursor=" + client.escape(cursor));
      auto body = client.get(path);
      if (!body) throw std::runtime_error("GET " + path + ": not found");
      auto page = collector::ingest::split_upload_body(*body, 1000);
      if (!page.error.empty()) throw std::runtime_error("GET " + path + ": " + page.error + " " + page.detail);
      seen += page.envelopes.size();
      if (seen > limits.max_measurements)
        throw std::runtime_error("more than " + std::to_string(limits.max_measurements) + " measurements: narrow the report");
      for (auto env : page.envelopes) add_checked(out, std::string(env), p, now_ms);
      auto j = parse_reply(*body, path);
      auto next = j.find("next_cursor");
      if (next == j.end() || !next->is_string()) throw std::runtime_error("GET " + path + ": no next_cursor");
      std::string following = next->get<std::string>();
      if (!following.empty() && following == cursor) throw std::runtime_error("GET " + path + ": the cursor does not move");
      cursor = following;
    } while (!cursor.empty());
  }
  finish(out, p);
  fetch_proofs(client, out, limits.proofs);
  return out;
}

}  // namespace kuzet::report
