// CLI contract: exit 2 with a message on usage/config errors, exit 0 when a run completes.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "probe/cli.hpp"

namespace {
int run_cli(std::vector<std::string> args) {
  args.insert(args.begin(), "kuzet-probe");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return kuzet::probe::main_cli(static_cast<int>(args.size()), argv.data());
}
}  // namespace

TEST_CASE("usage errors exit 2") {
  CHECK(run_cli({}) == 2);
  CHECK(run_cli({"frobnicate"}) == 2);
  CHECK(run_cli({"run"}) == 2);                                   // nothing to measure
  CHECK(run_cli({"run", "--bogus"}) == 2);
  CHECK(run_cli({"run", "--target"}) == 2);                       // missing value
  CHECK(run_cli({"run", "--target", "ftp://example.org/"}) == 2);  // not http(s)
  CHECK(run_cli({"run", "--target", "https://x.test/", "--resolver", "not-an-ip"}) == 2);
  CHECK(run_cli({"run", "--target", "https://x.test/", "--concurrency", "0"}) == 2);
  CHECK(run_cli({"run", "--target", "https://x.test/", "--ca-bundle", "/nonexistent.pem"}) == 2);
  CHECK(run_cli({"run", "--target", "https://x.test/", "--out", "/nonexistent-dir/r.jsonl"}) == 2);
  CHECK(run_cli({"run", "--spec", "/nonexistent/spec.yaml"}) == 2);
}

TEST_CASE("a broken spec exits 2") {
  const auto path = std::filesystem::temp_directory_path() / "kuzet-broken-spec.yaml";
  std::ofstream(path) << "targets:\n  - url: https://egov.kz/\n    category: [oops\n";
  CHECK(run_cli({"run", "--spec", path.string()}) == 2);
  std::filesystem::remove(path);
}

TEST_CASE("help and version exit 0") {
  CHECK(run_cli({"--help"}) == 0);
  CHECK(run_cli({"--version"}) == 0);
}

// --- Volunteers (#16): suggestions, one vocabulary between progress and table, consent in the config, logs.

#include <set>
#include <sstream>

#include "core/vocabulary/failure.hpp"
#include "core/log.hpp"
#include "core/suggest.hpp"
#include "core/vocabulary/verdict.hpp"
#include "probe/ui/output.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/consent.hpp"
#include "probe/ui/texts.hpp"
#include "core/version.hpp"
#include "i18n/embedded_probe.hpp"
#include "i18n/language.hpp"

using namespace kuzet;

TEST_CASE("did you mean: the nearest option or command, and https:// for a bare host name") {
  const std::vector<std::string_view> options = {"--target", "--spec", "--config", "--concurrency", "--consent"};
  CHECK(core::nearest_word("--taget", options) == "--target");
  CHECK(core::nearest_word("--tagret", options) == "--target");  // swapped letters
  CHECK(core::nearest_word("--conc", options) == "--concurrency");  // an abbreviation of one option
  CHECK(core::nearest_word("--con", options) == "");              // of several: no guess
  CHECK(core::nearest_word("--frobnicate", options) == "");
  CHECK(core::nearest_word("statsu", {"run", "status", "setup"}) == "status");
  CHECK(core::url_with_scheme("example.com") == "https://example.com/");
  CHECK(core::url_with_scheme("example.com/news?x=1") == "https://example.com/news?x=1");
  CHECK(core::url_with_scheme("1.2.3.4:8080") == "https://1.2.3.4:8080/");
  CHECK(core::url_with_scheme("https://example.com/") == "");
  CHECK(core::url_with_scheme("localhost") == "");  // no dot: not obviously a host name
  CHECK(core::url_with_scheme("ex ample.com") == "");

  probe::ui::set_language("en");
  const std::string message = probe::ui::unknown_option_message("run", "--taget");
  CHECK(message.find("unknown option '--taget'") != std::string::npos);
  CHECK(message.find("did you mean --target?") != std::string::npos);
  CHECK(message.find("kuzet-probe run --help") != std::string::npos);
  CHECK(probe::ui::url_suggestion_message("--target", "example.com").find("did you mean https://example.com/?") !=
        std::string::npos);
  probe::ui::set_language("ru");
  CHECK(probe::ui::unknown_option_message("run", "--taget").find("возможно, вы имели в виду --target?") !=
        std::string::npos);
  probe::ui::set_language("en");
}

