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

#include "core/time.hpp"
#include "i18n/embedded_report.hpp"
#include "i18n/i18n.hpp"
#include "reports/report/bundle.hpp"
#include "reports/report/gather.hpp"
#include "reports/report/html.hpp"
#include "reports/report/pdf.hpp"
#include "reports/report/report.hpp"
#include "reports/report/verify.hpp"

using namespace kuzet;

namespace {

const char* kUsage =
    "usage: kuzet-report build (--collector URL | --db FILE [--log-key FILE]) --cc CC [--asn N]...\n"
    "                          [--target HOST]... --from TIME --until TIME --out DIR [--lang en|ru|kk]\n"
    "                          [--include-unconfirmed] [--pdf | --no-pdf]\n"
    "       kuzet-report verify BUNDLE [--log-key KEY]\n"
    "  build   writes DIR/report.html, DIR/report.pdf (headless Chromium) and DIR/bundle.json.\n"
    "          TIME is RFC 3339 UTC (2022-01-04T00:00:00Z). Without chromium the PDF is skipped (exit 0)\n"
    "          unless --pdf asks for it. Incidents seen by fewer than 2 probes are left out unless\n"
    "          --include-unconfirmed. With --db the proofs lead to the last checkpoint the collector\n"
    "          stored; the log's public key comes from --log-key FILE (the collector's key file or a\n"
    "          verifier key; default DB.log-key).\n"
    "  verify  checks a bundle offline: every signature, every inclusion proof, the checkpoint's signature\n"
    "          (against KEY, a verifier key name+hash+base64 from an independent source; else the bundle's\n"
    "          own, with a warning), and that the incidents follow from the signed measurements.\n"
    "          Exit 0 only when everything verifies.\n";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "kuzet-report: %s\n%s", what.c_str(), kUsage);
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
      if (!v || v->empty()) return usage_error(a + " needs a value");
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
      if (!v || v->empty() || *end != '\0' || n == 0 || n > UINT32_MAX) return usage_error("--asn needs an AS number");
      p.asns.push_back(static_cast<uint32_t>(n));
    } else if (a == "--from" || a == "--until") {
      auto t = time_value();
      if (!t) return usage_error(a + " needs an RFC 3339 time");
      (a == "--from" ? p.from_ms : p.until_ms) = *t;
    } else if (a == "--include-unconfirmed") {
      p.include_unconfirmed = true;
    } else if (a == "--pdf") {
      pdf = Pdf::required;
    } else if (a == "--no-pdf") {
      pdf = Pdf::skip;
    } else {
      return usage_error("unknown option " + a);
    }
  }
  if (collector.empty() == db.empty()) return usage_error("give one of --collector URL or --db FILE");
  if (!db_log_key.empty() && db.empty())
    return usage_error("--log-key goes with --db (a collector publishes its key at /log/key)");
  if (p.cc.size() != 2) return usage_error("--cc needs a two-letter country code");
  if (out.empty()) return usage_error("--out is required");
  if (p.from_ms == 0 || p.until_ms <= p.from_ms) return usage_error("--from and --until must give a period");
  if (p.until_ms - p.from_ms > 366LL * 24 * 3600 * 1000) return usage_error("the period is longer than a year");
  i18n::Catalog texts;
  try {
    texts = i18n::Catalog::embedded(i18n::embedded::report, lang);
  } catch (const std::invalid_argument&) {
    return usage_error("--lang must be en, ru or kk");
  }

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
  for (const auto& w : g.warnings) std::fprintf(stderr, "kuzet-report: warning: %s\n", w.c_str());
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
    std::fprintf(stderr, "kuzet-report: cannot write into %s\n", out.c_str());
    return 1;
  }
  size_t shown = 0;
  for (const auto& inc : r.computed.incidents) shown += inc.confirmed || p.include_unconfirmed;
  std::printf("%zu measurements, %zu incidents (%zu in the report)%s\n", r.measurements.size(),
              r.computed.incidents.size(), shown, r.synthetic.empty() ? "" : ", synthetic data");
  std::printf("wrote %s\nwrote %s\n", html.c_str(), bundle.c_str());
  if (r.checkpoint.empty())
    std::fprintf(stderr, "kuzet-report: warning: no signed checkpoint of the transparency log: the bundle has no proofs "
                         "and `verify` will fail on it\n");
  if (pdf == Pdf::skip) return 0;
  auto made = report::html_to_pdf(html.string(), pdf_path.string());
  if (made.ok) {
    std::printf("wrote %s\n", pdf_path.c_str());
    return 0;
  }
  std::fprintf(stderr,
               "kuzet-report: PDF skipped: %s. report.html is complete; install Debian's chromium "
               "(apt-get install chromium) and run the command again, or print report.html to PDF from a browser.\n",
               made.detail.c_str());
  return pdf == Pdf::required ? 1 : 0;
}

int verify(int argc, char** argv) {
  std::string path, key;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--log-key") {
      if (i + 1 >= argc) return usage_error("--log-key needs a value");
      key = argv[++i];
    } else if (path.empty() && a.rfind("--", 0) != 0) {
      path = a;
    } else {
      return usage_error("unknown option " + a);
    }
  }
  if (path.empty()) return usage_error("verify needs a bundle file");
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return std::fprintf(stderr, "kuzet-report: cannot read %s\n", path.c_str()), 1;
  if (size > report::kMaxBundleBytes) return std::fprintf(stderr, "FAIL bundle: larger than 1 GiB\n"), 1;
  std::ifstream f(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto result = report::verify_bundle(text, key);
  for (const auto& w : result.warnings) std::printf("WARNING %s\n", w.c_str());
  for (const auto& failure : result.failures) std::printf("FAIL %s\n", failure.c_str());
  std::printf("%s: %zu measurements, %zu inclusion proofs, %zu incidents checked; %zu failures\n",
              result.ok() ? "VERIFIED" : "NOT VERIFIED", result.measurements, result.proofs, result.incidents,
              result.failures.size());
  return result.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage_error("a command is needed");
  const std::string command = argv[1];
  if (command == "build") return build(argc, argv);
  if (command == "verify") return verify(argc, argv);
  if (command == "--help" || command == "-h" || command == "help") return std::printf("%s", kUsage), 0;
  return usage_error("unknown command " + command);
}
