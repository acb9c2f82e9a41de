#include "collector/ooni/cli.hpp"

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "ascii/ascii.hpp"
#include "collector/ooni/export.hpp"
#include "collector/ooni/import.hpp"
#include "collector/query/query.hpp"
#include "collector/store/store.hpp"
#include "collector/texts.hpp"
#include "core/crypto/crypto.hpp"
#include "core/time.hpp"
#include "files/line_reader.hpp"

namespace kuzet::ooni {

namespace {

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using collector::say;
using collector::texts;

constexpr size_t kBatchRows = 500;

int64_t parse_time_ms(const std::string& option, const std::string& text) {
  if (auto t = core::parse_rfc3339(text)) return core::to_unix_ms(*t);
  if (auto t = core::parse_rfc3339(text + "T00:00:00Z")) return core::to_unix_ms(*t);
  throw Usage(say("error.time", {{"option", option}}));
}

uint32_t parse_asn(const std::string& text) {
  std::string digits = text.starts_with("AS") || text.starts_with("as") ? text.substr(2) : text;
  uint32_t value = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size()) throw Usage(say("error.asn"));
  return value;
}

// The store, or nullptr after saying why (a start-up error: exit status 2).
std::unique_ptr<collector::Store> open_store(const std::string& db) {
  try {
    return collector::open_store(db);  // an SQLite file or a postgresql:// URL
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n", e.what());
    return nullptr;
  }
}

}  // namespace

std::string jsonl_line(const collector::ListedMeasurement& row) { return envelope_to_ooni(row.envelope).dump(); }

collector::query::LineFormat jsonl_list_format() {
  return {"ooni-jsonl", "application/x-ndjson", "kuzet-measurements.jsonl", jsonl_line};
}

int export_command(int argc, const char* const* argv) {
  collector::ListQuery query;
  std::string db, format, out_path;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw Usage(say("error.needs_value", {{"option", arg}}));
        return argv[++i];
      };
      if (arg == "--help" || arg == "-h") {
        std::printf("%s", texts().text("export.usage").c_str());
        return 0;
      } else if (arg == "--db") db = value();
      else if (arg == "--format") format = value();
      else if (arg == "--out") out_path = value();
      else if (arg == "--cc") query.filter.cc = value();
      else if (arg == "--asn") query.filter.asn = parse_asn(value());
      else if (arg == "--target") query.filter.target = value();
      else if (arg == "--from") query.filter.from_ms = parse_time_ms(arg, value());
      else if (arg == "--until") query.filter.until_ms = parse_time_ms(arg, value());
      else if (arg == "--source") {
        auto source = collector::query::parse_source(value());
        if (!source) throw Usage(say("error.source"));
        query.filter.source = *source;
      }
      else throw Usage(say("error.unknown_option", {{"option", arg}}));
    }
    if (db.empty()) throw Usage(say("error.required", {{"option", "--db"}}));
    if (format != "ooni") throw Usage(say("error.format"));
    query.filter.cc = ascii::upper(query.filter.cc);
  } catch (const Usage& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n%s", e.what(), texts().text("export.usage").c_str());
    return 2;
  }
  auto store = open_store(db);
  if (!store) return 2;
  std::ofstream file;
  if (!out_path.empty()) {
    file.open(out_path, std::ios::binary | std::ios::trunc);
    if (!file) {
      std::fprintf(stderr, "kuzet-collector: %s\n", say("error.cannot_write", {{"path", out_path}}).c_str());
      return 2;
    }
  }
  std::ostream& out = out_path.empty() ? std::cout : file;
  size_t written = 0, failed = 0;
  query.filter.limit = 1000;
  while (true) {
    auto page = store->list(query);
    for (const auto& row : page) {
      try {
        out << jsonl_line(row) << '\n';
        ++written;
      } catch (const std::exception& e) {
        ++failed;
        std::fprintf(stderr, "kuzet-collector: %s\n",
                     say("export.skipped_row", {{"uid", row.position.uid}, {"error", e.what()}}).c_str());
      }
    }
    if (page.size() < query.filter.limit) break;
    query.after = page.back().position;
  }
  out.flush();
  std::fprintf(stderr, "%s\n",
               (failed ? say("export.summary_skipped", {{"written", std::to_string(written)}, {"skipped", std::to_string(failed)}})
                       : say("export.summary", {{"written", std::to_string(written)}}))
                   .c_str());
  return failed == 0 && out ? 0 : 1;
}

