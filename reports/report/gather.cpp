#include "reports/report/gather.hpp"

#include <curl/curl.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <memory>
#include <set>
#include <stdexcept>

#include "collector/sqlite_util.hpp"
#include "collector/timeline/api.hpp"
#include "collector/timeline/incidents.hpp"
#include "collector/upload.hpp"
#include "core/time.hpp"

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
    if (status == 404) return std::nullopt;
    if (status != 200) throw std::runtime_error("GET " + url + ": HTTP " + std::to_string(status));
    return body;
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
  return out;
}

}  // namespace kuzet::report
