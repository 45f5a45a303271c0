#include "polc/sema/find_ineffective_rules.h"

#include "polc/ir/ir.h"

#include "polc_structs.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace polc::sema {

namespace {

using Applied = std::vector<const ir::AppliedRule*>;

// One endpoint's applied rules in one direction, indexed by rule and by
// peer, so that neither check below scans every rule of the endpoint for
// every rule it judges (quadratic in the rules an endpoint has).
struct EndpointRules {
  std::map<uint32_t, Applied> byRule;                   // rule id -> its applied parts
  std::unordered_map<uint32_t, Applied> deniesWithPeer; // peer -> applied enforcing denies
  std::vector<uint32_t> denyIds;                        // enforcing denies, ascending
  bool isolated = false;                                // by enforcing policies
};

const std::vector<ir::L4Range> kEveryPort = {ir::L4Range{}};

const std::vector<ir::L4Range>& portsOf(const ir::AppliedRule& rule) {
  return rule.ports.empty() ? kEveryPort : rule.ports;
}

// Which rules of one endpoint match a (peer, protocol, port): narrow port
// ranges listed port by port, wider ones (and whole protocols) per peer.
// Flat sorted vectors: it is built for every distinct endpoint in turn.
class PortIndex {
public:
  explicit PortIndex(const EndpointRules& of) {
    for (const auto& [id, parts] : of.byRule)
      for (const auto* applied : parts)
        for (uint32_t peer : applied->peers)
          for (const auto& range : portsOf(*applied)) {
            if (range.protocol == 0 || uint32_t(range.last) - range.first >= kNarrowRange) {
              wide_.push_back({peer, range, id});
              continue;
            }
            narrow_.push_back({key(peer, range.protocol, range.first), range.last, id});
          }
    // By where the range starts: one entry per range, not per port (sorting
    // an entry per port was a tenth of `polc check` at 100,000 rules).
    std::sort(narrow_.begin(), narrow_.end(), [](const Narrow& a, const Narrow& b) {
      return std::tie(a.start, a.last, a.rule) < std::tie(b.start, b.last, b.rule);
    });
    std::sort(wide_.begin(), wide_.end(),
              [](const Wide& a, const Wide& b) { return a.peer < b.peer; });
  }

