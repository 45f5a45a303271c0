#include "polc/driver/pipeline.h"

#include "polc/ir/text.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace polc::driver {

namespace {

std::string labelsText(const topology::Labels& labels) {
  std::string text;
  for (const auto& [key, value] : labels) text += (text.empty() ? "" : ", ") + key + "=" + value;
  return text.empty() ? "(no labels)" : text;
}

// What a rule's peer identities stand for: endpoints by name, other
// identities (world, host, CIDRs, service addresses) by what they are.
std::vector<std::string> peerNames(const ir::Program& program, const ir::AppliedRule& applied) {
  std::vector<std::string> names, others;
  for (const auto& endpoint : program.endpoints) // sorted by name
    if (std::binary_search(applied.peers.begin(), applied.peers.end(), endpoint.identity))
      names.push_back(endpoint.name);
  for (uint32_t peer : applied.peers) {
    const auto* identity = program.findIdentity(peer);
    if (!identity || identity->kind != ir::Identity::Kind::Endpoint)
      others.push_back(ir::identityText(program, peer));
  }
  names.insert(names.end(), others.begin(), others.end());
  return names;
}

std::string listText(const std::vector<std::string>& names) {
  if (names.empty()) return "no endpoint";
  constexpr size_t kShown = 4;
  std::string text;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kShown) text += " and " + std::to_string(names.size() - kShown) + " more";
  return text;
}

void describeDirection(const ir::Program& program, const ir::Endpoint& endpoint,
                       ast::Direction direction, std::string& out) {
  const auto& policy = endpoint.policy(direction);
  bool ingress = direction == ast::Direction::Ingress;
  out += std::string("    ") + (ingress ? "ingress" : "egress ") + ": ";
  if (!policy.isolated && !policy.auditIsolated && policy.rules.empty()) {
    out += "open (no policy isolates it): everything allowed\n";
    return;
  }
  out += policy.isolated        ? "isolated: only what is listed is allowed\n"
         : policy.auditIsolated ? "isolated in audit: what is not listed passes as audit\n"
                                : "open, except what is denied below\n";
  for (const auto& applied : policy.rules) {
    const auto& rule = program.rules[applied.rule];
    out += "      " + std::string(ast::toString(rule.verdict)) + (ingress ? " from " : " to ") +
           listText(peerNames(program, applied)) + " on " + ir::portsText(applied.ports) +
           std::string("   [") + (rule.audit ? "audit " : "") + "policy \"" + rule.policy + "\", " +
           rule.location.str() + "]\n";
  }
  if (policy.isolated && policy.rules.empty()) out += "      (no rule: everything denied)\n";
}

} // namespace

std::string describeEnforcement(const Compiled& compiled) {
  const auto& program = compiled.program;
  std::string out;
  for (const auto& node : program.nodes) {
    out +=
        "node " + node.name + (node.address ? " (" + node.address->addressText() + ")" : "") + "\n";
    for (const auto& name : node.endpoints) {
      const auto& endpoint = *program.findEndpoint(name);
      const auto* identity = program.findIdentity(endpoint.identity);
      out += "  " + endpoint.name + "  identity " + std::to_string(endpoint.identity) + " {" +
             labelsText(identity->labels) + "} on " + endpoint.interface + "\n";
      describeDirection(program, endpoint, ast::Direction::Ingress, out);
      describeDirection(program, endpoint, ast::Direction::Egress, out);
    }
  }
  return out;
}

nlohmann::json describeEnforcementJson(const Compiled& compiled) {
  const auto& program = compiled.program;
  auto endpoints = nlohmann::json::array();
  for (const auto& endpoint : program.endpoints) {
    auto directionJson = [&](ast::Direction direction) {
      const auto& policy = endpoint.policy(direction);
      auto rules = nlohmann::json::array();
      for (const auto& applied : policy.rules) {
        const auto& rule = program.rules[applied.rule];
        rules.push_back({{"id", rule.id},
                         {"verdict", ast::toString(rule.verdict)},
                         {"peers", peerNames(program, applied)},
                         {"ports", ir::portsText(applied.ports)},
                         {"policy", rule.policy},
                         {"text", rule.text},
                         {"location", rule.location.str()}});
      }
      return nlohmann::json{{"isolated", policy.isolated}, {"rules", rules}};
    };
    endpoints.push_back({{"name", endpoint.name},
                         {"node", endpoint.node},
                         {"interface", endpoint.interface},
                         {"identity", endpoint.identity},
                         {"labels", program.findIdentity(endpoint.identity)->labels},
                         {"ingress", directionJson(ast::Direction::Ingress)},
                         {"egress", directionJson(ast::Direction::Egress)}});
  }
  return {{"cluster", program.cluster}, {"endpoints", endpoints}};
}

} // namespace polc::driver
