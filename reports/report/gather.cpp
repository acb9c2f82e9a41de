#include "reports/report/gather.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <memory>
#include <set>
#include <stdexcept>

#include "collector/sqlite_util.hpp"
#include "collector/timeline/api.hpp"
#include "collector/timeline/incidents.hpp"
#include "collector/upload.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"
#include "reports/report/bundle.hpp"

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

}  // namespace

Gathered gather_from_db(const std::string& db_path, const Params& p, int64_t now_ms) {
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
  out.warnings.push_back("built from a database: the transparency log's proofs are read only from a collector's "
                         "API (--collector); this bundle has none");
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

nlohmann::json parse_reply(const std::string& body, const std::string& what) {
  auto j = nlohmann::json::parse(body, [](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > 32) throw std::runtime_error("reply nested deeper than 32 levels");
    return true;
  }, false);
  if (!j.is_object()) throw std::runtime_error(what + ": the reply is not a JSON object");
  return j;
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
void fetch_proofs(Client& client, Gathered& out) {
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
                               "&from=" + client.escape(timeline::format_utc(gather_from_ms(p))) +
                               "&until=" + client.escape(timeline::format_utc(p.until_ms)) +
                               (cursor.empty() ? "" : "&cursor=" + client.escape(cursor));
      auto body = client.get(path);
      if (!body) throw std::runtime_error("GET " + path + ": not found");
      auto page = collector::split_upload_body(*body, 1000);
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
  fetch_proofs(client, out);
  return out;
}

}  // namespace kuzet::report
