#include "core/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace kuzet::core {

size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance; words on a command line are short, so O(n*m) is nothing.
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::string nearest_word(std::string_view word, const std::vector<std::string_view>& candidates) {
  if (word.empty() || word.size() > 64) return "";
  // A typo is a few edits, relative to the word (ignoring leading dashes, which are always the same).
  const size_t letters = word.size() - std::min(word.find_first_not_of('-'), word.size());
  const size_t limit = std::clamp<size_t>(letters / 3, 1, 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (auto c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  if (!best.empty()) return best;
  // "--conc" for "--concurrency": an abbreviation of exactly one candidate.
  std::string prefix_of;
  for (auto c : candidates)
    if (word.size() >= 3 && c.size() > word.size() && c.substr(0, word.size()) == word) {
      if (!prefix_of.empty()) return "";
      prefix_of = std::string(c);
    }
  return prefix_of;
}

std::string url_with_scheme(std::string_view text) {
  if (text.empty() || text.size() > 2048 || text.find("://") != std::string_view::npos) return "";
  const size_t end = text.find_first_of("/?#");
  const std::string_view host_port = text.substr(0, end);
  std::string_view host = host_port;
  if (auto colon = host_port.rfind(':'); colon != std::string_view::npos && host_port.find(':') == colon) {
    const auto port = host_port.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return "";
    host = host_port.substr(0, colon);
  }
  // A host name with a dot (or an IPv4 address), made of DNS characters: "example.com", "1.2.3.4".
  if (host.empty() || host.find('.') == std::string_view::npos || host.front() == '.' || host.back() == '.') return "";
  for (char c : host)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || static_cast<unsigned char>(c) >= 0x80)) return "";
  std::string url = "https://" + std::string(text);
  if (end == std::string_view::npos) url += "/";
  return url;
}

}  // namespace kuzet::core
