#include "polc/evaluator/explain.h"

#include "polc/ir/text.h"

#include <nlohmann/json.hpp>

namespace polc::evaluator {

namespace {

std::string endText(const ir::Program& program, const ResolvedEnd& end) {
  std::string text = end.text;
  if (end.address && end.address->addressText() != end.text)
    text += " (" + end.address->addressText() + ")";
  text += end.endpoint ? ": endpoint, identity " : ": not an endpoint, identity ";
  text += std::to_string(end.identity) + " " + ir::identityText(program, end.identity);
  return text;
}

std::string sideText(const ir::Program& program, const SideVerdict& side) {
  std::string title =
      side.direction == ast::Direction::Egress ? "source egress" : "destination ingress";
  if (!side.applies) return title + ": does not apply (" + side.reason + ")\n";
  std::string text = title + " of " + side.endpoint->name + ": " +
                     (side.isolated        ? "isolated"
                      : side.auditIsolated ? "isolated in audit"
                                           : "not isolated") +
                     ", " +
                     (!side.allowed  ? "denied"
                      : side.audited ? "audited"
                                     : "allowed") +
                     "\n";
  text += "  " + side.reason + "\n";
  if (side.decision == Decision::DeniedIsolated || side.decision == Decision::AuditedIsolated)
    for (const auto& location : side.endpoint->policy(side.direction).isolatedBy)
      text += "  isolated by " + location.str() + "\n";
  for (uint32_t id : side.decidingRules) text += "  " + ruleLine(program, id) + "\n";
  return text;
}

nlohmann::json endJson(const ir::Program& program, const ResolvedEnd& end) {
  return {{"text", end.text},
          {"address", end.address ? nlohmann::json(end.address->addressText()) : nullptr},
          {"identity", end.identity},
          {"identity_text", ir::identityText(program, end.identity)},
          {"endpoint", end.endpoint ? nlohmann::json(end.endpoint->name) : nullptr}};
}

nlohmann::json ruleJson(const ir::Program& program, uint32_t id) {
  const auto& rule = program.rules.at(id);
  return {
      {"id", rule.stableId}, {"policy", rule.policy},
      {"audit", rule.audit}, {"verdict", rule.verdict == ast::Verdict::Allow ? "allow" : "deny"},
      {"text", rule.text},   {"location", rule.location.str()}};
}

nlohmann::json sideJson(const ir::Program& program, const SideVerdict& side) {
  nlohmann::json json = {
      {"applies", side.applies},
      {"endpoint", side.endpoint ? nlohmann::json(side.endpoint->name) : nullptr},
      {"peer_identity", side.peerIdentity},
      {"isolated", side.isolated},
      {"audit_isolated", side.auditIsolated},
      {"allowed", side.allowed},
      {"audited", side.audited},
      {"decision", side.applies ? decisionName(side.decision) : "not-judged"},
      {"reason", side.reason}};
  auto isolatedBy = nlohmann::json::array();
  if (side.endpoint)
    for (const auto& location : side.endpoint->policy(side.direction).isolatedBy)
      isolatedBy.push_back(location.str());
  json["isolated_by"] = isolatedBy;
  auto rules = nlohmann::json::array();
  for (uint32_t id : side.decidingRules) rules.push_back(ruleJson(program, id));
  json["deciding_rules"] = rules;
  return json;
}

} // namespace

std::string decisionName(Decision decision) {
  switch (decision) {
  case Decision::AllowedNotIsolated:
    return "allowed-not-isolated";
  case Decision::AllowedByRule:
    return "allowed-by-rule";
  case Decision::DeniedByRule:
    return "denied-by-rule";
  case Decision::DeniedIsolated:
    return "denied-isolated";
  case Decision::AuditedByRule:
    return "audited-by-rule";
  case Decision::AuditedIsolated:
    return "audited-isolated";
  }
  return "unknown";
}

const char* verdictWord(const Verdict& verdict) {
  return !verdict.allowed ? "denied" : verdict.audited ? "audited" : "allowed";
}

std::string ruleLine(const ir::Program& program, uint32_t ruleId) {
  const auto& rule = program.rules.at(ruleId);
  return "rule " + std::to_string(rule.stableId) + "  " + rule.location.str() + "  " +
         (rule.audit ? "audit " : "") + "policy \"" + rule.policy + "\": " + rule.text;
}

std::string explainText(const ir::Program& program, const Verdict& verdict) {
  std::string text = std::string(verdictWord(verdict)) + ": " + verdict.from.text + " -> " +
                     verdict.to.text + " on " + verdict.l4 + "\n";
  text += "  " + verdict.reason + "\n\n";
  text += "from " + endText(program, verdict.from) + "\n";
  text += "to   " + endText(program, verdict.to) + "\n";
  text += "addresses resolved as on node " + verdict.node + "\n\n";
  text += sideText(program, verdict.egress);
  text += sideText(program, verdict.ingress);
  return text;
}

nlohmann::json explainJson(const ir::Program& program, const Verdict& verdict) {
  return {{"allowed", verdict.allowed},
          {"audited", verdict.audited},
          {"verdict", verdictName(verdict.allowed, verdict.audited)},
          {"reason", verdict.reason},
          {"node", verdict.node},
          {"from", endJson(program, verdict.from)},
          {"to", endJson(program, verdict.to)},
          {"protocol", verdict.protocol},
          {"value", verdict.value},
          {"l4", verdict.l4},
          {"egress", sideJson(program, verdict.egress)},
          {"ingress", sideJson(program, verdict.ingress)}};
}

} // namespace polc::evaluator
