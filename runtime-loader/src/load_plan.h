// Deciding what a load does to each endpoint, from what the node runs now
// (its recorded state and what the kernel really has attached) and what the
// new build asks for. Pure: no kernel contact, unit-tested.
#pragma once

#include "node_state.h"

#include <set>
#include <string>
#include <vector>

namespace polc::runtime {

enum class ProgramPlan {
  Attach,  // the endpoint runs nothing of ours yet
  Replace, // new programs (with fresh tables), swapped in on the hooks
  Keep,    // the same programs: only the tables may change, in place
};

struct EndpointPlan {
  std::string endpoint;
  ProgramPlan programs = ProgramPlan::Attach;
};

struct LoadPlan {
  std::vector<EndpointPlan> endpoints; // in the order of `wanted`
  std::vector<std::string> departing;  // recorded endpoints the new build drops
};

// `intact`: the recorded endpoints whose hooks run exactly the recorded
// programs and whose policy map pins exist; only those can be kept.
LoadPlan planLoad(const NodeState& previous,
                  const std::vector<std::pair<std::string, EndpointRecord>>& wanted,
                  const std::set<std::string>& intact);

} // namespace polc::runtime
