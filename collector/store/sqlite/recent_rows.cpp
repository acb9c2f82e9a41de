#include "collector/store/sqlite/recent_rows.hpp"

#include <atomic>
#include <stdexcept>

namespace kuzet::collector::sqlite {

namespace {

std::atomic<uint64_t> g_served{0};
std::atomic<uint64_t> g_misses{0};
std::atomic<uint64_t> g_dropped{0};

}  // namespace

RecentRowsStats recent_rows_stats() { return {g_served.load(), g_misses.load(), g_dropped.load()}; }

void RecentRows::served(size_t rows) { g_served.fetch_add(rows, std::memory_order_relaxed); }

RecentRows::Packed RecentRows::pack(const Committed& c, std::chrono::steady_clock::time_point now) {
  const NewMeasurement& m = *c.row;
  Packed p;
  p.rowid = c.rowid;
  p.log_index = c.log_index;
  p.started_at_ms = m.started_at_ms;
  p.received_at_ms = m.received_at_ms;
  p.asn = m.asn;
  p.decisive = m.decisive;
  p.committed_at = now;
  const std::string* texts[kTexts] = {&m.uid,      &m.source,  &m.content_hash, &m.key_id,  &m.cc,           &m.target,
                                      &m.category, &m.verdict, &m.method,       &m.vantage, &m.network_check};
  size_t total = 0;
  for (const auto* t : texts) total += t->size();
  // The store's checks bound these far lower; past what the offsets hold, add_committed holds nothing.
  if (total > UINT32_MAX) throw std::length_error("recent rows: texts too long to hold");
  p.texts.reserve(total);
  for (size_t i = 0; i < kTexts; ++i) {
    p.texts += *texts[i];
    p.ends[i] = static_cast<uint32_t>(p.texts.size());
  }
  return p;
}

NewMeasurement RecentRows::unpack(const Packed& p) {
  NewMeasurement m;
  m.uid = p.text(kUid);
  m.source = p.text(kSource);
  m.content_hash = p.text(kContentHash);
  m.key_id = p.text(kKeyId);
  m.started_at_ms = p.started_at_ms;
  m.received_at_ms = p.received_at_ms;
  m.cc = p.text(kCc);
  m.asn = p.asn;
  m.target = p.text(kTarget);
  m.category = p.text(kCategory);
  m.verdict = p.text(kVerdict);
  m.method = p.text(kMethod);
  m.vantage = p.text(kVantage);
  m.network_check = p.text(kNetworkCheck);
  m.decisive = p.decisive;
  return m;
}

void RecentRows::drop_all() noexcept {
  g_dropped.fetch_add(rows_.size(), std::memory_order_relaxed);
  rows_.clear();
  bytes_ = 0;
}

void RecentRows::expire_locked() {
  const auto oldest = std::chrono::steady_clock::now() - keep_for_;
  while (!rows_.empty() && rows_.front().committed_at < oldest) drop_front();
}

void RecentRows::drop_front() {
  bytes_ -= rows_.front().cost();
  rows_.pop_front();
  g_dropped.fetch_add(1, std::memory_order_relaxed);
}

void RecentRows::add_committed(const std::vector<Committed>& rows) noexcept {
  std::lock_guard lock(mutex_);
  try {
    const auto now = std::chrono::steady_clock::now();
    expire_locked();
    for (const auto& c : rows) {
      if (!rows_.empty()) {
        const Packed& last = rows_.back();
        const bool follows = c.rowid == last.rowid + 1 &&
                             (c.log_index < 0 ? last.log_index < 0 : last.log_index >= 0 && c.log_index == last.log_index + 1);
        if (!follows) drop_all();
      }
      rows_.push_back(pack(c, now));
      bytes_ += rows_.back().cost();
      while (bytes_ > budget_ && !rows_.empty()) drop_front();
    }
  } catch (...) {
    drop_all();
  }
}

std::optional<size_t> RecentRows::position(int64_t key, int64_t Packed::*field) const {
  // Nothing held, or past the end (a store without a log holds log index -1 only): the file has the rest.
  if (rows_.empty() || key > rows_.back().*field) return std::nullopt;
  if (key < rows_.front().*field) {
    g_misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  return static_cast<size_t>(key - rows_.front().*field);
}

size_t RecentRows::by_log_index(uint64_t begin, uint64_t end, std::vector<NewMeasurement>& out) {
  std::lock_guard lock(mutex_);
  expire_locked();
  size_t n = 0;
  const bool asked = begin < end && begin <= INT64_MAX;
  if (const auto at = asked ? position(static_cast<int64_t>(begin), &Packed::log_index) : std::nullopt)
    for (size_t i = *at; i < rows_.size() && static_cast<uint64_t>(rows_[i].log_index) < end; ++i, ++n)
      out.push_back(unpack(rows_[i]));
  served(n);
  return n;
}

std::optional<int64_t> RecentRows::first_rowid() {
  std::lock_guard lock(mutex_);
  expire_locked();
  if (rows_.empty()) return std::nullopt;
  return rows_.front().rowid;
}

std::optional<int64_t> RecentRows::first_log_index() {
  std::lock_guard lock(mutex_);
  expire_locked();
  if (rows_.empty() || rows_.front().log_index < 0) return std::nullopt;
  return rows_.front().log_index;
}

size_t RecentRows::size() const {
  std::lock_guard lock(mutex_);
  return rows_.size();
}

size_t RecentRows::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace kuzet::collector::sqlite
