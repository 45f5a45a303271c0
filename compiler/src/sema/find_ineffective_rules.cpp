#include "polc/sema/sema.h"

#include "polc_structs.h"

#include <algorithm>

namespace polc::sema {

namespace {

using Applied = std::vector<const ir::AppliedRule*>;

// One endpoint's applied rules in one direction, grouped by rule id.
using RulesOf = std::map<uint32_t, Applied>;

const std::vector<ir::L4Range> kEveryPort = {ir::L4Range{}};

const std::vector<ir::L4Range>& portsOf(const ir::AppliedRule& rule) {
  return rule.ports.empty() ? kEveryPort : rule.ports;
}

bool hasPeer(const ir::AppliedRule& rule, uint32_t peer) {
  return std::binary_search(rule.peers.begin(), rule.peers.end(), POLC_IDENTITY_ANY) ||
         std::binary_search(rule.peers.begin(), rule.peers.end(), peer);
}

// Do the rules, together, match every packet from or to `peer` in `range`?
bool covered(uint32_t peer, const ir::L4Range& range, const Applied& rules) {
  std::vector<ir::L4Range> ranges;
  for (const auto* rule : rules)
    if (hasPeer(*rule, peer))
      for (const auto& candidate : portsOf(*rule)) {
        if (candidate.protocol == 0) return true;
        if (candidate.protocol == range.protocol) ranges.push_back(candidate);
      }
  if (range.protocol == 0) return false;
  std::sort(ranges.begin(), ranges.end());
  uint32_t next = range.first; // the first value not yet known to be covered
  for (const auto& candidate : ranges) {
    if (candidate.first > next) break;
    next = std::max<uint32_t>(next, uint32_t(candidate.last) + 1);
    if (next > range.last) return true;
  }
  return next > range.last;
}

bool coveredAll(const Applied& target, const Applied& by) {
  for (const auto* rule : target)
    for (uint32_t peer : rule->peers)
      for (const auto& range : portsOf(*rule))
        if (!covered(peer, range, by)) return false;
  return true;
}

} // namespace

void findIneffectiveRules(const ir::Program& program, Diagnostics& diagnostics) {
  for (auto direction : {ast::Direction::Ingress, ast::Direction::Egress}) {
    // Per rule, the endpoints it applies to, and per endpoint its rules.
    std::map<uint32_t, std::vector<const RulesOf*>> endpointsOfRule;
    std::vector<RulesOf> rulesOfEndpoint(program.endpoints.size());
    for (size_t i = 0; i < program.endpoints.size(); ++i) {
      for (const auto& applied : program.endpoints[i].policy(direction).rules)
        rulesOfEndpoint[i][applied.rule].push_back(&applied);
      for (const auto& [id, applied] : rulesOfEndpoint[i])
        endpointsOfRule[id].push_back(&rulesOfEndpoint[i]);
    }

    for (const auto& [ruleId, endpoints] : endpointsOfRule) {
      const uint32_t id = ruleId; // lambdas below cannot capture a structured binding (clang 14)
      const auto& rule = program.rules[id];
      // Shadowed: an earlier rule of the same verdict covers it everywhere.
      std::optional<uint32_t> shadowing;
      for (const auto& [candidate, candidateApplied] : *endpoints.front()) {
        const uint32_t otherId = candidate;
        if (otherId >= id || program.rules[otherId].verdict != rule.verdict) continue;
        bool everywhere = std::all_of(endpoints.begin(), endpoints.end(), [&](const RulesOf* of) {
          auto other = of->find(otherId);
          return other != of->end() && coveredAll(of->at(id), other->second);
        });
        if (everywhere) {
          shadowing = otherId;
          break;
        }
      }
      if (shadowing) {
        const auto& other = program.rules[*shadowing];
        diagnostics
            .warning("shadowed-rule", rule.location,
                     "this rule changes nothing: an earlier rule already " +
                         std::string(ast::toString(rule.verdict)) +
                         "s everything it matches, for every endpoint it applies to")
            .underline(rule.length)
            .note(other.location, other.length, "the earlier rule: " + other.text);
        continue;
      }
      if (rule.verdict != ast::Verdict::Allow) continue;
      // Dead: every flow it allows is denied (deny wins) wherever it applies.
      std::set<uint32_t> denies;
      bool dead = std::all_of(endpoints.begin(), endpoints.end(), [&](const RulesOf* of) {
        Applied denyRules;
        for (const auto& [otherId, applied] : *of)
          if (program.rules[otherId].verdict == ast::Verdict::Deny) {
            denyRules.insert(denyRules.end(), applied.begin(), applied.end());
            denies.insert(otherId);
          }
        return !denyRules.empty() && coveredAll(of->at(id), denyRules);
      });
      if (!dead) continue;
      auto& d = diagnostics
                    .warning("dead-allow", rule.location,
                             "this allow has no effect: deny rules refuse every flow it allows "
                             "(a deny wins over any allow)")
                    .underline(rule.length);
      for (uint32_t denyId : denies)
        d.note(program.rules[denyId].location, program.rules[denyId].length,
               "denied by: " + program.rules[denyId].text);
    }
  }
}

} // namespace polc::sema
