#include "load_plan.h"

#include <algorithm>

namespace polc::runtime {

LoadPlan planLoad(const NodeState& previous,
                  const std::vector<std::pair<std::string, EndpointRecord>>& wanted,
                  const std::set<std::string>& intact) {
  LoadPlan plan;
  std::set<std::string> wantedNames;
  for (const auto& [name, record] : wanted) {
    wantedNames.insert(name);
    bool attachedBefore = std::any_of(previous.attachments.begin(), previous.attachments.end(),
                                      [&](const TcAttachment& a) { return a.endpoint == name; });
    auto recorded = previous.endpoints.find(name);
    ProgramPlan programs = ProgramPlan::Attach;
    if (attachedBefore)
      programs = recorded != previous.endpoints.end() && recorded->second == record &&
                         intact.contains(name)
                     ? ProgramPlan::Keep
                     : ProgramPlan::Replace;
    plan.endpoints.push_back({name, programs});
  }
  std::set<std::string> departing;
  for (const auto& attachment : previous.attachments)
    if (!wantedNames.contains(attachment.endpoint)) departing.insert(attachment.endpoint);
  plan.departing.assign(departing.begin(), departing.end());
  return plan;
}

} // namespace polc::runtime