TEST_CASE("--target example.com: exit 2 with the suggestion, nothing measured") {
  CHECK(run_cli({"run", "--target", "example.com"}) == 2);
  CHECK(run_cli({"run", "--taget", "https://example.com/"}) == 2);
  CHECK(run_cli({"statsu"}) == 2);
}

TEST_CASE("every command answers --help with exit 0, also after other options") {
  for (const auto& command : probe::ui::commands()) {
    const std::string name(command.name);
    CHECK_MESSAGE(run_cli({name, "--help"}) == 0, name);
    CHECK_MESSAGE(run_cli({name, "--config", "/nonexistent.yaml", "-h"}) == 0, name);
  }
  CHECK(run_cli({"help", "run"}) == 0);
}

TEST_CASE("the help of every command, in every language, names each of its options and has examples") {
  for (auto lang : i18n::kLanguages) {
    auto catalog = i18n::Catalog::embedded(i18n::embedded::probe, lang);
    for (const auto& command : probe::ui::commands()) {
      const std::string key = "help." + std::string(command.name);
      REQUIRE_MESSAGE(catalog.has(key), key);
      const std::string& help = catalog.text(key);
      CHECK_MESSAGE(help.find("kuzet-probe " + std::string(command.name)) != std::string::npos, lang, key);
      for (auto option : command.options)
        CHECK_MESSAGE(help.find(std::string(option) + " ") != std::string::npos, lang, " ", key, " lacks ", option);
    }
  }
}

TEST_CASE("the ru and kk catalogues translate every English text") {
  const auto en = i18n::Catalog::embedded(i18n::embedded::probe, "en");
  for (auto lang : {"ru", "kk"}) {
    const auto own = i18n::Catalog::parse(i18n::embedded::probe(lang));
    for (const auto& key : en.keys()) {
      REQUIRE_MESSAGE(own.has(key), lang, " lacks ", key);
      if (key != "lang.code") CHECK_MESSAGE(own.text(key) != en.text(key), lang, " leaves ", key, " in English");
    }
    CHECK(own.keys().size() == en.keys().size());
  }
}

namespace {
probe::MeasurementRecord failed_at_dns() {
  probe::MeasurementRecord r;
  r.target = "news.example";
  r.category = "news";
  r.observations.dns.failure = std::string(core::failure::dns_error);
  r.verdict.verdict = std::string(core::verdict::offline);
  r.runtime_ms = 1200;
  return r;
}
}  // namespace

TEST_CASE("progress and table speak one vocabulary: the failure seen in both, the verdict in the table") {
  const auto record = failed_at_dns();
  CHECK(probe::ui::seen_failure(record) == core::failure::dns_error);
  probe::Progress p;
  p.done = 1;
  p.total = 1;
  p.record = &record;
  const std::string line = probe::ui::progress_line(p);
  CHECK(line.find("seen dns.error") != std::string::npos);
  CHECK(line.find("ok") == std::string::npos);  // a verdict word is never used for "nothing failed"

  probe::RunResult result;
  result.records = {record};
  std::ostringstream table;
  probe::ui::print_table(table, result);
  const std::string text = table.str();
  CHECK(text.find("SEEN") != std::string::npos);
  std::istringstream rows(text);
  std::string header, row;
  std::getline(rows, header);
  std::getline(rows, row);
  CHECK(row.find("offline") != std::string::npos);
  CHECK(row.find("dns.error") != std::string::npos);

  CHECK(text.find("1 targets in 0.0s: 1 offline") != std::string::npos);
  CHECK(text.find("network: unknown ASN, control: none") != std::string::npos);

  // The lines under the table are in the volunteer's language; the verdict words stay the project's.
  probe::ui::set_language("kk");
  std::ostringstream kk_table;
  probe::ui::print_table(kk_table, result);
  CHECK(kk_table.str().find("нысана саны: 1, 0.0 с ішінде: 1 offline") != std::string::npos);
  CHECK(kk_table.str().find("желі: ASN белгісіз, бақылау: жоқ") != std::string::npos);
  CHECK(kk_table.str().find("targets in") == std::string::npos);
  probe::ui::set_language("en");

  probe::MeasurementRecord fine;
  fine.target = "ok.example";
  CHECK(probe::ui::seen_failure(fine) == "-");
}

