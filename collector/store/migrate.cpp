#include "collector/store/migrate.hpp"

#include <cstdio>
#include <limits>
#include <memory>

#include "collector/options.hpp"
#include "collector/store/pg_util.hpp"
#include "collector/ingest/upload.hpp"
#include "collector/texts.hpp"
#include "core/crypto/crypto.hpp"
#include "tlog/note.hpp"

namespace kuzet::collector {

namespace {

constexpr size_t kCopyBatch = 1000;  // rows per target transaction

// Why a stored row cannot be copied ("" = it verifies). Kuzet's rows are checked as an upload is, except the
// time window: an old measurement was in its window when it was accepted.
std::string verify_row(const NewMeasurement& row, Store& from) {
  if (core::sha256_hex(row.envelope) != row.content_hash) return "its envelope does not hash to the stored content_hash";
  if (row.source != kSourceKuzet) return "";  // imported (docs/ooni.md): not signed by a Kuzet key
  ingest::CheckOptions options;
  options.now_ms = std::numeric_limits<int64_t>::max() / 4;
  options.max_backfill_ms = std::numeric_limits<int64_t>::max() / 4;
  options.key_registered_ms = [&from](const std::string& key_id) -> std::optional<int64_t> {
    auto key = from.find_key(key_id);
    return key ? std::optional<int64_t>(key->first_seen_ms) : std::nullopt;
  };
  const ingest::CheckedEnvelope checked = ingest::check_envelope(row.envelope, options);
  if (!checked.reason.empty()) return "its envelope is refused: " + checked.reason;
  if (checked.row.uid != row.uid || checked.row.key_id != row.key_id || checked.row.started_at_ms != row.started_at_ms)
    return "the stored uid, key or time differs from its signed envelope";
  return "";
}

// The checkpoint's size from a signed note (its text before the signatures).
std::optional<uint64_t> checkpoint_size(const std::string& note) {
  const size_t end = note.find("\n\n");
  if (end == std::string::npos) return std::nullopt;
  std::string error;
  auto cp = tlog::parse_checkpoint(note.substr(0, end + 1), &error);
  if (!cp) return std::nullopt;
  return cp->size;
}

}  // namespace

CopyReport copy_store(Store& from, Store& to, const std::function<void(uint64_t, uint64_t)>& progress) {
  CopyReport report;
  for (const auto& key : from.probe_keys()) {
    to.register_key(key);
    auto there = to.find_key(key.key_id);
    if (!there || there->public_key != key.public_key || there->first_seen_ms != key.first_seen_ms) {
      report.error = "the target has key " + key.key_id + " with another public key or registration time";
      return report;
    }
    ++report.keys;
  }
  const LogHead source = from.log_head();
  const uint64_t have = to.log_head().size;
  if (have > source.size) {
    report.error = "the target's log has " + std::to_string(have) + " entries, more than the source's " +
                   std::to_string(source.size) + ": it is another collector's store";
    return report;
  }
  // A resumed copy: what is there must be the source's beginning, entry for entry.
  for (uint64_t begin = 0; begin < have; begin += kCopyBatch) {
    const uint64_t end = std::min(have, begin + kCopyBatch);
    if (from.log_entries(begin, end) != to.log_entries(begin, end)) {
      report.error = "the target's log differs from the source's within entries " + std::to_string(begin) + "-" +
                     std::to_string(end - 1) + ": it is another collector's store";
      return report;
    }
  }
  report.already = have;
  for (uint64_t begin = have; begin < source.size; begin += kCopyBatch) {
    const auto rows = from.in_log_order(begin, kCopyBatch, true);
    const uint64_t expected = std::min<uint64_t>(kCopyBatch, source.size - begin);
    if (rows.size() != expected) {
      report.error = "the source's log entries " + std::to_string(begin) + "+ have no measurement rows";
      return report;
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      if (auto why = verify_row(rows[i], from); !why.empty()) {
        report.error = "measurement " + rows[i].uid + " (log index " + std::to_string(begin + i) + ") does not verify: " + why;
        return report;
      }
    }
    const auto results = to.insert_batch(rows);
    for (size_t i = 0; i < results.size(); ++i) {
      if (!results[i].inserted || results[i].log_index != begin + i) {
        report.error = "measurement " + rows[i].uid + " was already in the target outside its log order";
        return report;
      }
    }
    report.copied += rows.size();
    if (progress) progress(have + report.copied, source.size);
  }
  // The same entries in the same order: the same tree. Checked, not assumed.
  const LogHead copy = to.log_head();
  if (copy.size != source.size || copy.root != source.root) {
    report.error = "the copy's log head differs from the source's";
    return report;
  }
  if (auto note = from.latest_checkpoint(); note && to.latest_checkpoint() != note) {
    const auto size = checkpoint_size(*note);
    if (!size || *size > copy.size) {
      report.error = "the source's latest checkpoint cannot be read";
      return report;
    }
    to.add_checkpoint(*size, *note, 0);
    report.checkpoint = true;
  }
  return report;
}

int migrate_command(const MigrateOptions& options) {
  std::unique_ptr<Store> from, to;
  try {
    from = open_sqlite_store(options.from);
    to = open_postgres_store(options.to);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n", e.what());
    return 2;
  }
  CopyReport report;
  try {
    report = copy_store(*from, *to, [](uint64_t done, uint64_t total) {
      if (done % 100000 < kCopyBatch || done == total)
        std::fprintf(stderr, "%s\n",
                     say("migrate.progress", {{"done", std::to_string(done)}, {"total", std::to_string(total)}}).c_str());
    });
  } catch (const std::exception& e) {
    report.error = say("error.storage_failure", {{"error", e.what()}});
  }
  std::printf("%s\n", say("migrate.summary", {{"keys", std::to_string(report.keys)},
                                              {"copied", std::to_string(report.copied)},
                                              {"already", std::to_string(report.already)},
                                              {"checkpoint", texts().text(report.checkpoint ? "migrate.checkpoint_copied"
                                                                                            : "migrate.checkpoint_none")}})
                          .c_str());
  if (!report.error.empty()) {
    std::fprintf(stderr, "kuzet-collector: %s\n", say("migrate.stopped", {{"error", report.error}}).c_str());
    return 1;
  }
  const LogHead head = to->log_head();
  std::printf("%s\n", say("migrate.done", {{"db", pg::redacted(options.to)},
                                           {"count", std::to_string(to->measurement_count())},
                                           {"size", std::to_string(head.size)}})
                          .c_str());
  return 0;
}

}  // namespace kuzet::collector