  // The rules matching `peer` (by name or as every peer) at the first port
  // of `range`, ascending: only they can cover all of `range`.
  std::vector<uint32_t> rulesMatching(uint32_t peer, const ir::L4Range& range) const {
    std::vector<uint32_t> ids;
    auto collect = [&](uint32_t named) {
      if (range.protocol != 0) {
        // A narrow range holding range.first starts at most kNarrowRange - 1
        // ports before it.
        const uint16_t port = range.first;
        const uint16_t earliest =
            port >= kNarrowRange - 1 ? uint16_t(port - (kNarrowRange - 1)) : 0;
        const uint64_t from = key(named, range.protocol, earliest);
        const uint64_t to = key(named, range.protocol, port);
        auto at = std::lower_bound(
            narrow_.begin(), narrow_.end(), from,
            [](const Narrow& entry, uint64_t start) { return entry.start < start; });
        for (; at != narrow_.end() && at->start <= to; ++at)
          if (at->last >= port) ids.push_back(at->rule);
      }
      auto [begin, end] =
          std::equal_range(wide_.begin(), wide_.end(), Wide{named, {}, 0},
                           [](const Wide& a, const Wide& b) { return a.peer < b.peer; });
      for (auto at = begin; at != end; ++at)
        if (at->range.protocol == 0 ||
            (at->range.protocol == range.protocol && at->range.first <= range.first &&
             range.first <= at->range.last))
          ids.push_back(at->rule);
    };
    collect(peer);
    if (peer != POLC_IDENTITY_ANY) collect(POLC_IDENTITY_ANY);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  }

private:
  static constexpr uint32_t kNarrowRange = 256; // ports; wider ranges are filtered per peer
  struct Wide {
    uint32_t peer;
    ir::L4Range range;
    uint32_t rule;
  };
  static uint64_t key(uint32_t peer, uint8_t protocol, uint16_t port) {
    return uint64_t(peer) << 24 | uint64_t(protocol) << 16 | port;
  }
  struct Narrow {
    uint64_t start; // key(peer, protocol, first port)
    uint16_t last;  // its last port
    uint32_t rule;
  };
  std::vector<Narrow> narrow_; // ranges of fewer than kNarrowRange ports, by start
  std::vector<Wide> wide_;     // by peer
};

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

EndpointRules indexRules(const ir::Program& program, const ir::DirectionPolicy& policy) {
  EndpointRules of;
  of.isolated = policy.isolated;
  for (const auto& applied : policy.rules) {
    of.byRule[applied.rule].push_back(&applied);
    // An audit deny refuses nothing, so it kills no allow.
    const auto& rule = program.rules[applied.rule];
    bool deny = rule.verdict == ast::Verdict::Deny && !rule.audit;
    if (deny && (of.denyIds.empty() || of.denyIds.back() != applied.rule))
      of.denyIds.push_back(applied.rule);
    if (deny)
      for (uint32_t peer : applied.peers) of.deniesWithPeer[peer].push_back(&applied);
  }
  return of;
}

// Calls `visit` with the rules that may shadow `target` at `of`, ascending,
// until it returns true: a rule covering all of `target` matches the first
// port of its first peer.
template <typename Visit>
void visitShadowCandidates(const Applied& target, const EndpointRules& of, const PortIndex& index,
                           Visit visit) {
  for (const auto* applied : target)
    if (!applied->peers.empty()) {
      for (uint32_t id : index.rulesMatching(applied->peers.front(), portsOf(*applied).front()))
        if (visit(id)) return;
      return;
    }
  // No peer at all: covered by anything.
  for (const auto& [id, applied] : of.byRule)
    if (visit(id)) return;
}

// The earlier rule of the same verdict that covers rule `id` at every
// endpoint it applies to, if any. An audit rule does not shadow an
// enforcing one (it enforces nothing); an enforcing rule shadows an audit
// rule of its verdict (an audit deny where a deny already drops, an audit
// allow where an allow already passes).
std::optional<uint32_t> findShadowing(const ir::Program& program, uint32_t id,
                                      const std::vector<const EndpointRules*>& endpoints,
                                      const PortIndex& frontIndex) {
  std::optional<uint32_t> shadowing;
  const auto& front = *endpoints.front();
  visitShadowCandidates(front.byRule.at(id), front, frontIndex, [&](uint32_t otherId) {
    if (otherId >= id) return true;
    const auto &other = program.rules[otherId], &rule = program.rules[id];
    if (other.verdict != rule.verdict || (other.audit && !rule.audit)) return false;
    bool everywhere = std::all_of(endpoints.begin(), endpoints.end(), [&](const EndpointRules* of) {
      auto other = of->byRule.find(otherId);
      return other != of->byRule.end() && coveredAll(of->byRule.at(id), other->second);
    });
    if (everywhere) shadowing = otherId;
    return everywhere;
  });
  return shadowing;
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
        rulesOfEndpoint.push_back(indexRules(program, endpoint.policy(direction)));
    for (const auto& of : rulesOfEndpoint)
      for (const auto& [id, applied] : of.byRule) endpointsOfRule[id].push_back(&of);

    // Shadowed: an earlier rule of the same verdict covers it everywhere.
    // Candidates come from the first endpoint a rule applies to, so each
    // endpoint's port index is built once and only while it is needed.
    std::vector<std::vector<uint32_t>> rulesFirstAt(rulesOfEndpoint.size());
    for (const auto& [id, endpoints] : endpointsOfRule)
      rulesFirstAt[size_t(endpoints.front() - rulesOfEndpoint.data())].push_back(id);
    std::unordered_map<uint32_t, uint32_t> shadowedBy;
    for (size_t at = 0; at < rulesOfEndpoint.size(); ++at) {
      if (rulesFirstAt[at].empty()) continue;
      PortIndex index(rulesOfEndpoint[at]);
      for (uint32_t id : rulesFirstAt[at])
        if (auto other = findShadowing(program, id, endpointsOfRule.at(id), index))
          shadowedBy.emplace(id, *other);
    }

    for (const auto& [ruleId, endpoints] : endpointsOfRule) {
      const uint32_t id = ruleId; // lambdas below cannot capture a structured binding (clang 14)
      const auto& rule = program.rules[id];
      if (auto shadowing = shadowedBy.find(id); shadowing != shadowedBy.end()) {
        const auto& other = program.rules[shadowing->second];
        diagnostics
            .warning(DiagnosticId::ShadowedRule, rule.location,
                     std::string("this rule changes nothing: an earlier rule already ") +
                         (rule.verdict == ast::Verdict::Deny ? "denies" : "allows") +
                         " everything it matches, for every endpoint it applies to")
            .underline(rule.length)
            .note(other.location, other.length, "the earlier rule: " + other.text);
        continue;
      }
      if (rule.verdict != ast::Verdict::Allow) continue;
      // Inert: an audit allow where enforcing policies isolate the direction
      // (audit rules never loosen what is enforced).
      if (rule.audit && std::all_of(endpoints.begin(), endpoints.end(),
                                    [](const EndpointRules* of) { return of->isolated; })) {
        diagnostics
            .warning(DiagnosticId::InertAuditAllow, rule.location,
                     "this audit allow has no effect: enforcing policies isolate this direction "
                     "of every endpoint it applies to, and audit rules never loosen them")
            .underline(rule.length)
            .hint("allow it in the enforcing policy, or drop the rule");
        continue;
      }
      // Dead: every flow it allows is denied (deny wins) wherever it applies.
      bool dead = std::all_of(endpoints.begin(), endpoints.end(), [&](const EndpointRules* of) {
        return !of->denyIds.empty() && deniedAll(of->byRule.at(id), *of);
      });
      if (!dead) continue;
      std::set<uint32_t> denies;
      for (const auto* of : endpoints) denies.insert(of->denyIds.begin(), of->denyIds.end());
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