TEST_CASE("consent is written into the config, keeping the volunteer's lines, and replaced, not repeated") {
  probe::ConsentRecord r;
  r.version = probe::kConsentVersion;
  r.accepted_at = "2026-12-02T14:00:00.000Z";
  r.language = "kk";
  const std::string original = "# my probe\ncollectors: []   # none yet\nschedule:\n  interval: 1h\n";
  const std::string once = probe::ui::with_consent(original, r);
  CHECK(once.rfind(original, 0) == 0);
  const auto parsed = probe::parse_probe_config(once, "probe.yaml");
  CHECK(parsed.consent.given());
  CHECK(parsed.consent.language == "kk");
  CHECK(parsed.schedule.interval_s == 3600);
  r.language = "ru";
  const std::string twice = probe::ui::with_consent(once, r);
  CHECK(twice.find("consent:") == twice.rfind("consent:"));
  CHECK(twice.find("# Informed consent") == twice.rfind("# Informed consent"));
  CHECK(probe::parse_probe_config(twice, "probe.yaml").consent.language == "ru");
  // A consent: section in the middle is replaced too; what follows it stays.
  const std::string middle = "consent:\n  version: 0\n# keep me\nschedule: {interval: 2h}\n";
  const std::string replaced = probe::ui::with_consent(middle, r);
  CHECK(replaced.find("version: 0") == std::string::npos);
  CHECK(replaced.find("# keep me") != std::string::npos);
  CHECK(probe::parse_probe_config(replaced, "probe.yaml").schedule.interval_s == 7200);
}

TEST_CASE("a yes in each language; anything else is no") {
  probe::ui::set_language("en");
  CHECK(probe::ui::is_yes("yes\n"));
  CHECK(probe::ui::is_yes("  YES "));
  CHECK_FALSE(probe::ui::is_yes("no"));
  CHECK_FALSE(probe::ui::is_yes(""));
  CHECK_FALSE(probe::ui::is_yes("yesterday"));
  probe::ui::set_language("ru");
  CHECK(probe::ui::is_yes("да"));
  CHECK(probe::ui::is_yes("Да\n"));
  CHECK_FALSE(probe::ui::is_yes("нет"));
  probe::ui::set_language("kk");
  CHECK(probe::ui::is_yes("иә"));
  CHECK(probe::ui::is_yes("ИӘ"));
  CHECK_FALSE(probe::ui::is_yes("жоқ"));
  probe::ui::set_language("en");
}

TEST_CASE("the language comes from LC_ALL, LC_MESSAGES, LANG in that order, then LANGUAGE's first entry") {
  ::unsetenv("LANGUAGE");
  ::setenv("LC_ALL", "", 1);
  ::setenv("LC_MESSAGES", "kk_KZ.UTF-8", 1);
  ::setenv("LANG", "ru_RU.UTF-8", 1);
  CHECK(i18n::language_from_environment() == "kk");
  ::unsetenv("LC_MESSAGES");
  CHECK(i18n::language_from_environment() == "ru");
  ::setenv("LANG", "de_DE.UTF-8", 1);
  CHECK(i18n::language_from_environment() == "en");
  ::setenv("LANG", "C", 1);
  CHECK(i18n::language_from_environment() == "en");
  ::setenv("LANGUAGE", "kk:ru", 1);  // a set LANG wins, even "C"
  CHECK(i18n::language_from_environment() == "en");
  ::unsetenv("LANG");
  ::unsetenv("LC_ALL");
  CHECK(i18n::language_from_environment() == "kk");
  ::setenv("LANGUAGE", "ru_RU:en", 1);
  CHECK(i18n::language_from_environment() == "ru");
  ::setenv("LANGUAGE", "de:ru", 1);
  CHECK(i18n::language_from_environment() == "en");
  ::unsetenv("LANGUAGE");
  CHECK(i18n::language_from_environment() == "en");
}

