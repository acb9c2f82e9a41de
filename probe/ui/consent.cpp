#include "probe/ui/consent.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/time.hpp"
#include "files/files.hpp"
#include "probe/ui/commands.hpp"
#include "probe/ui/texts.hpp"
#include "ascii/ascii.hpp"

namespace kuzet::probe::ui {

std::string consent_text() { return texts().text("consent.text"); }

namespace {

std::string trimmed_lower(std::string_view answer) {
  const std::string_view s = ascii::trim(answer, ascii::kWhitespace);
  std::string out;
  // ASCII and the Cyrillic capitals of "ДА", "ИӘ", "ИЯ": enough for the yes words of our three languages.
  static const std::pair<std::string_view, std::string_view> cyrillic[] = {
      {"Д", "д"}, {"А", "а"}, {"И", "и"}, {"Ә", "ә"}, {"Я", "я"}};
  for (size_t i = 0; i < s.size();) {
    bool done = false;
    for (const auto& [upper, lower] : cyrillic)
      if (s.substr(i, upper.size()) == upper) {
        out += lower;
        i += upper.size();
        done = true;
        break;
      }
    if (!done) out += ascii::lower(s[i++]);
  }
  return out;
}

bool is_top_level_key_line(const std::string& line) {
  return !line.empty() && !std::isspace(static_cast<unsigned char>(line[0])) && line[0] != '#' && line[0] != '-';
}

}  // namespace

bool is_yes(std::string_view answer) {
  const std::string a = trimmed_lower(answer);
  if (a.empty()) return false;
  std::string_view words = texts().text("consent.yes_words");
  while (!words.empty()) {
    const auto bar = words.find('|');
    if (words.substr(0, bar) == a) return true;
    if (bar == std::string_view::npos) break;
    words.remove_prefix(bar + 1);
  }
  return false;
}

constexpr const char* kConsentComment =
    "# Informed consent (kuzet-probe consent), recorded by kuzet-probe. Remove this section to withdraw it.";

std::string with_consent(const std::string& yaml_text, const ConsentRecord& record) {
  std::istringstream in(yaml_text);
  std::string out, line;
  bool skipping = false;
  while (std::getline(in, line)) {
    if (line == kConsentComment) continue;
    if (is_top_level_key_line(line)) skipping = line.rfind("consent:", 0) == 0;
    else if (skipping && !line.empty() && line[0] == '#') skipping = false;
    if (!skipping) out += line + "\n";
  }
  while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') out.pop_back();
  if (!out.empty() && out.back() != '\n') out += "\n";
  out += std::string("\n") + kConsentComment + "\n";
  out += "consent:\n  version: " + std::to_string(record.version) + "\n  accepted_at: \"" + record.accepted_at +
         "\"\n  language: " + record.language + "\n";
  return out;
}

std::string record_consent(const std::string& config_path, const ConsentRecord& record) {
  std::string text;
  if (std::ifstream f{config_path, std::ios::binary}) {
    std::stringstream s;
    s << f.rdbuf();
    text = s.str();
  } else if (errno != ENOENT) {
    return std::strerror(errno);
  }
  const std::string updated = with_consent(text, record);
  try {
    (void)parse_probe_config(updated, config_path);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return files::write_file_atomically(config_path, updated);
}

ConsentRecord consent_now() {
  ConsentRecord r;
  r.version = kConsentVersion;
  r.accepted_at = core::now_rfc3339();
  r.language = language();
  return r;
}

bool interactive_terminal() { return ::isatty(STDIN_FILENO) == 1 && ::isatty(STDERR_FILENO) == 1; }

bool ask_consent(std::FILE* in, std::FILE* out) {
  std::fprintf(out, "\n%s\n%s", consent_text().c_str(), texts().text("consent.question").c_str());
  std::fflush(out);
  char buffer[256];
  if (!std::fgets(buffer, sizeof buffer, in)) return false;
  return is_yes(buffer);
}

int require_consent(std::string_view command, const ConsentRecord& recorded, bool given_by_flag,
                    const std::string& config_path) {
  if (recorded.given() || given_by_flag) return -1;
  if (!interactive_terminal()) {
    std::fprintf(stderr, "kuzet-probe: %s\n", say("consent.missing", {{"command", std::string(command)}}).c_str());
    return kExitNoConsent;
  }
  if (!ask_consent(stdin, stderr)) {
    std::fprintf(stderr, "%s\n", texts().text("consent.declined").c_str());
    return kExitNoConsent;
  }
  const std::string error = config_path.empty() ? std::string("-") : record_consent(config_path, consent_now());
  if (error.empty())
    std::fprintf(stderr, "%s\n", say("consent.recorded", {{"file", config_path}}).c_str());
  else
    std::fprintf(stderr, "%s\n",
                 say("consent.this_run_only", {{"file", config_path.empty() ? kDefaultConfigPath : config_path},
                                               {"reason", error}}).c_str());
  return -1;
}

}  // namespace kuzet::probe::ui
