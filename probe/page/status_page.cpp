#include "probe/page/status_page.hpp"

#include <httplib.h>

#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <thread>

#include "core/time.hpp"
#include "tlog/note.hpp"
#include "i18n/embedded_probe.hpp"
#include "i18n/language.hpp"

namespace kuzet::probe::page {

namespace {

// Static: the data arrives as JSON and is put in the page with textContent only.
constexpr const char* kPageHtml = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kuzet probe</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="page.css"></head>
<body data-ready="0">
<h1 data-text="page.title">Kuzet probe</h1>
<p id="state">…</p>
<ul id="warnings"></ul>
<h2 data-text="page.network_h"></h2><p id="network">-</p>
<h2 data-text="page.last_run_h"></h2><p id="last-run">-</p>
<h2 data-text="page.queue_h"></h2><p id="queue">-</p><p id="upload">-</p>
<table><thead><tr><th data-text="page.col_time"></th><th data-text="page.col_collector"></th>
<th data-text="page.col_sent"></th><th data-text="page.col_stored"></th><th data-text="page.col_receipt"></th>
<th data-text="page.col_result"></th></tr></thead><tbody id="uploads"></tbody></table>
<h2 data-text="page.logs_h"></h2><ul id="logs"></ul>
<h2 id="results-h"></h2>
<table><thead><tr><th data-text="page.col_time"></th><th data-text="page.col_target"></th>
<th data-text="page.col_url"></th><th data-text="page.col_category"></th><th data-text="page.col_verdict"></th>
<th data-text="page.col_method"></th><th data-text="page.col_seen"></th><th data-text="page.col_network"></th>
</tr></thead><tbody id="history"></tbody></table>
<script src="page.js"></script>
</body></html>
)HTML";

constexpr const char* kPageCss = R"CSS(body{font-family:sans-serif;margin:1.5em;max-width:70em}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ccc;padding:.2em .6em;text-align:left}
tr.blocked td,tr.intercepted td,tr.throttled td{background:#fde2e2}tr.offline td{background:#eee}
#warnings li{color:#a00})CSS";

constexpr const char* kPageJs = R"JS('use strict';
let T = {};
function t(key, values) {
  let s = T[key] || key;
  for (const [k, v] of Object.entries(values || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}
function text(id, value) { document.getElementById(id).textContent = value; }
function cell(row, value) { const td = document.createElement('td'); td.textContent = value; row.appendChild(td); }
fetch('api/status' + location.search).then(r => r.json()).then(d => {
  T = d.texts;
  document.documentElement.lang = d.lang;
  document.title = t('page.title');
  for (const el of document.querySelectorAll('[data-text]')) el.textContent = t(el.dataset.text);
  const s = d.daemon;
  text('state', s ? (s.running ? t('page.running', {since: s.started_at, runs: s.runs}) : t('page.stopped'))
                  : t('page.no_state'));
  const w = document.getElementById('warnings');
  for (const warning of d.warnings) { const li = document.createElement('li'); li.textContent = warning.text;
    li.dataset.code = warning.code; w.appendChild(li); }
  text('network', d.network || t('page.unknown'));
  const r = s && s.last_run;
  text('last-run', r ? t('page.last_run', {at: r.started_at, targets: r.targets, verdicts:
       Object.entries(r.verdicts).filter(([v, n]) => n > 0).map(([v, n]) => n + ' ' + v).join(', ')}) : '-');
  text('queue', s ? t('page.queue', {n: s.queue.records}) : '-');
  const u = s && s.last_upload;
  text('upload', u ? t('page.upload', {at: u.at, collector: u.collector, stored: u.stored}) +
       (u.failure ? t('page.upload_failed', {failure: u.failure}) : '') : t('page.no_upload'));
  const ups = document.getElementById('uploads');
  for (const u of d.uploads) {
    const row = document.createElement('tr');
    const range = '#' + u.first_log_index + (u.last_log_index > u.first_log_index ? '–#' + u.last_log_index : '');
    const receipt = u.first_log_index < 0 ? '-' : u.in_checkpoint ? t('page.receipt_verified', {range: range}) : range;
    for (const v of [u.at, u.collector, u.sent, u.stored + u.duplicate, receipt, u.failure || t('page.upload_ok')])
      cell(row, v);
    ups.appendChild(row);
  }
  const logs = document.getElementById('logs');
  for (const l of d.logs) { const li = document.createElement('li'); li.textContent = l.text;
    li.dataset.state = l.state; logs.appendChild(li); }
  if (!d.logs.length) { const li = document.createElement('li'); li.textContent = t('page.logs_none'); logs.appendChild(li); }
  text('results-h', t('page.results_h', {days: d.days}));
  const body = document.getElementById('history');
  for (const e of d.history.slice().reverse()) {
    const row = document.createElement('tr');
    row.className = /^[a-z]+$/.test(e.verdict) ? e.verdict : '';
    for (const v of [e.at, e.target, e.input, e.category, e.verdict, e.method || '-', e.seen,
                     (e.asn ? 'AS' + e.asn : 'AS?') + (e.cc ? ' ' + e.cc : '')]) cell(row, v);
    body.appendChild(row);
  }
  document.body.dataset.ready = '1';
}).catch(err => text('state', t('page.load_failed', {error: err})));
)JS";

}  // namespace

std::string page_language(const std::string& query_lang, const std::string& accept_language) {
  if (i18n::is_supported_language(query_lang)) return query_lang;
  return i18n::language_from_accept(accept_language, i18n::kDefaultLanguage);
}

std::optional<uint64_t> free_bytes(const std::string& dir) {
  struct statvfs fs {};
  if (statvfs(dir.c_str(), &fs) != 0) return std::nullopt;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

namespace {

// The tree size of the witness's verified checkpoint; nullopt when it holds none (or it is unreadable).
std::optional<uint64_t> verified_size(const witness::WitnessState& log) {
  const size_t blank = log.checkpoint.find("\n\n");
  if (blank == std::string::npos) return std::nullopt;
  std::string error;
  const auto c = tlog::parse_checkpoint(std::string_view(log.checkpoint).substr(0, blank + 1), &error);
  if (!c) return std::nullopt;
  return c->size;
}

// An answer httplib sends as it is: it compresses a body it holds, never one of known length from a content
// provider. httplib 0.11 answers a browser's `br` with Brotli at its slowest quality (about a megabyte a second of
// a fast core), for each of the page's answers, on a router.
void set_uncompressed(httplib::Response& res, std::string body, const char* type) {
  auto held = std::make_shared<const std::string>(std::move(body));
  res.set_content_provider(held->size(), type, [held](size_t offset, size_t length, httplib::DataSink& sink) {
    return sink.write(held->data() + offset, std::min(length, held->size() - offset));
  });
}

}  // namespace

nlohmann::json status_document(const ProbeConfig& config, const std::optional<daemon::DaemonStatus>& status,
                               const std::vector<history::Entry>& entries, const std::string& now,
                               const i18n::Catalog& texts, const LocalChecks& checks, int64_t days,
                               size_t max_history) {
  nlohmann::json d;
  d["lang"] = texts.text("lang.code");
  nlohmann::json page_texts = nlohmann::json::object();
  for (const auto& key : texts.keys())
    if (key.rfind("page.", 0) == 0) page_texts[key] = texts.text(key);
  d["texts"] = page_texts;
  d["days"] = days;
  d["daemon"] = status ? nlohmann::json(*status) : nlohmann::json();
  std::string network;
  if (status && status->last_run && (status->last_run->asn || !status->last_run->cc.empty()))
    network = "AS" + std::to_string(status->last_run->asn) +
              (status->last_run->cc.empty() ? "" : " (" + status->last_run->cc + ")");
  d["network"] = network;
  d["collectors"] = config.collectors;
  nlohmann::json warnings = nlohmann::json::array();
  auto warn = [&](const std::string& code, const std::vector<std::pair<std::string, std::string>>& values) {
    warnings.push_back({{"code", code}, {"text", texts.format("warning." + code, values)}});
  };
  if (config.collectors.empty()) warn("no_collector", {});
  if (status && !status->queue.full_since.empty()) warn("queue_full", {{"since", status->queue.full_since}});
  if (status && status->upload_failures_in_row > 0)
    warn("upload_failing", {{"n", std::to_string(status->upload_failures_in_row)}});
  if (status && status->mode == "shutdown") warn("shutdown", {});
  if (status && status->clock_offset_s && std::llabs(*status->clock_offset_s) > kClockWarnSeconds)
    warn(*status->clock_offset_s > 0 ? "clock_behind" : "clock_ahead",
         {{"minutes", std::to_string(std::llabs(*status->clock_offset_s) / 60)}});
  if (checks.disk_free_bytes && *checks.disk_free_bytes < kDiskLowBytes)
    warn("disk_low", {{"mib", std::to_string(*checks.disk_free_bytes >> 20)}, {"dir", config.data_dir}});

  // Each collector's log as the witness saw it; a split view is also a warning.
  std::map<std::string, uint64_t> verified;
  nlohmann::json logs = nlohmann::json::array();
  for (const auto& log : checks.logs) {
    const auto checked = verified_size(log);
    const uint64_t size = checked.value_or(0);
    verified[log.collector] = log.trusted() ? size : 0;
    std::string state = "unchecked", line;
    if (!log.trusted()) {
      state = "conflict";
      line = texts.format("page.log_conflict", {{"collector", log.collector}, {"kind", log.conflict},
                                                 {"at", log.conflict_found_at}});
      warn("log_conflict", {{"collector", log.collector}});
    } else if (checked) {
      state = "verified";
      line = texts.format("page.log_verified", {{"collector", log.collector}, {"size", std::to_string(size)},
                                                 {"at", log.checked_at}});
    } else {
      line = texts.format("page.log_unchecked", {{"collector", log.collector}, {"error", log.last_error}});
    }
    if (log.trusted() && checked && !log.last_error.empty())
      line += " " + texts.format("page.log_last_error", {{"error", log.last_error}});
    logs.push_back({{"collector", log.collector}, {"state", state}, {"size", size}, {"text", line}});
  }
  d["logs"] = logs;
  nlohmann::json uploads = nlohmann::json::array();
  if (status) {
    for (auto it = status->uploads.rbegin(); it != status->uploads.rend(); ++it) {
      nlohmann::json u = upload_to_json(*it);
      const auto v = verified.find(it->collector);
      u["in_checkpoint"] = it->last_log_index >= 0 && v != verified.end() &&
                           static_cast<uint64_t>(it->last_log_index) < v->second;
      uploads.push_back(std::move(u));
    }
  }
  d["uploads"] = uploads;
  d["warnings"] = warnings;
  const auto now_time = core::parse_rfc3339(now);
  nlohmann::json history = nlohmann::json::array();
  size_t first = entries.size() > max_history ? entries.size() - max_history : 0;
  for (size_t i = first; i < entries.size(); ++i) {
    const auto at = core::parse_rfc3339(entries[i].at);
    if (now_time && at && *at < *now_time - std::chrono::hours(24 * days)) continue;
    history.push_back(history::to_json(entries[i]));
  }
  d["history"] = history;
  return d;
}

bool is_own_host(const std::string& host, uint16_t port) {
  const std::string p = ":" + std::to_string(port);
  return host == "127.0.0.1" + p || host == "localhost" + p || host == "[::1]" + p;
}

struct StatusPage::Impl {
  ProbeConfig config;
  std::map<std::string, i18n::Catalog> catalogs;  // en, ru, kk: loaded once, read by the server threads
  httplib::Server server;
  std::thread thread;
  uint16_t port = 0;
};

StatusPage::StatusPage(ProbeConfig config) : impl_(std::make_unique<Impl>()) { impl_->config = std::move(config); }

StatusPage::~StatusPage() {
  if (impl_->thread.joinable()) {
    impl_->server.stop();
    impl_->thread.join();
  }
}

uint16_t StatusPage::port() const { return impl_->port; }

std::string StatusPage::start() {
  const std::string& listen = impl_->config.status_page;
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int wanted = std::stoi(listen.substr(colon + 1));
  auto& server = impl_->server;
  server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (is_own_host(req.get_header_value("Host"), impl_->port) && req.method == "GET")
      return httplib::Server::HandlerResponse::Unhandled;
    res.status = 403;
    set_uncompressed(res, "forbidden\n", "text/plain");
    return httplib::Server::HandlerResponse::Handled;
  });
  auto headers = [](httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Cache-Control", "no-store");
  };
  server.Get("/", [headers](const httplib::Request&, httplib::Response& res) {
    headers(res);
    set_uncompressed(res, kPageHtml, "text/html; charset=utf-8");
  });
  server.Get("/page.js", [headers](const httplib::Request&, httplib::Response& res) {
    headers(res);
    set_uncompressed(res, kPageJs, "text/javascript; charset=utf-8");
  });
  server.Get("/page.css", [headers](const httplib::Request&, httplib::Response& res) {
    headers(res);
    set_uncompressed(res, kPageCss, "text/css; charset=utf-8");
  });
  for (const auto lang : i18n::kLanguages)
    impl_->catalogs.emplace(std::string(lang), i18n::Catalog::embedded(i18n::embedded::probe, lang));
  server.Get("/api/status", [this, headers](const httplib::Request& req, httplib::Response& res) {
    std::string ignored;
    const auto status = daemon::read_status(impl_->config.data_dir, &ignored);
    const auto read = history::read(impl_->config.data_dir);
    LocalChecks checks;
    checks.logs = witness::load_all_states(impl_->config.data_dir);
    checks.disk_free_bytes = free_bytes(impl_->config.data_dir);
    const auto& texts =
        impl_->catalogs.at(page_language(req.get_param_value("lang"), req.get_header_value("Accept-Language")));
    headers(res);
    set_uncompressed(res,
                     status_document(impl_->config, status, read.entries, core::now_rfc3339(), texts, checks)
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                     "application/json");
  });
  const int port = wanted == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, wanted) ? wanted : -1);
  if (port <= 0) return "cannot listen on " + listen;
  impl_->port = static_cast<uint16_t>(port);
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  return "";
}

}  // namespace kuzet::probe::page
