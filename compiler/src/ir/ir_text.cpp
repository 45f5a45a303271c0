#include "polc/ir/text.h"

#include "polc/support/protocol.h"
#include "polc_structs.h"

#include <netinet/in.h>

namespace polc::ir {

std::string toText(const L4Range& range) {
  if (range.protocol == 0) return "any";
  auto name = protocolName(range.protocol);
  if (range.wholeProtocol()) return name;
  if (range.protocol == IPPROTO_ICMP || range.protocol == IPPROTO_ICMPV6) {
    std::string text = name + " type " + std::to_string(range.first >> 8);
    if (range.first == range.last) text += " code " + std::to_string(range.first & 0xff);
    return text;
  }
  if (range.first == range.last) return name + "/" + std::to_string(range.first);
  return name + "/" + std::to_string(range.first) + "-" + std::to_string(range.last);
}

std::string portsText(const std::vector<L4Range>& ranges) {
  if (ranges.empty()) return "any port";
  std::string text;
  for (const auto& range : ranges) text += (text.empty() ? "" : ", ") + toText(range);
  return text;
}

std::string identityText(const Program& program, uint32_t id) {
  if (id == POLC_IDENTITY_ANY) return "any peer";
  const auto* identity = program.findIdentity(id);
  if (!identity) return "identity " + std::to_string(id);
  switch (identity->kind) {
  case Identity::Kind::Reserved:
    return identity->name;
  case Identity::Kind::Cidr:
    return "cidr " + identity->prefix->text();
  case Identity::Kind::ServiceAddress:
    return "service " + identity->name + " (" + identity->prefix->addressText() + ")";
  case Identity::Kind::Endpoint: {
    std::string text;
    for (const auto& [key, value] : identity->labels)
      text += (text.empty() ? "" : ", ") + key + "=" + value;
    return "{" + text + "}";
  }
  }
  return "identity " + std::to_string(id);
}

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

std::string directionText(const Program& program, const std::string& name,
                          const DirectionPolicy& policy) {
  std::string text = "    " + name +
                     (policy.isolated        ? ": isolated"
                      : policy.auditIsolated ? ": isolated in audit"
                                             : ": open");
  std::vector<std::string> by;
  for (const auto& location : policy.isolatedBy) by.push_back(location.str());
  if (!by.empty()) text += " by " + joined(by);
  text += "\n";
  for (const auto& applied : policy.rules) {
    std::vector<std::string> peers;
    for (uint32_t peer : applied.peers) peers.push_back(identityText(program, peer));
    text += "      rule " + std::to_string(applied.rule) + ": peers " + joined(peers) + "; " +
            portsText(applied.ports) + "\n";
  }
  return text;
}

} // namespace

std::string toText(const Program& program) {
  std::string text = "cluster " + program.cluster + "\nidentities:\n";
  for (const auto& identity : program.identities)
    text += "  " + std::to_string(identity.id) + " " + identityText(program, identity.id) + "\n";
  text += "rules:\n";
  for (const auto& rule : program.rules)
    text += "  " + std::to_string(rule.id) + (rule.audit ? " audit" : "") + " policy \"" +
            rule.policy + "\": " + rule.text + "  # " + rule.location.str() + "\n";
  text += "endpoints:\n";
  for (const auto& endpoint : program.endpoints) {
    std::vector<std::string> addresses;
    for (const auto& address : endpoint.addresses) addresses.push_back(address.text());
    text += "  " + endpoint.name + " on " + endpoint.node + " (" + endpoint.interface +
            "), identity " + std::to_string(endpoint.identity) + ", addresses " +
            joined(addresses) + "\n";
    text += directionText(program, "ingress", endpoint.ingress);
    text += directionText(program, "egress", endpoint.egress);
  }
  text += "nodes:\n";
  for (const auto& node : program.nodes)
    text += "  " + node.name + (node.address ? " " + node.address->text() : std::string()) + ": " +
            joined(node.endpoints) + "\n";
  return text;
}

} // namespace polc::ir
