#pragma once
// Text into HTML: every string that came from a measurement, a reply or a URL is hostile input.
#include <string>
#include <string_view>

namespace kuzet::core {

// & < > " ' as entities: safe in text and in quoted attributes.
std::string html_escape(std::string_view text);

}  // namespace kuzet::core
