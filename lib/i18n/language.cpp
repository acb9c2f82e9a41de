#include "i18n/language.hpp"

#include <array>
#include <cstdlib>
#include <iterator>

#include "ascii/ascii.hpp"

namespace kuzet::i18n {

namespace {

// "ru_RU.UTF-8", "kk_KZ@cyrillic", "ru" -> the language part when it is supported, else "en".
std::string supported_or_english(std::string_view locale) {
  const std::string code(locale.substr(0, locale.find_first_of("_.@")));
  return is_supported_language(code) ? code : std::string(kDefaultLanguage);
}

// RFC 9110's qvalue in thousandths: "0", "0.5", "1", "1.000"; -1 when malformed ("2", "0.1234", ".5", "").
int parse_qvalue(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return -1;
  int thousandths = text[0] == '1' ? 1000 : 0;
  if (text.size() == 1) return thousandths;
  if (text[1] != '.' || text.size() > 5) return -1;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return -1;
    thousandths += (c - '0') * scale;
    scale /= 10;
  }
  return thousandths > 1000 ? -1 : thousandths;
}

// The weight of one element's parameters ("q=0.8"; others ignored): 1000 without a q, -1 when q is malformed.
int element_weight(std::string_view params) {
  int weight = 1000;
  while (!params.empty()) {
    const size_t semicolon = params.find(';');
    const std::string_view param = ascii::trim(params.substr(0, semicolon), ascii::kBlanks);
    params = semicolon == std::string_view::npos ? std::string_view() : params.substr(semicolon + 1);
    const size_t equals = param.find('=');
    if (equals == std::string_view::npos) continue;
    if (!ascii::equals_ignoring_case(ascii::trim(param.substr(0, equals), ascii::kBlanks), "q")) continue;
    weight = parse_qvalue(ascii::trim(param.substr(equals + 1), ascii::kBlanks));
    if (weight < 0) return -1;
  }
  return weight;
}

}  // namespace

bool is_supported_language(std::string_view lang) {
  for (auto l : kLanguages)
    if (l == lang) return true;
  return false;
}

std::string language_from_environment() {
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* value = std::getenv(name);
    if (value && *value) return supported_or_english(value);
  }
  if (const char* value = std::getenv("LANGUAGE"); value && *value) {
    const std::string_view list(value);
    return supported_or_english(list.substr(0, list.find(':')));
  }
  return std::string(kDefaultLanguage);
}

std::string language_from_accept(std::string_view header, std::string_view fallback) {
  if (header.size() > kAcceptLanguageScanBytes) {
    const bool cut_at_comma = header[kAcceptLanguageScanBytes] == ',';
    header = header.substr(0, kAcceptLanguageScanBytes);
    if (!cut_at_comma) {  // drop the range the cap cuts through
      const size_t last_comma = header.rfind(',');
      header = header.substr(0, last_comma == std::string_view::npos ? 0 : last_comma);
    }
  }
  struct Rank {
    int q = -1;           // thousandths; -1 while no range names the language
    size_t position = 0;  // of the first range that gave it this q
    void offer(int new_q, size_t at) {
      if (new_q > q) q = new_q, position = at;
    }
  };
  std::array<Rank, std::size(kLanguages)> named;
  Rank star;
  for (size_t position = 1; !header.empty(); ++position) {
    const size_t comma = header.find(',');
    const std::string_view element = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    const size_t semicolon = element.find(';');
    const std::string_view range = ascii::trim(element.substr(0, semicolon), ascii::kBlanks);
    const int q = element_weight(semicolon == std::string_view::npos ? "" : element.substr(semicolon + 1));
    if (range.empty() || q < 0) continue;
    if (range == "*") {
      star.offer(q, position);
      continue;
    }
    const std::string_view primary = range.substr(0, range.find_first_of("-_"));
    for (size_t i = 0; i < named.size(); ++i)
      if (ascii::equals_ignoring_case(primary, kLanguages[i])) named[i].offer(q, position);
  }
  // The highest q above 0, the first given among equals; "*" ranks the languages no range names, the
  // fallback first among them.
  Rank best{0, 0};
  std::string_view chosen;
  const auto consider = [&](std::string_view lang, const Rank& rank) {
    if (rank.q > best.q || (rank.q > 0 && rank.q == best.q && rank.position < best.position)) {
      best = rank;
      chosen = lang;
    }
  };
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].q >= 0) consider(kLanguages[i], named[i]);
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].q < 0 && kLanguages[i] == fallback) consider(kLanguages[i], star);
  for (size_t i = 0; i < named.size(); ++i)
    if (named[i].q < 0) consider(kLanguages[i], star);
  return std::string(chosen.empty() ? fallback : chosen);
}

void ProcessTexts::set_language(std::string_view lang) {
  std::lock_guard lock(mutex_);
  lang_ = is_supported_language(lang) ? std::string(lang) : std::string(kDefaultLanguage);
}

const std::string& ProcessTexts::language() {
  std::lock_guard lock(mutex_);
  if (lang_.empty()) lang_ = language_from_environment();
  return lang_;
}

const Catalog& ProcessTexts::catalog() {
  const std::string lang = language();
  std::lock_guard lock(mutex_);
  auto it = catalogs_.find(lang);
  if (it == catalogs_.end()) it = catalogs_.emplace(lang, Catalog::embedded(texts_, lang)).first;
  return it->second;
}

std::string ProcessTexts::say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values) {
  return catalog().format(key, values);
}

}  // namespace kuzet::i18n
