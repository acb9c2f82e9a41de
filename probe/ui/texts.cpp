#include "probe/ui/texts.hpp"

#include "i18n/embedded_probe.hpp"
#include "i18n/language.hpp"

namespace kuzet::probe::ui {

namespace {

i18n::ProcessTexts& process_texts() {
  static i18n::ProcessTexts texts(i18n::embedded::probe);
  return texts;
}

}  // namespace

void set_language(std::string_view lang) { process_texts().set_language(lang); }

const std::string& language() { return process_texts().language(); }

const i18n::Catalog& texts() { return process_texts().catalog(); }

std::string say(std::string_view key, const std::vector<std::pair<std::string, std::string>>& values) {
  return process_texts().say(key, values);
}

}  // namespace kuzet::probe::ui
