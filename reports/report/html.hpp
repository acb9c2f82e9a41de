#pragma once
// The report as one self-contained HTML file: inline CSS and SVG, no script, prints well (A4).
// Every string that came from a measurement or a reply is escaped (html_escape): it is hostile input.
#include <string>
#include <string_view>

#include "core/html.hpp"
#include "i18n/i18n.hpp"
#include "reports/report/report.hpp"

namespace kuzet::report {

// & < > " ' as entities: safe in text and in quoted attributes (lib/core, shared with the collector's pages).
using core::html_escape;

// "2022-01-05 10:30" (UTC, minutes), for readers.
std::string human_utc(int64_t ms);

// Measurement permalinks: base + "/api/v1/measurements/<uid>" (base "" when built from a database).
std::string render_html(const Report& report, const i18n::Catalog& texts, const std::string& permalink_base);

}  // namespace kuzet::report
