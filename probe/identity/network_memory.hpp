#pragma once
// The last network the collector told us we are on, kept in <data_dir>/network.json.
// During a shutdown the collector is unreachable, so whoami has no answer; without this, every result
// measured from inside the shutdown would carry no network and could not be counted on it. Such results
// are labelled with the last known network, `source: "last_known"` and the time it was learned, so a
// reader can judge (a laptop may have moved; a router has not).
#include <optional>
#include <string>

#include "probe/record.hpp"

namespace kuzet::probe::identity {

// The remembered network, or nullopt when there is none or the file is unreadable (never throws).
std::optional<NetworkIdentity> load_last_network(const std::string& data_dir);
// The same from the file's text (anything may be in it: a torn write, another program's file).
std::optional<NetworkIdentity> parse_last_network(const std::string& text);

// Remembers a network the collector reported (source "collector"), with learned_at = now.
// Returns "" or the I/O failure.
std::string save_last_network(const std::string& data_dir, const NetworkIdentity& network);

}  // namespace kuzet::probe::identity
