#include "polc/codegen/plan_programs_pass.h"

#include "polc/topology/topology.h"

#include <map>
#include <vector>

namespace polc::codegen {

pipeline::Pass createPlanProgramsPass(const PlanOptions& options) {
  using namespace pipeline;
  Pass pass = makePass<passes::Tables, topology::Topology>(
      "plan-programs",
      "specialize each endpoint's program, emit its C, keep one program per distinct C",
      {stage<ProgramPlan>()},
      [options](PassContext& context, const passes::Tables& tables,
                const topology::Topology& topology) {
        auto planOptions = options;
        planOptions.services = topology.hasFrontends();
        context.put(planPrograms(tables.nodes, planOptions));
      });
  pass.text = [](PassContext& context) { return planText(context.get<ProgramPlan>()); };
  return pass;
}

std::string planText(const ProgramPlan& plan) {
  std::vector<std::vector<std::string>> users(plan.programs.size());
  for (const auto& node : plan.nodes)
    for (const auto& endpoint : node.endpoints)
      if (endpoint.program) users[*endpoint.program].push_back(node.node + "/" + endpoint.endpoint);

  std::string text = "== programs\n";
  for (size_t i = 0; i < plan.programs.size(); ++i) {
    text += "program " + std::to_string(i + 1) + ": " + plan.programs[i].shapeName + "\n  run by";
    for (const auto& user : users[i]) text += " " + user;
    text += "\n";
  }
  for (const auto& node : plan.nodes) {
    text += "== nodes/" + node.node + "\n";
    for (const auto& endpoint : node.endpoints)
      text += endpoint.endpoint + ": " +
              (endpoint.program ? "program " + std::to_string(*endpoint.program + 1)
                                : std::string("no program (its tables have no effect)")) +
              "\n";
  }
  for (size_t i = 0; i < plan.programs.size(); ++i)
    text += "== program " + std::to_string(i + 1) + " C\n" + plan.programs[i].source;
  return text;
}

} // namespace polc::codegen
