#pragma once
// Synthetic measurements name themselves in their spec: "replay/..." (kuzet-replay-gen), "lab/..." (the
// namespace lab), "test/..." (test fixtures). Reports, pages and the dashboard mark them on every view.
#include <string>
#include <string_view>

namespace kuzet::core {

// "replay", "lab", "test", or "" for a real measurement's spec.
inline std::string synthetic_label(std::string_view spec) {
  for (std::string_view prefix : {"replay", "lab", "test"})
    if (spec.size() > prefix.size() && spec.substr(0, prefix.size()) == prefix && spec[prefix.size()] == '/')
      return std::string(prefix);
  return "";
}

}  // namespace kuzet::core