TEST_CASE("log lines: a timestamp outside systemd; under journald no timestamp and the priority prefix") {
  CHECK(core::format_log_line(false, core::LogLevel::info, "kuzet-probe", "2026-12-02T14:00:00.000Z", "started") ==
        "2026-12-02T14:00:00.000Z kuzet-probe: started\n");
  CHECK(core::format_log_line(true, core::LogLevel::error, "kuzet-probe", "", "queue write failed") ==
        "<3>queue write failed\n");
  CHECK(core::format_log_line(true, core::LogLevel::debug, "kuzet-probe", "", "a\nb") == "<7>a b\n");
  CHECK(core::parse_log_level("warning") == core::LogLevel::warning);
  CHECK(core::parse_log_level("5") == core::LogLevel::notice);
  CHECK_FALSE(core::parse_log_level("loud").has_value());
  // JOURNAL_STREAM must name the very file on stderr: inherited by a child whose stderr was redirected, it
  // must not count.
  const auto path = std::filesystem::temp_directory_path() / "kuzet-journal-stream-test";
  std::ofstream(path) << "";
  const int fd = ::open(path.c_str(), O_RDONLY);
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino)).c_str(), 1);
  CHECK(core::is_journal_stream(fd));
  ::setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
  CHECK_FALSE(core::is_journal_stream(fd));
  ::unsetenv("JOURNAL_STREAM");
  CHECK_FALSE(core::is_journal_stream(fd));
  ::close(fd);
  std::filesystem::remove(path);
}

TEST_CASE("the version is the project's") { CHECK(std::string(core::kVersion) == KUZET_PROJECT_VERSION); }

// --- The local history (probe/history): kept after acknowledgement, bounded, read back strictly.

#include "probe/history/history.hpp"

namespace {
probe::history::Entry history_entry(const std::string& at, const std::string& target) {
  probe::history::Entry e;
  e.at = at;
  e.run_id = "r1";
  e.measurement_uid = "uid-" + target;
  e.input = "https://" + target + "/";
  e.target = target;
  e.category = "news";
  e.verdict = std::string(core::verdict::blocked);
  e.method = "dns.nxdomain";
  e.seen = "dns.nxdomain";
  e.cc = "KZ";
  e.asn = 9198;
  return e;
}
}  // namespace

TEST_CASE("history: entries of a run carry verdict and seen; appended lines read back; torn lines skipped") {
  const auto dir = std::filesystem::temp_directory_path() / ("kuzet-history-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  probe::RunResult run;
  run.records = {failed_at_dns()};
  run.records[0].started_at = "2026-12-02T14:00:00.000Z";
  run.network.cc = "KZ";
  run.network.asn = 9198;
  const auto entries = probe::history::entries_of(run);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].verdict == core::verdict::offline);
  CHECK(entries[0].seen == core::failure::dns_error);
  CHECK(entries[0].asn == 9198);
  CHECK(probe::history::append(dir.string(), entries, {}, "2026-12-02T14:00:01.000Z") == "");
  std::ofstream(probe::history::path(dir.string()), std::ios::app) << "{\"at\": \"2026-12-02T14:00:00Z\", \"tor";
  CHECK(probe::history::append(dir.string(), {history_entry("2026-12-02T15:00:00.000Z", "b.example")}, {},
                               "2026-12-02T15:00:01.000Z") == "");
  auto read = probe::history::read(dir.string());
  CHECK(read.error.empty());
  REQUIRE(read.entries.size() == 2);
  CHECK(read.entries[0].target == "news.example");
  CHECK(read.entries[1].target == "b.example");
  CHECK(read.skipped == 1);  // the torn line (joined to the next append's first line) is not believed
  std::filesystem::remove_all(dir);
}

