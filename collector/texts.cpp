#include "collector/texts.hpp"

#include "i18n/embedded_collector.hpp"
#include "i18n/language.hpp"

namespace kuzet::collector {

namespace {

i18n::ProcessTexts& process_texts() {
  static i18n::ProcessTexts texts(i18n::embedded::collector);
  return texts;
}

}  // namespace

const i18n::Catalog& texts() { return process_texts().catalog(); }

std::string say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values) {
  return process_texts().say(key, values);
}

}  // namespace kuzet::collector
