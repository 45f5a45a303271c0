#include "polc/frontend/printer.h"

#include "polc/support/protocol.h"

namespace polc::ast {

std::string_view toString(Direction direction) {
  return direction == Direction::Ingress ? "ingress" : "egress";
}
std::string_view toString(Verdict verdict) {
  return verdict == Verdict::Allow ? "allow" : "deny";
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
  case Kind::And:
    return operand(*s.operands[0], 2) + " && " + operand(*s.operands[1], 3);
  case Kind::Or:
    return operand(*s.operands[0], 1) + " || " + operand(*s.operands[1], 2);
  case Kind::Not:
    return "!" + operand(*s.operands[0], 4);
  case Kind::LetReference:
    return s.key;
  }
  return {};
}

std::string toText(const PortRange& p) {
  auto text = protocolName(p.protocol) + "/" + std::to_string(p.first);
  if (p.last != p.first) text += "-" + std::to_string(p.last);
  return text;
}

std::string toText(const Rule& rule) {
  std::string text(toString(rule.verdict));
  text += rule.direction == Direction::Ingress ? " from " : " to ";
  text += toText(*rule.peer);
  for (size_t i = 0; i < rule.ports.size(); ++i)
    text += (i ? ", " : " on ") + toText(rule.ports[i]);
  return text;
}

} // namespace polc::ast
