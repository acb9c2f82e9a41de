#pragma once
// Names the collector's timelines reserve for series of their own (collector/timeline). A measurement
// never carries one as its own name: ingest refuses it (docs/protocol.md, "Names").
#include <string_view>

namespace kuzet::core::series {

// The target name of a network's connectivity series: all measurements of one network, any target.
inline constexpr char network_target[] = "*";

// True for a target name a measurement may carry.
constexpr bool is_measurement_target(std::string_view target) { return target != network_target; }

}  // namespace kuzet::core::series
