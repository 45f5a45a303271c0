// Plans a build's programs: specialize each endpoint, emit its C, and keep
// one program per distinct C (endpoints of the same shape share an object).
#include "polc/codegen/program_plan.h"

#include "polc_structs.h"

#include <map>
#include <string_view>
#include <utility>

namespace polc::codegen {
namespace {

// The key prefix lengths of a mask, ascending, runs joined: "32.48-64".
std::string prefixLengthsText(uint64_t prefixes) {
  std::string text;
  for (int length = POLC_POLICY_PREFIX_IDENTITY; length <= POLC_POLICY_PREFIX_FULL; ++length) {
    if (!(prefixes & POLC_POLICY_PREFIX_BIT(length))) continue;
    int last = length;
    while (last < POLC_POLICY_PREFIX_FULL && (prefixes & POLC_POLICY_PREFIX_BIT(last + 1))) ++last;
    if (!text.empty()) text += '.';
    text += std::to_string(length);
    if (last > length) text += "-" + std::to_string(last);
    length = last;
  }
  return text;
}

std::string directionName(std::string_view direction, bool program, bool isolated,
                          bool auditIsolated, bool peerLookup, bool wildcardLookup,
                          uint64_t prefixes, unsigned inlineEntries) {
  std::string name(direction);
  name += isolated ? "-isolated" : auditIsolated ? "-audit-isolated" : "-open";
  if (!program) name += "-no-program";
  if (peerLookup) name += "-peer";
  if (wildcardLookup) name += "-any";
  if (inlineEntries != 0) name += "-inline" + std::to_string(inlineEntries);
  // Printed whenever the C holds lengths, lookups or not, so that the name
  // stays as distinct as the C.
  if (prefixes != 0) name += "-len" + prefixLengthsText(prefixes);
  return name;
}

} // namespace

std::string shapeName(const EndpointProgramSpec& spec) {
  return directionName("egress", spec.egressProgram, spec.egressIsolated, spec.egressAuditIsolated,
                       spec.egressPeerLookup, spec.egressWildcardLookup, spec.egressPolicyPrefixes,
                       spec.egressInlineEntries) +
         "_" +
         directionName("ingress", spec.ingressProgram, spec.ingressIsolated,
                       spec.ingressAuditIsolated, spec.ingressPeerLookup,
                       spec.ingressWildcardLookup, spec.ingressPolicyPrefixes,
                       spec.ingressInlineEntries) +
         (spec.ipv6 ? "_ipv6" : "_no-ipv6") + (spec.services ? "_services" : "");
}

ProgramPlan planPrograms(std::span<const passes::NodeTables> nodes, const PlanOptions& options) {
  ProgramPlan plan;
  std::map<std::string, size_t, std::less<>> programIndex; // C text -> index in plan.programs
  for (const auto& node : nodes) {
    PlannedNode plannedNode{.node = node.node, .endpoints = {}};
    const NodeShape nodeShape = nodeShapeOf(node.ipcache); // once per node, not per endpoint
    for (const auto& tables : node.endpoints) {
      PlannedEndpoint endpoint{.endpoint = tables.endpoint, .program = std::nullopt};
      EndpointProgramSpec spec =
          specializeEndpoint(*tables.ingress, *tables.egress, nodeShape, options.maxInlineEntries);
      spec.endpoint = tables.endpoint;
      if (options.services) spec.egressProgram = spec.ingressProgram = spec.services = true;
      if (spec.egressProgram || spec.ingressProgram) {
        // Deduplicated by the C itself: it holds no name or identity, so
        // whatever emits the same text runs the same object.
        std::string source = emitEndpointC(spec);
        auto found = programIndex.find(source);
        if (found == programIndex.end()) {
          found = programIndex.emplace(source, plan.programs.size()).first;
          std::string name = shapeName(spec);
          plan.programs.push_back({.shapeName = std::move(name),
                                   .spec = std::move(spec),
                                   .source = std::move(source),
                                   .endpoints = 0});
        }
        ++plan.programs[found->second].endpoints;
        endpoint.program = found->second;
      }
      plannedNode.endpoints.push_back(std::move(endpoint));
    }
    plan.nodes.push_back(std::move(plannedNode));
  }
  return plan;
}

} // namespace polc::codegen
