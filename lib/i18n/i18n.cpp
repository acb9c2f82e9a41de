#include "i18n/i18n.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace kuzet::i18n {

namespace {
constexpr size_t kMaxFileBytes = 1 << 20;
}

Catalog Catalog::parse(std::string_view json_text) {
  if (json_text.size() > kMaxFileBytes) throw std::invalid_argument("i18n: file larger than 1 MiB");
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) throw std::invalid_argument("i18n: not a JSON object");
  Catalog c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) throw std::invalid_argument("i18n: value of '" + it.key() + "' is not a string");
    c.texts_.emplace(it.key(), it.value().get<std::string>());
  }
  return c;
}

Catalog Catalog::embedded(EmbeddedTexts texts, std::string_view lang) {
  std::string_view own = texts(lang);
  if (own.empty()) throw std::invalid_argument("i18n: no texts for language '" + std::string(lang) + "'");
  Catalog c = parse(own);
  if (lang != kDefaultLanguage) {
    std::string_view fallback = texts(kDefaultLanguage);
    if (!fallback.empty()) c.fill_from(parse(fallback));
  }
  return c;
}

bool Catalog::has(std::string_view key) const { return texts_.find(key) != texts_.end(); }

const std::string& Catalog::text(std::string_view key) const {
  if (auto it = texts_.find(key); it != texts_.end()) return it->second;
  auto [it, inserted] = missing_.emplace(std::string(key), std::string(key));
  return it->second;
}

std::string Catalog::format(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values) const {
  const std::string& pattern = text(key);
  std::string out;
  out.reserve(pattern.size());
  for (size_t i = 0; i < pattern.size();) {
    bool replaced = false;
    if (pattern[i] == '{') {
      size_t close = pattern.find('}', i);
      if (close != std::string::npos) {
        std::string_view name(pattern.data() + i + 1, close - i - 1);
        for (const auto& [n, v] : values)
          if (n == name) {
            out += v;
            i = close + 1;
            replaced = true;
            break;
          }
      }
    }
    if (!replaced) out += pattern[i++];
  }
  return out;
}

std::vector<std::string> Catalog::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : texts_) out.push_back(k);
  return out;
}

void Catalog::fill_from(const Catalog& fallback) {
  for (const auto& [k, v] : fallback.texts_) texts_.emplace(k, v);
}

}  // namespace kuzet::i18n
