#pragma once
// What a fake collector answers to a control request in the probe's tests: one empty control observation
// per target, named by its URL.
#include <vector>

#include "probe/runner.hpp"

namespace kuzet::testing {

inline std::vector<measure::ControlObservations> empty_control_for(const std::vector<probe::ControlTarget>& targets) {
  std::vector<measure::ControlObservations> out;
  for (const auto& t : targets) {
    measure::ControlObservations c;
    c.vantage = "fake";
    c.target.url = t.url;
    out.push_back(c);
  }
  return out;
}

}  // namespace kuzet::testing
