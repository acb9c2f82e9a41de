#include "spec/citizenlab.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#include "csv/csv.hpp"
#include "measure/http/http.hpp"
#include "measure/http/url.hpp"
#include "spec/categories.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::spec {

namespace {

// A value quoted in a message: at most 200 bytes, so a hostile field cannot flood the terminal.
std::string shown(const std::string& value) {
  return value.size() <= 200 ? value : value.substr(0, 200) + "...";
}

}  // namespace

Spec parse_citizenlab_csv(std::string_view text, const std::string& source_name) {
  auto problem = [&](int line, const std::string& what) {
    return SpecError(source_name + ":" + std::to_string(std::max(line, 1)) + ": " + what);
  };
  std::vector<csv::Record> records;
  try {
    records = csv::parse(text);
  } catch (const csv::Error& e) {
    throw problem(e.line(), e.problem());
  }
  if (records.empty()) throw problem(1, "empty test list (expected the header url,category_code,...)");

  const auto& header = records.front().fields;
  size_t url_column = header.size(), category_column = header.size();
  for (size_t i = 0; i < header.size(); ++i) {
    // csv::parse already dropped a byte-order mark
    const std::string name = ascii::lower(ascii::trim(header[i], ascii::kBlanks));
    if (name == "url" && url_column == header.size()) url_column = i;
    if (name == "category_code" && category_column == header.size()) category_column = i;
  }
  if (url_column == header.size() || category_column == header.size())
    throw problem(records.front().line,
                  "not a Citizen Lab test list: the header needs the columns 'url' and 'category_code' "
                  "(url,category_code,category_description,date_added,source,notes)");

  Spec spec;
  spec.source = source_name;
  spec.name = std::filesystem::path(source_name).stem().string();
  std::set<std::string> seen;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& record = records[r];
    if (record.fields.size() != header.size())
      throw problem(record.line, std::to_string(record.fields.size()) + " fields where the header has " +
                                     std::to_string(header.size()) +
                                     " (a field with ',' or a line break must be in double quotes)");
    Target t;
    t.url = std::string(ascii::trim(record.fields[url_column], ascii::kBlanks));
    std::string why;
    if (t.url.empty()) throw problem(record.line, "empty url");
    if (measure::http::sanitize_utf8(t.url) != t.url) throw problem(record.line, "url is not valid UTF-8");
    if (!measure::http::parse_url(t.url, &why))
      throw problem(record.line, "'url' is not an absolute http(s) URL: '" + shown(t.url) + "' (" + why + ")");
    t.category = normalize_category(record.fields[category_column]);
    if (const auto bad = category_problem(t.category); !bad.empty())
      throw problem(record.line, "category_code: " + bad);
    if (!seen.insert(url_key(t.url)).second) continue;
    spec.targets.push_back(std::move(t));
  }
  if (spec.targets.empty()) throw problem(records.front().line, "no targets after the header");
  return spec;
}

}  // namespace kuzet::spec
