// kuzet-report: dated evidence reports from a collector's signed measurements, and their offline check.
//   kuzet-report build (--collector URL | --db FILE [--log-key FILE]) --cc CC [--asn N]... [--target HOST]...
//                      --from TIME --until TIME --out DIR [--lang en|ru|kk] [--include-unconfirmed]
//                      [--pdf | --no-pdf]
//   kuzet-report verify BUNDLE [--log-key KEY]
// docs/reports.md and docs/report-bundle.md describe both.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"
#include "i18n/embedded_report.hpp"
#include "i18n/i18n.hpp"
#include "i18n/language.hpp"
#include "reports/report/bundle.hpp"
#include "reports/report/gather.hpp"
#include "reports/report/html.hpp"
#include "reports/report/pdf.hpp"
#include "reports/report/report.hpp"
#include "reports/report/verify.hpp"

using namespace kuzet;

namespace {

using Values = std::vector<std::pair<std::string, std::string>>;

// What the program says to a person (usage, errors, summaries) is in the environment's language, keys cli.* of
// i18n/report; --lang chooses only the language of the report itself.
i18n::ProcessTexts& cli_texts() {
  static i18n::ProcessTexts texts(i18n::embedded::report);
  return texts;
}

std::string say(std::string_view key, const Values& values = {}) { return cli_texts().say(key, values); }

const std::string& usage() { return cli_texts().catalog().text("cli.usage"); }

int usage_error(const std::string& what) {
  std::fprintf(stderr, "kuzet-report: %s\n%s", what.c_str(), usage().c_str());
  return 2;
}

bool write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  return static_cast<bool>(f.flush());
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int build(int argc, char** argv) {
  report::Params p;
  std::string collector, db, db_log_key, out, lang = "en";
  enum class Pdf { if_possible, required, skip } pdf = Pdf::if_possible;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::optional<std::string> {
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    auto time_value = [&]() -> std::optional<int64_t> {
      auto v = value();
      if (!v) return std::nullopt;
      auto t = core::parse_rfc3339(*v);
      if (!t) return std::nullopt;
      return core::to_unix_ms(*t);
    };
    if (a == "--collector" || a == "--db" || a == "--cc" || a == "--out" || a == "--lang" || a == "--target" ||
        a == "--log-key") {
      auto v = value();
      if (!v || v->empty()) return usage_error(say("cli.error.needs_value", {{"option", a}}));
      if (a == "--collector") collector = *v;
      else if (a == "--db") db = *v;
      else if (a == "--log-key") db_log_key = *v;
      else if (a == "--cc") p.cc = *v;
      else if (a == "--out") out = *v;
      else if (a == "--lang") lang = *v;
      else p.targets.push_back(*v);
    } else if (a == "--asn") {
      auto v = value();
      char* end = nullptr;
      unsigned long long n = v ? std::strtoull(v->c_str(), &end, 10) : 0;
      if (!v || v->empty() || *end != '\0' || n == 0 || n > UINT32_MAX) return usage_error(say("cli.error.asn"));
      p.asns.push_back(static_cast<uint32_t>(n));
    } else if (a == "--from" || a == "--until") {
      auto t = time_value();
      if (!t) return usage_error(say("cli.error.time", {{"option", a}}));
      (a == "--from" ? p.from_ms : p.until_ms) = *t;
    } else if (a == "--include-unconfirmed") {
      p.include_unconfirmed = true;
    } else if (a == "--pdf") {
      pdf = Pdf::required;
    } else if (a == "--no-pdf") {
      pdf = Pdf::skip;
    } else {
      return usage_error(say("cli.error.unknown_option", {{"option", a}}));
    }
  }
  if (collector.empty() == db.empty()) return usage_error(say("cli.error.collector_or_db"));
  if (!db_log_key.empty() && db.empty())
    return usage_error(say("cli.error.log_key_with_db"));
  if (p.cc.size() != 2) return usage_error(say("cli.error.cc"));
  if (out.empty()) return usage_error(say("cli.error.out_required"));
  if (p.from_ms == 0 || p.until_ms <= p.from_ms) return usage_error(say("cli.error.period"));
  if (p.until_ms - p.from_ms > 366LL * 24 * 3600 * 1000) return usage_error(say("cli.error.period_too_long"));
  if (!i18n::is_supported_language(lang)) return usage_error(say("cli.error.lang"));
  const i18n::Catalog texts = i18n::Catalog::embedded(i18n::embedded::report, lang);

  report::Report r;
  r.generated_at_ms = now_ms();
  report::Gathered g;
  try {
    if (!db.empty()) {
      r.source = "database " + std::filesystem::path(db).filename().string();
      g = report::gather_from_db(db, p, r.generated_at_ms, db_log_key);
    } else {
      r.source = collector;
      g = report::gather_from_collector(collector, p, r.generated_at_ms);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kuzet-report: %s\n", e.what());
    return 1;
  }
  for (const auto& w : g.warnings) std::fprintf(stderr, "kuzet-report: %s\n", say("cli.warning", {{"warning", w}}).c_str());
  p.data_end_ms = g.data_end_ms;
  r.params = p;
  r.measurements = std::move(g.measurements);
  r.checkpoint = g.checkpoint;
  r.log_key = g.log_key;
  // Synthetic data anywhere labels the whole report (replay, lab or test: the first kind found).
  for (const auto& e : r.measurements)
    if (r.synthetic.empty()) r.synthetic = e.synthetic;
  r.computed = report::compute(r.params, r.measurements);

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(out, ec);
  const std::string base = collector.empty() ? "" : collector;
  const fs::path html = fs::path(out) / "report.html", bundle = fs::path(out) / "bundle.json",
                 pdf_path = fs::path(out) / "report.pdf";
  if (!write_file(html, report::render_html(r, texts, base)) || !write_file(bundle, report::bundle_json(r))) {
    std::fprintf(stderr, "kuzet-report: %s\n", say("cli.error.cannot_write_into", {{"dir", out}}).c_str());
    return 1;
  }
  size_t shown = 0;
  for (const auto& inc : r.computed.incidents) shown += inc.confirmed || p.include_unconfirmed;
  std::printf("%s\n", say(r.synthetic.empty() ? "cli.build.summary" : "cli.build.summary_synthetic",
                          {{"measurements", std::to_string(r.measurements.size())},
                           {"incidents", std::to_string(r.computed.incidents.size())},
                           {"shown", std::to_string(shown)}})
                          .c_str());
  std::printf("%s\n%s\n", say("cli.wrote", {{"path", html.string()}}).c_str(),
              say("cli.wrote", {{"path", bundle.string()}}).c_str());
  if (r.checkpoint.empty()) std::fprintf(stderr, "kuzet-report: %s\n", say("cli.warning.no_checkpoint").c_str());
  if (pdf == Pdf::skip) return 0;
  auto made = report::html_to_pdf(html.string(), pdf_path.string());
  if (made.ok) {
    std::printf("%s\n", say("cli.wrote", {{"path", pdf_path.string()}}).c_str());
    return 0;
  }
  std::fprintf(stderr, "kuzet-report: %s\n", say("cli.pdf_skipped", {{"reason", made.detail}}).c_str());
  return pdf == Pdf::required ? 1 : 0;
}

int verify(int argc, char** argv) {
  std::string path, key;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--log-key") {
      if (i + 1 >= argc) return usage_error(say("cli.error.needs_value", {{"option", "--log-key"}}));
      key = argv[++i];
    } else if (path.empty() && a.rfind("--", 0) != 0) {
      path = a;
    } else {
      return usage_error(say("cli.error.unknown_option", {{"option", a}}));
    }
  }
  if (path.empty()) return usage_error(say("cli.error.no_bundle"));
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::fprintf(stderr, "kuzet-report: %s\n", say("cli.error.cannot_read", {{"path", path}}).c_str()), 1;
  if (size > report::kMaxBundleBytes) return std::fprintf(stderr, "FAIL %s\n", say("cli.verify.too_large").c_str()), 1;
  std::ifstream f(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto result = report::verify_bundle(text, key);
  for (const auto& w : result.warnings) std::printf("WARNING %s\n", w.c_str());
  for (const auto& failure : result.failures) std::printf("FAIL %s\n", failure.c_str());
  // VERIFIED / NOT VERIFIED stay English in every language: scripts read them (like FAIL and WARNING above).
  std::printf("%s\n", say("cli.verify.summary", {{"result", result.ok() ? "VERIFIED" : "NOT VERIFIED"},
                                                {"measurements", std::to_string(result.measurements)},
                                                {"proofs", std::to_string(result.proofs)},
                                                {"incidents", std::to_string(result.incidents)},
                                                {"failures", std::to_string(result.failures.size())}})
                          .c_str());
  return result.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error(say("cli.error.command_needed"));
  const std::string command = argv[1];
  if (command == "build") return build(argc, argv);
  if (command == "verify") return verify(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") return std::printf("%s", usage().c_str()), 0;
  return usage_error(say("cli.error.unknown_command", {{"command", command}}));
}