int import_ooni_command(int argc, const char* const* argv) {
  std::string db;
  std::vector<std::string> files;
  try {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::printf("%s", texts().text("import_ooni.usage").c_str());
        return 0;
      } else if (arg == "--db") {
        if (i + 1 >= argc) throw Usage(say("error.needs_value", {{"option", "--db"}}));
        db = argv[++i];
      } else if (!arg.empty() && arg[0] == '-') {
        throw Usage(say("error.unknown_option", {{"option", arg}}));
      } else {
        files.push_back(arg);
      }
    }
    if (db.empty()) throw Usage(say("error.required", {{"option", "--db"}}));
    if (files.empty()) throw Usage(say("error.import_ooni_no_file"));
  } catch (const Usage& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n%s", e.what(), texts().text("import_ooni.usage").c_str());
    return 2;
  }
  auto store = open_store(db);
  if (!store) return 2;
  const int64_t received_at = core::to_unix_ms(std::chrono::system_clock::now());
  size_t stored = 0, duplicate = 0, conflicting = 0;
  std::map<std::string, size_t> skipped;
  std::vector<collector::NewMeasurement> batch;
  auto flush = [&] {
    if (batch.empty()) return;
    auto results = store->insert_batch(batch);
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].inserted) ++stored;
      else if (results[i].existing_hash == batch[i].content_hash) ++duplicate;
      else ++conflicting;
    }
    batch.clear();
  };
  try {
    for (const auto& path : files) {
      // Plain or gzip-compressed (OONI publishes .jsonl.gz), each line bounded.
      files::LineReader reader(path, kOoniLineLimits.max_bytes);
      if (!reader.is_open()) throw std::runtime_error(say("error.cannot_read", {{"path", path}}));
      std::string line;
      for (auto read = reader.next(line); read != files::LineReader::Line::end; read = reader.next(line)) {
        if (read == files::LineReader::Line::too_long) {
          ++skipped["too_large"];
          continue;
        }
        if (ascii::trim(line, " \t\r").empty()) continue;
        auto parsed = parse_ooni_line(line);
        if (!parsed.measurement) {
          ++skipped[parsed.skipped];
          continue;
        }
        const auto& m = *parsed.measurement;
        auto verdict = judge(m, {});
        auto measurement = to_kuzet_measurement(m, verdict);
        // Not signed by a Kuzet key: stored under "imported", never as a signed envelope.
        nlohmann::json envelope = {{"imported", {{"source", kSourceName}, {"line_sha256", core::sha256_hex(line)}}},
                                   {"measurement", measurement}};
        collector::NewMeasurement row;
        row.uid = measurement["measurement_uid"];
        row.envelope = envelope.dump();
        row.content_hash = core::sha256_hex(row.envelope);
        // No Kuzet key signed it; one pseudonymous "probe" per OONI report, so timelines count reports.
        row.key_id = std::string(kSourceName) + ":" + core::sha256_hex(m.report_id).substr(0, 12);
        row.source = kSourceName;
        row.started_at_ms = m.started_at_ms;
        row.received_at_ms = received_at;
        row.cc = m.cc;
        row.asn = m.asn;
        row.target = m.target.observations.host;
        row.category = m.target.category;
        row.verdict = verdict.verdict;
        row.method = verdict.method;
        batch.push_back(std::move(row));
        if (batch.size() == kBatchRows) flush();
      }
    }
    flush();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-collector: %s\n", e.what());
    return 1;
  }
  size_t total_skipped = 0;
  for (const auto& [_, n] : skipped) total_skipped += n;
  std::printf("%s\n", say("import_ooni.summary", {{"stored", std::to_string(stored)},
                                                  {"duplicate", std::to_string(duplicate)},
                                                  {"conflicting", std::to_string(conflicting)},
                                                  {"skipped", std::to_string(total_skipped)}})
                          .c_str());
  for (const auto& [reason, n] : skipped)
    std::printf("%s\n", say("import_ooni.skipped", {{"reason", reason}, {"count", std::to_string(n)}}).c_str());
  return conflicting == 0 ? 0 : 1;
}

}  // namespace kuzet::ooni