TEST_CASE("history: bounded in bytes (newest kept) and in days") {
  const auto dir = std::filesystem::temp_directory_path() / ("kuzet-history-bound-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  probe::history::Limits limits;
  limits.max_bytes = 20000;
  limits.max_days = 30;
  for (int i = 0; i < 200; ++i) {
    char at[32];
    std::snprintf(at, sizeof at, "2026-12-01T%02d:%02d:00.000Z", i / 60, i % 60);
    REQUIRE(probe::history::append(dir.string(), {history_entry(at, "t" + std::to_string(i) + ".example")}, limits,
                                   "2026-12-02T00:00:00.000Z") == "");
    CHECK(std::filesystem::file_size(probe::history::path(dir.string())) <= limits.max_bytes + 400);
  }
  auto read = probe::history::read(dir.string());
  REQUIRE_FALSE(read.entries.empty());
  CHECK(read.entries.back().target == "t199.example");  // the newest is always there
  CHECK(read.entries.size() < 200);
  CHECK(read.skipped == 0);
  // Forty days later everything above is too old and goes at the next append.
  REQUIRE(probe::history::append(dir.string(), {history_entry("2027-01-11T00:00:00.000Z", "new.example")}, limits,
                                 "2027-01-11T00:00:01.000Z") == "");
  read = probe::history::read(dir.string());
  REQUIRE(read.entries.size() == 1);
  CHECK(read.entries[0].target == "new.example");
  std::filesystem::remove_all(dir);
}

TEST_CASE("history: a line is believed only whole and bounded") {
  const auto good = probe::history::to_line(history_entry("2026-12-02T14:00:00.000Z", "a.example"));
  REQUIRE(probe::history::parse_line(good).has_value());
  CHECK(probe::history::parse_line(good)->asn == 9198);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return probe::history::parse_line(s).has_value();
  };
  CHECK_FALSE(with("\"asn\":9198", "\"asn\":-1"));
  CHECK_FALSE(with("\"asn\":9198", "\"asn\":4294967296"));
  CHECK_FALSE(with("\"2026-12-02T14:00:00.000Z\"", "\"yesterday\""));
  CHECK_FALSE(with("\"verdict\":\"blocked\"", "\"verdict\":7"));
  CHECK_FALSE(with("\"cc\":\"KZ\"", "\"cc\":\"KZ\",\"cc\":\"RU\""));  // duplicate keys: no second reading
  CHECK_FALSE(with("\"a.example\"", "\"" + std::string(3000, 'x') + "\""));
  CHECK_FALSE(probe::history::parse_line(std::string(probe::history::kMaxLineBytes + 1, ' ')).has_value());
}

#include "probe/page/status_page.hpp"

TEST_CASE("status page: the language from ?lang= or Accept-Language; texts and warnings in it") {
  CHECK(probe::page::page_language("ru", "kk") == "ru");
  CHECK(probe::page::page_language("", "kk-KZ,kk;q=0.9,ru;q=0.8") == "kk");
  CHECK(probe::page::page_language("", "de-DE, ru;q=0.5") == "ru");
  CHECK(probe::page::page_language("fr", "de") == "en");
  CHECK(probe::page::page_language("", "") == "en");
  CHECK(probe::page::page_language("", "ru;q=0.5, kk;q=0.8") == "kk");  // q-values, not the order given
  CHECK(probe::page::page_language("", "ru;q=0, kk") == "kk");           // q=0 refuses
  probe::ProbeConfig config;  // no collector
  const auto kk = i18n::Catalog::embedded(i18n::embedded::probe, "kk");
  const auto d = probe::page::status_document(config, std::nullopt, {history_entry("2026-12-02T14:00:00.000Z", "a.example")},
                                              "2026-12-02T15:00:00.000Z", kk);
  CHECK(d["lang"] == "kk");
  CHECK(d["texts"]["page.col_verdict"] == "үкім");
  REQUIRE(d["warnings"].size() == 1);
  CHECK(d["warnings"][0]["code"] == "no_collector");
  CHECK(d["warnings"][0]["text"].get<std::string>().find("Коллектор бапталмаған") == 0);
  REQUIRE(d["history"].size() == 1);
  CHECK(d["history"][0]["input"] == "https://a.example/");
  // Older than the page's 7 days: not listed.
  const auto later = probe::page::status_document(config, std::nullopt, {history_entry("2026-11-01T00:00:00.000Z", "old.example")},
                                                  "2026-12-02T15:00:00.000Z", kk);
  CHECK(later["history"].empty());
}

#include "tlog/note.hpp"

