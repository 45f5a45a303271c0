#include "polc/frontend/printer.h"

#include "polc/support/protocol.h"

#include <netinet/in.h>

namespace polc::ast {

std::string_view toString(Direction direction) {
  return direction == Direction::Ingress ? "ingress" : "egress";
}
std::string_view toString(Verdict verdict) {
  return verdict == Verdict::Allow ? "allow" : "deny";
}
std::string_view toString(Entity entity) {
  switch (entity) {
  case Entity::World:
    return "world";
  case Entity::Host:
    return "host";
  case Entity::Cluster:
    return "cluster";
  case Entity::All:
    return "all";
  }
  return "all";
}

namespace {

std::string quote(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// Parenthesize an operand whose operator binds more loosely than its parent's.
int precedence(const Selector& s) {
  switch (s.kind) {
  case Selector::Kind::Or:
    return 1;
  case Selector::Kind::And:
    return 2;
  case Selector::Kind::Not:
    return 3;
  default:
    return 4;
  }
}

std::string operand(const Selector& s, int parent) {
  auto text = toText(s);
  return precedence(s) < parent ? "(" + text + ")" : text;
}

std::string prefixList(const std::vector<std::pair<IpPrefix, Span>>& prefixes) {
  std::string out;
  for (size_t i = 0; i < prefixes.size(); ++i)
    out += (i ? ", " : "") + prefixes[i].first.text(/*bareHost=*/true);
  return out;
}

} // namespace

std::string toText(const Selector& s) {
  using Kind = Selector::Kind;
  switch (s.kind) {
  case Kind::Any:
    return "any";
  case Kind::Equal:
    return s.key + " == " + quote(s.values.at(0));
  case Kind::NotEqual:
    return s.key + " != " + quote(s.values.at(0));
  case Kind::In:
  case Kind::NotIn: {
    std::string out = s.key + (s.kind == Kind::In ? " in (" : " notin (");
    for (size_t i = 0; i < s.values.size(); ++i) out += (i ? ", " : "") + quote(s.values[i]);
    return out + ")";
  }
  case Kind::Has:
    return "has(" + s.key + ")";
  case Kind::NotHas:
    return "!has(" + s.key + ")";
  // Both operators are left-associative: a right operand of the same
  // precedence needs parentheses, a left one does not.
  case Kind::And:
    return operand(*s.operands.at(0), 2) + " && " + operand(*s.operands.at(1), 3);
  case Kind::Or:
    return operand(*s.operands.at(0), 1) + " || " + operand(*s.operands.at(1), 2);
  case Kind::Not:
    return "!" + operand(*s.operands.at(0), 4);
  case Kind::LetReference:
    return s.key;
  }
  return {};
}

std::string toText(const PortSpec& p) {
  auto text = protocolName(p.protocol);
  if (p.protocol == IPPROTO_ICMP || p.protocol == IPPROTO_ICMPV6) {
    if (p.icmpType) text += " type " + std::to_string(*p.icmpType);
    if (p.icmpCode) text += " code " + std::to_string(*p.icmpCode);
    return text;
  }
  if (!p.namedPort.empty()) return text + "/" + p.namedPort;
  if (p.first == 0 && p.last == 65535) return text;
  text += "/" + std::to_string(p.first);
  if (p.last != p.first) text += "-" + std::to_string(p.last);
  return text;
}

std::string toText(const Peer& peer) {
  switch (peer.kind) {
  case Peer::Kind::Selector:
    return peer.selector ? toText(*peer.selector) : "any";
  case Peer::Kind::Service:
    return "service " + quote(peer.name);
  case Peer::Kind::Group:
    return "group " + quote(peer.name);
  case Peer::Kind::Entity:
    return "entity " + std::string(toString(peer.entity));
  case Peer::Kind::Cidr: {
    auto text = "cidr " + prefixList(peer.cidr.prefixes);
    if (!peer.cidr.except.empty()) text += " except " + prefixList(peer.cidr.except);
    return text;
  }
  }
  return {};
}

std::string toText(const Rule& rule) {
  std::string text(toString(rule.verdict));
  text += rule.direction == Direction::Ingress ? " from " : " to ";
  text += toText(rule.peer);
  for (size_t i = 0; i < rule.ports.size(); ++i)
    text += (i ? ", " : " on ") + toText(rule.ports[i]);
  return text;
}

std::string toText(const DefaultDeny& defaults) {
  std::string text = "default deny";
  for (size_t i = 0; i < defaults.directions.size(); ++i)
    text += (i ? ", " : " ") + std::string(toString(defaults.directions[i]));
  if (defaults.selector) text += " for " + toText(*defaults.selector);
  return text;
}

std::string toText(const File& file) {
  auto at = [](const SourceLocation& location) { return "  # " + location.str() + "\n"; };
  std::string text = "# files:";
  for (const auto& path : file.files) text += " " + path;
  text += "\n";
  for (const auto& let : file.lets)
    text += "let " + let.name + " = " + toText(*let.selector) + at(let.location);
  for (const auto& defaults : file.defaults) text += toText(defaults) + at(defaults.location);
  for (const auto& policy : file.policies) {
    text += (policy.audit ? "audit policy " : "policy ") + quote(policy.name) + " {" +
            at(policy.location);
    text += "  select " + toText(*policy.select) + "\n";
    for (const auto& block : policy.blocks) {
      text += "  " + std::string(toString(block.direction)) + " {" + at(block.location);
      for (const auto& rule : block.rules) text += "    " + toText(rule) + at(rule.location);
      text += "  }\n";
    }
    text += "}\n";
  }
  return text;
}

} // namespace polc::ast
