#pragma once
// Informed consent: a volunteer takes a real risk (docs/consent.md), so `run` and `daemon` measure only once
// consent to the current text (kConsentVersion) is recorded in the config, or given for one run (--consent).
// Without it they show the text and ask on a terminal, and refuse with kExitNoConsent elsewhere.
#include <cstdio>
#include <string>
#include <string_view>

#include "probe/config.hpp"

namespace kuzet::probe::ui {

// The consent text in the current language (ui::set_language).
std::string consent_text();

// A yes in the current language ("yes", "да", "иә", ...), case and surrounding spaces ignored.
bool is_yes(std::string_view answer);

// The config text with its top-level `consent:` section replaced by (or, when absent, followed by) `record`.
// Comments and every other line are kept: the file is the volunteer's.
std::string with_consent(const std::string& yaml_text, const ConsentRecord& record);

// Records consent in the config file (checked by parsing before it replaces the file); "" or the reason.
std::string record_consent(const std::string& config_path, const ConsentRecord& record);

// A new record for the current text and language, dated now.
ConsentRecord consent_now();

// stdin and stderr are terminals: a person can be asked.
bool interactive_terminal();

// Shows the text on `out` and reads one line from `in`; true when the answer is yes.
bool ask_consent(std::FILE* in, std::FILE* out);

// For `run` and `daemon`: -1 when measuring may go ahead (recorded consent, --consent, or a yes on the terminal,
// then recorded in `config_path` when it can be), else the exit status after saying why on stderr.
int require_consent(std::string_view command, const ConsentRecord& recorded, bool given_by_flag,
                    const std::string& config_path);

}  // namespace kuzet::probe::ui
