#include "load_plan.h"

namespace polc::runtime {

LoadPlan planLoad(const NodeState& previous,
                  const std::vector<std::pair<std::string, EndpointRecord>>& wanted,
                  const std::set<std::string>& intact) {
  LoadPlan plan;
  std::set<std::string> wantedNames, attachedBefore;
  for (const auto& attachment : previous.attachments) attachedBefore.insert(attachment.endpoint);
  for (const auto& [name, record] : wanted) {
    wantedNames.insert(name);
    auto recorded = previous.endpoints.find(name);
    ProgramPlan programs = ProgramPlan::Attach;
    if (attachedBefore.contains(name))
      programs = recorded != previous.endpoints.end() && recorded->second == record &&
                         intact.contains(name)
                     ? ProgramPlan::Keep
                     : ProgramPlan::Replace;
    plan.endpoints.push_back({name, programs});
  }
  for (const auto& name : attachedBefore)
    if (!wantedNames.contains(name)) plan.departing.push_back(name);
  return plan;
}

} // namespace polc::runtime
