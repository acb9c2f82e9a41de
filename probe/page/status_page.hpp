#pragma once
// The daemon's local status page: on 127.0.0.1 by default (config `status_page: "ADDR:PORT"`, or "off"), a
// small HTML page and its JSON (/api/status): the network, the last run, the local history (probe/history),
// the queue, the last upload, and warnings. The page fills itself with textContent only (no markup from data),
// under a CSP that allows no inline script; requests whose Host is not this loopback address are refused, so a
// web site cannot read it through DNS rebinding.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "i18n/i18n.hpp"
#include "probe/config.hpp"
#include "probe/history/history.hpp"
#include "probe/daemon/status.hpp"
#include "probe/witness/witness.hpp"

namespace kuzet::probe::page {

// What the page reads besides the daemon's state: the witness's view of each collector's log
// (probe/witness) and the free space where results are kept.
struct LocalChecks {
  std::vector<witness::WitnessState> logs;
  std::optional<uint64_t> disk_free_bytes;  // nullopt: unknown
};

// Warn when the collector's clock and ours differ by more than this (the collector refuses results dated
// more than 10 minutes ahead of it), or when less than this much space is left for the queue and history.
inline constexpr int64_t kClockWarnSeconds = 5 * 60;
inline constexpr uint64_t kDiskLowBytes = 64ull << 20;

// The JSON document of /api/status: a pure function of the stored state (history oldest first; the newest
// `max_history` entries of the last `days` days are kept), with the page's texts and the warnings in the
// language of `texts` (i18n/probe, keys page.* and warning.*). Uploads are listed newest first with their
// receipts; a receipt is "in a verified checkpoint" when the witness verified a checkpoint of that
// collector's log that contains its highest index.
nlohmann::json status_document(const ProbeConfig& config, const std::optional<daemon::DaemonStatus>& status,
                               const std::vector<history::Entry>& history, const std::string& now_rfc3339,
                               const i18n::Catalog& texts, const LocalChecks& checks = {}, int64_t days = 7,
                               size_t max_history = 500);

// Free bytes for an unprivileged writer in `dir` (statvfs); nullopt when it cannot be asked.
std::optional<uint64_t> free_bytes(const std::string& dir);

// The page's language: `?lang=` when it is en, ru or kk, else the one Accept-Language ranks highest
// (i18n::language_from_accept), else en.
std::string page_language(const std::string& query_lang, const std::string& accept_language);

// The Host header values a loopback page answers to ("127.0.0.1:8086", "localhost:8086").
bool is_own_host(const std::string& host_header, uint16_t port);

class StatusPage {
 public:
  explicit StatusPage(ProbeConfig config);
  ~StatusPage();
  StatusPage(const StatusPage&) = delete;
  StatusPage& operator=(const StatusPage&) = delete;
  // Binds config.status_page ("ADDR:PORT", port 0 = any free one) and serves in a thread. "" or why not.
  std::string start();
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kuzet::probe::page
