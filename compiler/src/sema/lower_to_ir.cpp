#include "polc/sema/lower_to_ir.h"

#include "polc/sema/sema.h"

#include "polc/frontend/printer.h"
#include "polc/ir/rule_ids.h"
#include "polc_structs.h"
#include "resolve_peers.h"
#include "resolve_ports.h"
#include "sema_support.h"

#include <netinet/in.h>

#include <algorithm>

namespace polc::sema {

namespace {

using Kind = ir::Identity::Kind;

// The identities of the program: reserved ones, one per endpoint label set,
// one per prefix (CIDRs of policy, service addresses). A prefix that is an
// endpoint's or node's own address is left out: that address keeps its
// endpoint or host identity, since cidr peers never stand for endpoints.
std::vector<ir::Identity> buildIdentities(const ast::File& file, const topology::Topology& topology,
                                          Diagnostics& diagnostics) {
  std::vector<ir::Identity> identities = {
      {POLC_IDENTITY_HOST, Kind::Reserved, {}, std::nullopt, "host"},
      {POLC_IDENTITY_WORLD, Kind::Reserved, {}, std::nullopt, "world"},
      {POLC_IDENTITY_UNKNOWN, Kind::Reserved, {}, std::nullopt, "unknown"},
      {POLC_IDENTITY_REMOTE_NODE, Kind::Reserved, {}, std::nullopt, "remote-node"},
  };
  for (const auto& [labels, id] : allocateIdentities(topology))
    identities.push_back({id, Kind::Endpoint, labels, std::nullopt, {}});

  auto prefixes = collectPrefixes(file, topology, diagnostics);
  for (const auto* endpoint : topology.allEndpoints())
    for (const auto& address : endpoint->addresses) prefixes.erase(address);
  for (const auto& node : topology.nodes)
    if (node.address) prefixes.erase(*node.address);
  for (const auto& [prefix, id] : allocatePrefixIdentities(prefixes)) {
    ir::Identity identity{id, Kind::Cidr, {}, prefix, {}};
    for (const auto& service : topology.services)
      if (service.vip == prefix) {
        identity.kind = Kind::ServiceAddress;
        identity.name = service.name;
        break;
      }
    identities.push_back(std::move(identity));
  }
  std::sort(identities.begin(), identities.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  return identities;
}

std::optional<ir::Program> lowerToIr(const ast::File& file, const topology::Topology& topology,
                                     Diagnostics& diagnostics) {
  auto errorsBefore = diagnostics.errorCount();
  ir::Program program;
  program.cluster = topology.cluster;
  program.identities = buildIdentities(file, topology, diagnostics);
  if (diagnostics.errorCount() > errorsBefore) return std::nullopt;

  const auto sources = topology.allEndpoints();
  const auto identityOf = endpointIdentityIndex(program.identities);
  std::vector<ir::Endpoint> endpoints;
  for (const auto* endpoint : sources) {
    ir::Endpoint e;
    e.name = endpoint->name;
    e.node = endpoint->node;
    e.interface = endpoint->interface;
    e.identity = identityOf.at(endpoint->labels);
    e.addresses = endpoint->addresses;
    endpoints.push_back(std::move(e));
  }
  // Endpoints with the same labels match the same selectors: match each
  // label set once (a cluster has far fewer identities than endpoints).
  std::map<uint32_t, std::vector<size_t>> endpointsOfIdentity;
  for (size_t i = 0; i < endpoints.size(); ++i)
    endpointsOfIdentity[endpoints[i].identity].push_back(i);
  auto select = [&](const ast::Selector* selector) {
    std::vector<size_t> selected;
    for (const auto& [identity, members] : endpointsOfIdentity)
      if (!selector || matches(*selector, sources[members.front()]->labels))
        selected.insert(selected.end(), members.begin(), members.end());
    std::sort(selected.begin(), selected.end());
    return selected;
  };

  for (const auto& defaults : file.defaults) {
    auto selected = select(defaults.selector.get());
    if (defaults.selector)
      warnIfEmpty(selected.empty(), *defaults.selector, "the default deny selector", diagnostics);
    for (size_t i : selected)
      for (auto direction : defaults.directions) {
        endpoints[i].policy(direction).isolated = true;
        endpoints[i].policy(direction).isolatedBy.push_back(defaults.location);
      }
  }

  PeerResolver peers(program.identities, topology, diagnostics);
  RuleLowering lowering(topology, program.identities, diagnostics);
  for (const auto& policy : file.policies) {
    auto selected = select(policy.select.get());
    warnIfEmpty(selected.empty(), *policy.select, "the select of policy \"" + policy.name + "\"",
                diagnostics);
    for (const auto& block : policy.blocks) {
      for (size_t i : selected) {
        auto& direction = endpoints[i].policy(block.direction);
        // A block, even an empty one, isolates; an audit policy's only in audit.
        (policy.audit ? direction.auditIsolated : direction.isolated) = true;
        direction.isolatedBy.push_back(block.location);
      }
      for (const auto& rule : block.rules) {
        ir::Rule lowered;
        lowered.id = uint32_t(program.rules.size());
        lowered.policy = policy.name;
        lowered.verdict = rule.verdict;
        lowered.audit = policy.audit;
        lowered.direction = rule.direction;
        lowered.text = ast::toText(rule);
        lowered.location = rule.location;
        lowered.length = rule.length;
        auto rulePeers = peers.resolve(rule.peer);
        for (size_t i : selected) {
          auto applied = lowering.apply(lowered.id, rule, rulePeers, *sources[i]);
          auto& direction = endpoints[i].policy(rule.direction).rules;
          direction.insert(direction.end(), applied.begin(), applied.end());
        }
        if (!selected.empty()) lowering.warnUnresolved(rule);
        program.rules.push_back(std::move(lowered));
      }
    }
  }
  if (diagnostics.errorCount() > errorsBefore) return std::nullopt;
  ir::assignStableRuleIds(program);
  for (auto& endpoint : endpoints)
    for (auto* direction : {&endpoint.ingress, &endpoint.egress})
      if (direction->isolated) direction->auditIsolated = false; // enforcement decides

  std::sort(endpoints.begin(), endpoints.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  program.endpoints = std::move(endpoints);
  for (const auto& node : topology.nodes) {
    ir::Node n{node.name, node.address, {}};
    for (const auto& endpoint : node.endpoints) n.endpoints.push_back(endpoint.name);
    std::sort(n.endpoints.begin(), n.endpoints.end());
    program.nodes.push_back(std::move(n));
  }
  std::sort(program.nodes.begin(), program.nodes.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return program;
}

} // namespace

pipeline::Pass createLowerToIrPass() {
  using namespace pipeline;
  return makePass<CheckedAst, topology::Topology>(
      "lower-to-ir",
      "identities for label sets and prefixes; peers, ports and rules resolved per endpoint",
      {stage<ir::Program>()},
      [](PassContext& context, const CheckedAst& checked, const topology::Topology& topology) {
        if (auto program = lowerToIr(checked.file, topology, context.diagnostics()))
          context.put(std::move(*program));
      });
}

} // namespace polc::sema
