#include "polc/sema/sema.h"

#include "polc/frontend/printer.h"

#include <algorithm>

namespace polc::sema {

namespace {

void warnIfEmpty(bool empty, const ast::Selector& selector, const char* role,
                 Diagnostics& diagnostics) {
  if (!empty) return;
  auto& d = diagnostics.warning("empty-selector", selector.location,
                                std::string(role) + " '" + ast::toText(selector) +
                                    "' matches no endpoint of the topology");
  d.length = selector.length;
}

} // namespace

std::optional<ir::Program> lowerToIr(const ast::File& file, const topology::Topology& topology,
                                     const std::map<topology::Labels, uint32_t>& identities,
                                     Diagnostics& diagnostics) {
  ir::Program program;
  program.cluster = topology.cluster;
  for (const auto& [labels, id] : identities) program.identities.push_back({id, labels});
  std::sort(program.identities.begin(), program.identities.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });

  std::vector<ir::Endpoint> endpoints;
  for (const auto* endpoint : topology.allEndpoints()) {
    ir::Endpoint e;
    e.name = endpoint->name;
    e.node = endpoint->node;
    e.interface = endpoint->interface;
    e.identity = identities.at(endpoint->labels);
    e.addresses = endpoint->addresses;
    endpoints.push_back(std::move(e));
  }
  auto labelsOf = [&](size_t index) -> const topology::Labels& {
    return topology.allEndpoints()[index]->labels;
  };

  for (const auto& policy : file.policies) {
    std::vector<size_t> selected;
    for (size_t i = 0; i < endpoints.size(); ++i)
      if (matches(*policy.select, labelsOf(i))) selected.push_back(i);
    warnIfEmpty(selected.empty(), *policy.select, "the select of policy", diagnostics);

    for (const auto& block : policy.blocks) {
      for (size_t i : selected) {
        auto& direction =
            block.direction == ast::Direction::Ingress ? endpoints[i].ingress : endpoints[i].egress;
        direction.isolated = true; // a block, even an empty one, isolates
      }
      for (const auto& rule : block.rules) {
        ir::Rule lowered;
        lowered.id = uint32_t(program.rules.size());
        lowered.policy = policy.name;
        lowered.verdict = rule.verdict;
        lowered.direction = rule.direction;
        lowered.ports = rule.ports;
        lowered.text = ast::toText(rule);
        lowered.location = rule.location;
        for (const auto& identity : program.identities)
          if (matches(*rule.peer, identity.labels)) lowered.peers.push_back(identity.id);
        std::sort(lowered.peers.begin(), lowered.peers.end());
        warnIfEmpty(lowered.peers.empty(), *rule.peer, "the peer", diagnostics);
        for (size_t i : selected) {
          auto& direction = rule.direction == ast::Direction::Ingress ? endpoints[i].ingress
                                                                      : endpoints[i].egress;
          direction.rules.push_back(lowered.id);
        }
        program.rules.push_back(std::move(lowered));
      }
    }
  }

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

std::optional<ir::Program> analyze(const ast::File& file, const topology::Topology& topology,
                                   Diagnostics& diagnostics) {
  auto resolved = resolveLets(file, diagnostics);
  if (!resolved) return std::nullopt;
  auto identities = allocateIdentities(topology);
  auto program = lowerToIr(*resolved, topology, identities, diagnostics);
  if (!program || diagnostics.hasErrors()) return std::nullopt;
  return program;
}

} // namespace polc::sema

namespace polc::ir {

const Identity* Program::findIdentity(uint32_t id) const {
  auto it = std::lower_bound(
      identities.begin(), identities.end(), id,
      [](const Identity& identity, uint32_t value) { return identity.id < value; });
  return it != identities.end() && it->id == id ? &*it : nullptr;
}

const Endpoint* Program::findEndpoint(std::string_view name) const {
  auto it =
      std::lower_bound(endpoints.begin(), endpoints.end(), name,
                       [](const Endpoint& e, std::string_view value) { return e.name < value; });
  return it != endpoints.end() && it->name == name ? &*it : nullptr;
}

} // namespace polc::ir
