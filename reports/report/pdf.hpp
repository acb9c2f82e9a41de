#pragma once
// report.pdf from report.html with Debian's headless Chromium (print to PDF): the same engine that renders
// the HTML, so the PDF is what a reader sees, fonts and SVG included (docs/reports.md says why not another tool).
#include <string>

namespace kuzet::report {

struct PdfResult {
  bool ok = false;
  bool chromium_missing = false;
  std::string detail;  // why it failed
};

// Runs `chromium` (from PATH, or $KUZET_CHROMIUM) headless with a fresh profile in a temporary directory,
// no network services, killed after timeout_seconds.
PdfResult html_to_pdf(const std::string& html_path, const std::string& pdf_path, int timeout_seconds = 120);

}  // namespace kuzet::report
