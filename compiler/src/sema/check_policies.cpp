#include "polc/sema/check_policies.h"

#include <map>

namespace polc::sema {

namespace {

void checkPolicies(const ast::File& file, Diagnostics& diagnostics) {
  std::map<std::string, SourceLocation> firstByName;
  for (const auto& policy : file.policies) {
    auto [first, isNew] = firstByName.emplace(policy.name, policy.location);
    if (!isNew) {
      auto& d = diagnostics.error(DiagnosticId::DuplicatePolicy, policy.location,
                                  "policy \"" + policy.name + "\" is already defined");
      d.note(first->second, 0, "first defined here");
      d.hints.push_back("give each policy its own name: rules are named after their policy");
    }
    if (policy.blocks.empty()) {
      auto& d = diagnostics.warning(DiagnosticId::EmptyPolicy, policy.location,
                                    "policy \"" + policy.name +
                                        "\" has no ingress or egress block: it changes nothing");
      d.hints.push_back("to isolate what it selects, add an empty block: ingress { }");
    }
  }
}

} // namespace

pipeline::Pass createCheckPoliciesPass() {
  return pipeline::makePass<pipeline::CheckedAst>(
      "check-policies", "report policy names used twice and policies without a block", {},
      [](pipeline::PassContext& context, const auto& checked) {
        checkPolicies(checked.file, context.diagnostics());
      });
}

} // namespace polc::sema
