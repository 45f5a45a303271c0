#include "polc/driver/pipeline.h"

#include "polc/frontend/printer.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace polc::driver {

namespace {

std::string labelsText(const topology::Labels& labels) {
  std::string text;
  for (const auto& [key, value] : labels) text += (text.empty() ? "" : ", ") + key + "=" + value;
  return text.empty() ? "(no labels)" : text;
}

// The endpoints a rule's peer identities stand for, by name.
std::vector<std::string> peerNames(const ir::Program& program, const ir::Rule& rule) {
  std::vector<std::string> names;
  for (const auto& endpoint : program.endpoints)
    if (std::binary_search(rule.peers.begin(), rule.peers.end(), endpoint.identity))
      names.push_back(endpoint.name);
  return names;
}

std::string portsText(const ir::Rule& rule) {
  if (rule.ports.empty()) return "any port";
  std::string text;
  for (const auto& port : rule.ports) text += (text.empty() ? "" : ", ") + ast::toText(port);
  return text;
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
  if (!policy.isolated && policy.rules.empty()) {
    out += "open (no policy isolates it): everything allowed\n";
    return;
  }
  out += policy.isolated ? "isolated: only what is listed is allowed\n"
                         : "open, except what is denied below\n";
  for (uint32_t id : policy.rules) {
    const auto& rule = program.rules[id];
    out += "      " + std::string(ast::toString(rule.verdict)) + (ingress ? " from " : " to ") +
           listText(peerNames(program, rule)) + " on " + portsText(rule) + "   [policy \"" +
           rule.policy + "\", " + rule.location.str() + "]\n";
  }
  if (policy.isolated && policy.rules.empty()) out += "      (no rule: everything denied)\n";
}

} // namespace

std::string describeEnforcement(const Compiled& compiled) {
  const auto& program = compiled.program;
  std::string out;
  for (const auto& node : program.nodes) {
    out += "node " + node.name + " (" + node.address + ")\n";
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
      for (uint32_t id : policy.rules) {
        const auto& rule = program.rules[id];
        rules.push_back({{"id", rule.id},
                         {"verdict", ast::toString(rule.verdict)},
                         {"peers", peerNames(program, rule)},
                         {"ports", portsText(rule)},
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
