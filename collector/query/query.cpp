#include "collector/query/query.hpp"

#include <charconv>

#include "ascii/ascii.hpp"
#include "collector/store/store.hpp"
#include "core/time.hpp"
#include "core/vocabulary/country.hpp"

namespace kuzet::collector::query {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

constexpr int64_t kMaxUnixSeconds = 253402300799;  // 9999-12-31T23:59:59Z

}  // namespace

std::optional<std::string> parse_cc(std::string_view text) {
  std::string cc = ascii::upper(text);  // a query may write kz
  if (!core::country::is_code(cc)) return std::nullopt;
  return cc;
}

std::optional<std::string> parse_source(std::string_view text) {
  if (text == "all") return std::string();
  if (text == kSourceKuzet || text == kSourceOoni) return std::string(text);
  return std::nullopt;
}

std::optional<uint32_t> parse_asn(std::string_view text) {
  if (text.size() > 2 && (text[0] == 'A' || text[0] == 'a') && (text[1] == 'S' || text[1] == 's')) text.remove_prefix(2);
  if (!all_digits(text)) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_time(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (all_digits(text)) {  // Unix seconds
    if (text.size() > 12) return std::nullopt;
    int64_t v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    if (v > kMaxUnixSeconds) return std::nullopt;
    return v * 1000;
  }
  std::string t(text);
  const bool date = t.size() == 10 && all_digits(t.substr(0, 4)) && t[4] == '-' && all_digits(t.substr(5, 2)) &&
                    t[7] == '-' && all_digits(t.substr(8, 2));
  if (date) t += "T00:00:00Z";
  if (t.size() < 4 || !all_digits(t.substr(0, 4)) || t.compare(0, 4, "1970") < 0) return std::nullopt;
  auto parsed = core::parse_rfc3339(t);
  if (!parsed) return std::nullopt;
  const int64_t ms = core::to_unix_ms(*parsed);
  if (ms < 0 || ms > kMaxUnixSeconds * 1000 + 999) return std::nullopt;
  return ms;
}

std::string check_names(const Params& params, const std::vector<std::string_view>& allowed) {
  for (auto it = params.begin(); it != params.end(); it = params.upper_bound(it->first)) {
    bool known = false;
    for (auto a : allowed) known = known || a == it->first;
    // Names are echoed in the error: bounded and printable ASCII, so a hostile query can neither make the
    // answer huge nor hand the JSON writer invalid UTF-8.
    std::string name = it->first.substr(0, 64);
    for (char& c : name)
      if (c < 0x20 || c > 0x7e) c = '?';
    if (it->first.size() > 64) name += "...";
    if (!known) return "unknown parameter '" + name + "'";
    if (params.count(it->first) > 1) return "parameter '" + name + "' given more than once";
  }
  return "";
}

std::string csv_cell(std::string_view s) {
  const bool formula = !s.empty() && std::string_view("=+-@\t\r").find(s.front()) != std::string_view::npos;
  if (!formula && s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = formula ? "\"'" : "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace kuzet::collector::query
