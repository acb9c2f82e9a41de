// kuzet-report's command line through the real binary: its usage, usage errors and summaries are said in the
// environment's language (LC_ALL, LC_MESSAGES, LANG), while --lang chooses only the language of the report.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "collector/store/store.hpp"
#include "tests/collector/support/helpers.hpp"
#include "tests/run_in_locale.hpp"

using kuzet::collector::testing::TempDir;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

kuzet::testing::LocaleRun run(const TempDir& dir, const std::string& locale, const std::string& args) {
  const char* binary = std::getenv("KUZET_REPORT_BIN");
  REQUIRE(binary);
  return kuzet::testing::run_in_locale(dir.path.string(), locale, binary, args);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("usage errors and help in the environment's language: en, ru, kk; another language is English") {
  TempDir dir;
  const char* binary = std::getenv("KUZET_REPORT_BIN");
  REQUIRE(binary);
  kuzet::testing::check_locale_cases(dir.path.string(), binary, {
      {"C", "verify", 2, "kuzet-report: verify needs a bundle file\nusage: kuzet-report build", ""},
      {"de_DE.UTF-8", "verify", 2, "kuzet-report: verify needs a bundle file\nusage: kuzet-report build", ""},
      {"C", "--help", 0, "usage: kuzet-report build (--collector URL | --db FILE [--log-key FILE])",
       "  verify  checks a bundle offline"},
      {"de_DE.UTF-8", "--help", 0, "usage: kuzet-report build", "  verify  checks a bundle offline"},
      {"ru_RU.UTF-8", "verify", 2, "kuzet-report: для verify нужен файл пакета\nиспользование: kuzet-report build", ""},
      {"ru_RU.UTF-8", "--help", 0, "использование: kuzet-report build", "проверяет пакет без сети"},
      {"ru_RU.UTF-8", "frobnicate", 2, "kuzet-report: неизвестная команда frobnicate\n", ""},
      {"kk_KZ.UTF-8", "build --cc K", 2, "kuzet-report: --collector URL немесе --db ФАЙЛ екеуінің бірін көрсетіңіз\nқолданылуы:",
       ""},
      {"kk_KZ.UTF-8", "--help", 0, "қолданылуы: kuzet-report build", "буманы желісіз тексереді"},
      {"kk_KZ.UTF-8", "build --cc", 2, "kuzet-report: --cc үшін мән керек\n", ""},
  });
}

TEST_CASE("--lang ru with LC_ALL=C: the report is Russian, what the program says is English; and the other way") {
  TempDir dir;
  const std::string db = dir.file("collector.db");
  kuzet::collector::open_sqlite_store(db);  // an empty collector: a report of nothing, without proofs
  const std::string build = "build --db " + db + " --cc KZ --from 2022-01-04T00:00:00Z --until 2022-01-06T00:00:00Z --no-pdf";

  const auto en_cli = run(dir, "C", build + " --lang ru --out " + dir.file("ru"));
  CHECK(en_cli.status == 0);
  CHECK(en_cli.out == "0 measurements, 0 incidents (0 in the report)\nwrote " + dir.file("ru") + "/report.html\nwrote " +
                          dir.file("ru") + "/bundle.json\n");
  CHECK(contains(en_cli.err, "kuzet-report: warning: no signed checkpoint of the transparency log"));
  const std::string ru_report = read_text(dir.file("ru") + "/report.html");
  CHECK(contains(ru_report, "<html lang=\"ru\""));
  CHECK(contains(ru_report, "Инцидентов нет."));

  const auto ru_cli = run(dir, "ru_RU.UTF-8", build + " --lang en --out " + dir.file("en"));
  CHECK(ru_cli.status == 0);
  CHECK(ru_cli.out.starts_with("измерений: 0, инцидентов: 0 (в отчёте: 0)\nзаписан " + dir.file("en") + "/report.html\n"));
  CHECK(contains(ru_cli.err, "kuzet-report: предупреждение: нет подписанной контрольной точки"));
  const std::string en_report = read_text(dir.file("en") + "/report.html");
  CHECK(contains(en_report, "<html lang=\"en\""));
  CHECK_FALSE(contains(en_report, "Инцидентов нет."));

  // A wrong --lang is a usage error in the environment's language, not in the report's.
  const auto bad = run(dir, "kk_KZ.UTF-8", build + " --lang de --out " + dir.file("de"));
  CHECK(bad.status == 2);
  CHECK(contains(bad.err, "kuzet-report: --lang мәні en, ru немесе kk болуы керек"));
}
