#include "polc/sema/find_ineffective_rules.h"

#include "polc/ir/ir.h"

#include "polc_structs.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace polc::sema {

namespace {

using Applied = std::vector<const ir::AppliedRule*>;

// One endpoint's applied rules in one direction, indexed by rule and by
// peer, so that neither check below scans every rule of the endpoint for
// every rule it judges (quadratic in the rules an endpoint has).
struct EndpointRules {
  std::map<uint32_t, Applied> byRule;                                // rule id -> its applied parts
  std::unordered_map<uint32_t, std::vector<uint32_t>> rulesWithPeer; // peer -> rule ids, ascending
  std::unordered_map<uint32_t, Applied> deniesWithPeer;              // peer -> applied deny rules
  std::vector<uint32_t> denyIds;                                     // ascending

  static const std::vector<uint32_t> kNone;
  const std::vector<uint32_t>& rulesNaming(uint32_t peer) const {
    auto found = rulesWithPeer.find(peer);
    return found == rulesWithPeer.end() ? kNone : found->second;
  }
};
const std::vector<uint32_t> EndpointRules::kNone;

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

// The same against an endpoint's deny rules, looked up per peer.
bool deniedAll(const Applied& target, const EndpointRules& of) {
  auto denies = [&](uint32_t peer) -> const Applied* {
    auto found = of.deniesWithPeer.find(peer);
    return found == of.deniesWithPeer.end() ? nullptr : &found->second;
  };
  const Applied* everyPeer = denies(POLC_IDENTITY_ANY);
  for (const auto* rule : target)
    for (uint32_t peer : rule->peers) {
      Applied relevant;
      if (everyPeer) relevant = *everyPeer;
      if (const Applied* named = peer != POLC_IDENTITY_ANY ? denies(peer) : nullptr)
        relevant.insert(relevant.end(), named->begin(), named->end());
      for (const auto& range : portsOf(*rule))
        if (!covered(peer, range, relevant)) return false;
    }
  return true;
}

EndpointRules indexRules(const ir::Program& program, const std::vector<ir::AppliedRule>& rules) {
  EndpointRules of;
  for (const auto& applied : rules) {
    of.byRule[applied.rule].push_back(&applied);
    bool deny = program.rules[applied.rule].verdict == ast::Verdict::Deny;
    if (deny && (of.denyIds.empty() || of.denyIds.back() != applied.rule))
      of.denyIds.push_back(applied.rule);
    for (uint32_t peer : applied.peers) {
      auto& ids = of.rulesWithPeer[peer];
      if (ids.empty() || ids.back() != applied.rule) ids.push_back(applied.rule);
      if (deny) of.deniesWithPeer[peer].push_back(&applied);
    }
  }
  return of;
}

// The rules that may shadow `target` at `of`, ascending: only a rule naming
// one of its peers (or every peer) can cover it.
std::vector<uint32_t> shadowCandidates(const Applied& target, const EndpointRules& of) {
  for (const auto* applied : target)
    if (!applied->peers.empty()) {
      const auto& named = of.rulesNaming(applied->peers.front());
      const auto& everyPeer = of.rulesNaming(POLC_IDENTITY_ANY);
      std::vector<uint32_t> candidates;
      std::set_union(named.begin(), named.end(), everyPeer.begin(), everyPeer.end(),
                     std::back_inserter(candidates));
      return candidates;
    }
  // No peer at all: covered by anything.
  std::vector<uint32_t> every;
  for (const auto& [id, applied] : of.byRule) every.push_back(id);
  return every;
}

void findIneffectiveRules(const ir::Program& program, Diagnostics& diagnostics) {
  for (auto direction : {ast::Direction::Ingress, ast::Direction::Egress}) {
    // Per rule, the endpoints it applies to, and per endpoint its rules;
    // endpoints that behave the same (replicas) are judged once.
    std::map<uint32_t, std::vector<const EndpointRules*>> endpointsOfRule;
    std::vector<EndpointRules> rulesOfEndpoint;
    std::unordered_set<std::string> seen;
    for (const auto& endpoint : program.endpoints)
      if (seen.insert(endpoint.policy(direction).behaviourKey()).second)
        rulesOfEndpoint.push_back(indexRules(program, endpoint.policy(direction).rules));
    for (const auto& of : rulesOfEndpoint)
      for (const auto& [id, applied] : of.byRule) endpointsOfRule[id].push_back(&of);

    for (const auto& [ruleId, endpoints] : endpointsOfRule) {
      const uint32_t id = ruleId; // lambdas below cannot capture a structured binding (clang 14)
      const auto& rule = program.rules[id];
      // Shadowed: an earlier rule of the same verdict covers it everywhere.
      std::optional<uint32_t> shadowing;
      const auto& front = *endpoints.front();
      for (uint32_t otherId : shadowCandidates(front.byRule.at(id), front)) {
        if (otherId >= id) break;
        if (program.rules[otherId].verdict != rule.verdict) continue;
        bool everywhere =
            std::all_of(endpoints.begin(), endpoints.end(), [&](const EndpointRules* of) {
              auto other = of->byRule.find(otherId);
              return other != of->byRule.end() && coveredAll(of->byRule.at(id), other->second);
            });
        if (everywhere) {
          shadowing = otherId;
          break;
        }
      }
      if (shadowing) {
        const auto& other = program.rules[*shadowing];
        diagnostics
            .warning(DiagnosticId::ShadowedRule, rule.location,
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
      bool dead = std::all_of(endpoints.begin(), endpoints.end(), [&](const EndpointRules* of) {
        denies.insert(of->denyIds.begin(), of->denyIds.end());
        return !of->denyIds.empty() && deniedAll(of->byRule.at(id), *of);
      });
      if (!dead) continue;
      auto& d = diagnostics
                    .warning(DiagnosticId::DeadAllow, rule.location,
                             "this allow has no effect: deny rules refuse every flow it allows "
                             "(a deny wins over any allow)")
                    .underline(rule.length);
      for (uint32_t denyId : denies)
        d.note(program.rules[denyId].location, program.rules[denyId].length,
               "denied by: " + program.rules[denyId].text);
    }
  }
}

} // namespace

pipeline::Pass createFindIneffectiveRulesPass() {
  return pipeline::makePass<ir::Program>(
      "find-ineffective-rules", "warn about shadowed rules and allows every deny refuses", {},
      [](pipeline::PassContext& context, const ir::Program& program) {
        findIneffectiveRules(program, context.diagnostics());
      });
}

} // namespace polc::sema