TEST_CASE("status page: uploads with their receipts, the collectors' logs, clock and disk warnings") {
  probe::ProbeConfig config;
  config.collectors = {"https://a.example", "https://b.example"};
  config.data_dir = "/var/lib/kuzet-probe";
  probe::daemon::DaemonStatus status;
  probe::daemon::UploadAttempt older{"2026-12-02T10:00:00Z", "https://a.example", 3, 3, 0, 0, "", 40, 42};
  probe::daemon::UploadAttempt newer{"2026-12-02T11:00:00Z", "https://a.example", 2, 1, 1, 0, "", 42, 107};
  probe::daemon::UploadAttempt other{"2026-12-02T11:05:00Z", "https://b.example", 1, 1, 0, 0, "", 5, 5};
  probe::daemon::UploadAttempt failed{"2026-12-02T11:10:00Z", "https://b.example", 4, 0, 0, 0, "upload.unreachable", -1, -1};
  status.uploads = {older, newer, other, failed};
  status.clock_offset_s = -900;  // the collector is 15 minutes behind: our clock runs ahead

  // a.example's log verified up to 100 entries: the older receipt is covered, the newer (107) not yet.
  auto checkpoint = [](uint64_t size) {
    tlog::Checkpoint c;
    c.origin = "a.example/log";
    c.size = size;
    return tlog::checkpoint_text(c) + "\n\u2014 a.example/log AAAA\n";
  };
  probe::witness::WitnessState a;
  a.collector = "https://a.example";
  a.checkpoint = checkpoint(100);
  a.checked_at = "2026-12-02T11:30:00Z";
  probe::witness::WitnessState b;
  b.collector = "https://b.example";
  b.conflict = "fork";
  b.conflict_found_at = "2026-12-02T11:20:00Z";
  probe::page::LocalChecks checks{{a, b}, 10ull << 20};

  const auto en = i18n::Catalog::embedded(i18n::embedded::probe, "en");
  const auto d = probe::page::status_document(config, status, {}, "2026-12-02T12:00:00.000Z", en, checks);
  REQUIRE(d["uploads"].size() == 4);
  CHECK(d["uploads"][0]["failure"] == "upload.unreachable");  // newest first
  CHECK(d["uploads"][0]["in_checkpoint"] == false);
  CHECK(d["uploads"][1]["collector"] == "https://b.example");
  CHECK(d["uploads"][1]["in_checkpoint"] == false);  // b's log is not trusted
  CHECK(d["uploads"][2]["last_log_index"] == 107);
  CHECK(d["uploads"][2]["in_checkpoint"] == false);
  CHECK(d["uploads"][3]["in_checkpoint"] == true);
  REQUIRE(d["logs"].size() == 2);
  CHECK(d["logs"][0]["state"] == "verified");
  CHECK(d["logs"][0]["size"] == 100);
  CHECK(d["logs"][0]["text"].get<std::string>().find("up to 100 entries") != std::string::npos);
  CHECK(d["logs"][1]["state"] == "conflict");
  std::set<std::string> codes;
  for (const auto& w : d["warnings"]) codes.insert(w["code"].get<std::string>());
  CHECK(codes == std::set<std::string>{"clock_ahead", "disk_low", "log_conflict"});
  for (const auto& w : d["warnings"])
    if (w["code"] == "clock_ahead") CHECK(w["text"].get<std::string>().find("15 minutes ahead") != std::string::npos);
    else if (w["code"] == "disk_low") CHECK(w["text"].get<std::string>().find("10 MiB free in /var/lib/kuzet-probe") != std::string::npos);

  // A right clock, room on the disk and no logs: none of those warnings; the texts exist in every language.
  status.clock_offset_s = 30;
  for (const char* lang : {"en", "ru", "kk"}) {
    const auto texts = i18n::Catalog::embedded(i18n::embedded::probe, lang);
    const auto calm = probe::page::status_document(config, status, {}, "2026-12-02T12:00:00.000Z", texts, {{}, 1ull << 30});
    CHECK(calm["warnings"].empty());
    CHECK(calm["logs"].empty());
    for (const char* key : {"warning.clock_ahead", "warning.clock_behind", "warning.disk_low", "warning.log_conflict",
                            "page.log_verified", "page.receipt_verified", "page.logs_h"})
      CHECK(texts.has(key));
  }
}
