#include "polc/evaluator/policy_graph.h"

#include "flow_space.h"
#include "polc/evaluator/evaluator.h"
#include "polc/support/suggest.h"
#include "polc/topology/topology.h"
#include "polc_structs.h"

#include <netinet/in.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace polc::evaluator {

Expected<EndSelector> EndSelector::parse(const std::string& text) {
  EndSelector selector;
  selector.text = text;
  for (const char* entity : {"world", "host", "remote-node", "cidr", "service"})
    if (text == entity) {
      selector.entity = text;
      return selector;
    }
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string part = text.substr(start, comma - start);
    if (part.empty())
      return Error("'" + text +
                   "' is no selector: give world, host, remote-node, cidr, service, or labels "
                   "as key=value[,key=value...] (a key alone: any value)");
    size_t equals = part.find('=');
    if (equals == std::string::npos)
      selector.labels.emplace_back(part, std::nullopt);
    else if (equals == 0)
      return Error("'" + text + "': a label needs a key before '='");
    else
      selector.labels.emplace_back(part.substr(0, equals), part.substr(equals + 1));
    start = comma + 1;
  }
  return selector;
}

namespace {

constexpr size_t kNone = SIZE_MAX;

GraphGroup::Kind entityKind(const std::string& entity) {
  if (entity == "world") return GraphGroup::Kind::World;
  if (entity == "host") return GraphGroup::Kind::Host;
  if (entity == "remote-node") return GraphGroup::Kind::RemoteNode;
  if (entity == "cidr") return GraphGroup::Kind::Cidr;
  return GraphGroup::Kind::Service;
}

bool selects(const EndSelector& selector, GraphGroup::Kind kind, const ir::Labels* labels) {
  if (!selector.entity.empty()) return entityKind(selector.entity) == kind;
  if (!labels) return false;
  for (const auto& [key, value] : selector.labels) {
    auto found = labels->find(key);
    if (found == labels->end() || (value && found->second != *value)) return false;
  }
  return true;
}

// The label keys of the topology's endpoints, sorted.
std::vector<std::string> labelKeys(const ir::Program& program) {
  std::set<std::string> keys;
  for (const auto& identity : program.identities)
    if (identity.kind == ir::Identity::Kind::Endpoint)
      for (const auto& [key, value] : identity.labels) keys.insert(key);
  return {keys.begin(), keys.end()};
}

std::optional<Error> checkKey(const std::string& what, const std::string& key,
                              const std::vector<std::string>& keys) {
  if (std::binary_search(keys.begin(), keys.end(), key)) return std::nullopt;
  std::string message = what + ": no endpoint has the label '" + key + "'";
  if (auto close = closestMatch(key, keys))
    message += "; did you mean '" + *close + "'?";
  else if (!keys.empty()) {
    message += "; the keys are:";
    for (size_t i = 0; i < keys.size() && i < 12; ++i) message += " " + keys[i];
    if (keys.size() > 12) message += " ...";
  }
  return Error(message);
}

std::string labelsText(const ir::Labels& labels) {
  std::string text, nameSpace;
  for (const auto& [key, value] : labels) {
    if (key == topology::kNamespaceLabel) {
      nameSpace = value;
      continue;
    }
    if (key.starts_with(topology::kNamespaceLabelPrefix)) continue;
    text += (text.empty() ? "" : ",") + key + "=" + value;
  }
  if (text.empty()) text = "(no labels)";
  return nameSpace.empty() ? text : nameSpace + "/" + text;
}

// The group of an endpoint of this identity, by name.
std::string groupName(const GraphGrouping& grouping, const ir::Labels& labels) {
  switch (grouping.kind) {
  case GraphGrouping::Kind::Identity:
    return labelsText(labels);
  case GraphGrouping::Kind::Namespace: {
    auto found = labels.find(std::string(topology::kNamespaceLabel));
    return found == labels.end() ? "(no namespace)" : "namespace " + found->second;
  }
  case GraphGrouping::Kind::Label: {
    auto found = labels.find(grouping.key);
    return found == labels.end() ? grouping.key + " unset" : grouping.key + "=" + found->second;
  }
  }
  return {};
}

// One end of the judged flows: a class of endpoints that behave the same,
// or a non-endpoint end.
struct ClassEnd {
  size_t group = 0;
  uint32_t identity = 0;
  Families families;
  const ir::Endpoint* endpoint = nullptr; // a representative; null: not an endpoint
  size_t egress = kNone, ingress = kNone; // behaviour indexes
  size_t members = 1;
  bool source = true, destination = true; // selected by --from, --to
};

// What one pair of classes allows, per range of the judged space.
struct Outcome {
  std::vector<ir::L4Range> allowed, audited, denied; // denied: by a deny rule
  std::set<uint32_t> allowRules, denyRules;
};

// What one side (a direction of an endpoint) does with each peer, as a
// signature: its isolation and the rules (ids and resolved ports) that match
// the peer. Two sides with the same signature judge their peers alike on
// every port, whichever endpoints they belong to: the signatures of all
// sides share one numbering. 0 stands for no side (an end that is not an
// endpoint).
class Signatures {
public:
  struct Side {
    uint32_t others = 0;                          // for peers no rule names
    std::unordered_map<uint32_t, uint32_t> named; // peer -> signature
    uint32_t of(uint32_t peer) const {
      auto found = named.find(peer);
      return found == named.end() ? others : found->second;
    }
  };

  Side index(const ir::DirectionPolicy& policy, ast::Direction direction) {
    Side side;
    std::vector<uint32_t> any;
    std::unordered_map<uint32_t, std::vector<uint32_t>> byPeer;
    for (uint32_t i = 0; i < policy.rules.size(); ++i)
      for (uint32_t peer : policy.rules[i].peers)
        (peer == POLC_IDENTITY_ANY ? any : byPeer[peer]).push_back(i);
    side.others = intern(policy, direction, any);
    std::vector<uint32_t> matching;
    for (auto& [peer, rules] : byPeer) {
      matching.clear();
      std::merge(any.begin(), any.end(), rules.begin(), rules.end(), std::back_inserter(matching));
      side.named.emplace(peer, intern(policy, direction, matching));
    }
    return side;
  }

private:
  uint32_t intern(const ir::DirectionPolicy& policy, ast::Direction direction,
                  const std::vector<uint32_t>& matching) {
    std::string key;
    key += char(direction == ast::Direction::Egress);
    key += char(policy.isolated);
    key += char(policy.auditIsolated);
    auto put = [&key](uint32_t value) { key.append(reinterpret_cast<const char*>(&value), 4); };
    for (uint32_t i : matching) {
      const auto& rule = policy.rules[i];
      put(rule.rule);
      put(uint32_t(rule.ports.size()));
      for (const auto& range : rule.ports)
        put(uint32_t(range.protocol) << 16 | range.first), put(range.last);
    }
    return interned_.try_emplace(std::move(key), uint32_t(interned_.size() + 1)).first->second;
  }
  std::unordered_map<std::string, uint32_t> interned_;
};

// Where the rules of a side that match `peer` start or stop matching.
void addMatchingCuts(const ir::Endpoint* endpoint, ast::Direction direction, uint32_t peer,
                     uint8_t protocol, std::set<uint32_t>& cuts) {
  if (!endpoint) return;
  for (const auto& applied : endpoint->policy(direction).rules) {
    const auto& peers = applied.peers;
    if (!std::binary_search(peers.begin(), peers.end(), peer) &&
        !std::binary_search(peers.begin(), peers.end(), POLC_IDENTITY_ANY))
      continue;
    for (const auto& range : applied.ports)
      if (range.protocol == protocol) {
        cuts.insert(range.first);
        cuts.insert(uint32_t(range.last) + 1);
      }
  }
}

void addRange(std::vector<ir::L4Range>& ranges, uint8_t protocol, uint32_t first, uint32_t last) {
  if (!ranges.empty() && ranges.back().protocol == protocol && ranges.back().last + 1u == first)
    ranges.back().last = uint16_t(last);
  else
    ranges.push_back({protocol, uint16_t(first), uint16_t(last)});
}

std::vector<ProtocolSpace> judgedSpaces(const Families& a, const Families& b,
                                        const std::optional<ir::L4Range>& port) {
  auto spaces = protocolSpaces(a, b);
  if (!port) return spaces;
  std::vector<ProtocolSpace> kept;
  for (const auto& space : spaces) {
    bool l4 = space.protocol == IPPROTO_TCP || space.protocol == IPPROTO_UDP ||
              space.protocol == IPPROTO_SCTP;
    if (port->protocol == 0 ? l4 : space.protocol == port->protocol)
      kept.push_back(
          {space.protocol, std::max(space.first, port->first), std::min(space.last, port->last)});
  }
  return kept;
}

Outcome evaluatePair(const ir::Program& program, const ClassEnd& from, const ClassEnd& to,
                     const std::optional<ir::L4Range>& port) {
  Outcome outcome;
  for (const auto& space : judgedSpaces(from.families, to.families, port)) {
    if (space.first > space.last) continue;
    std::set<uint32_t> cuts{space.first, uint32_t(space.last) + 1};
    addMatchingCuts(from.endpoint, ast::Direction::Egress, to.identity, space.protocol, cuts);
    addMatchingCuts(to.endpoint, ast::Direction::Ingress, from.identity, space.protocol, cuts);
    for (auto cut = cuts.find(space.first); std::next(cut) != cuts.end(); ++cut) {
      uint32_t first = *cut, last = *std::next(cut) - 1;
      if (last > space.last) break;
      bool allowed = true, audited = false, deniedByRule = false;
      std::vector<uint32_t> allowRules, denyRules;
      auto side = [&](const ir::Endpoint* endpoint, ast::Direction direction, uint32_t peer) {
        if (!endpoint) return;
        auto judgement =
            judge(program, *endpoint, direction, peer, space.protocol, uint16_t(first));
        if (judgement.denied()) {
          allowed = false;
          if (judgement.decision == Decision::DeniedByRule) {
            deniedByRule = true;
            denyRules.push_back(judgement.rule);
          }
        } else {
          audited = audited || judgement.audited();
          if (judgement.rule != kNoRule) allowRules.push_back(judgement.rule);
        }
      };
      side(from.endpoint, ast::Direction::Egress, to.identity);
      side(to.endpoint, ast::Direction::Ingress, from.identity);
      if (allowed) {
        addRange(outcome.allowed, space.protocol, first, last);
        if (audited) addRange(outcome.audited, space.protocol, first, last);
        outcome.allowRules.insert(allowRules.begin(), allowRules.end());
      } else if (deniedByRule) {
        addRange(outcome.denied, space.protocol, first, last);
        outcome.denyRules.insert(denyRules.begin(), denyRules.end());
      }
    }
  }
  return outcome;
}

// The union of ranges, merged per protocol where they overlap or touch.
std::vector<ir::L4Range> unite(std::vector<ir::L4Range> ranges) {
  std::sort(ranges.begin(), ranges.end());
  std::vector<ir::L4Range> merged;
  for (const auto& range : ranges) {
    if (!merged.empty() && merged.back().protocol == range.protocol &&
        uint32_t(merged.back().last) + 1 >= range.first)
      merged.back().last = std::max(merged.back().last, range.last);
    else
      merged.push_back(range);
  }
  return merged;
}

} // namespace

namespace {

// a minus b, both merged and sorted (unite), per protocol.
std::vector<ir::L4Range> subtract(const std::vector<ir::L4Range>& a,
                                  const std::vector<ir::L4Range>& b) {
  std::vector<ir::L4Range> result;
  for (const auto& range : a) {
    uint32_t next = range.first;
    for (const auto& cut : b) {
      if (cut.protocol != range.protocol || cut.last < next || cut.first > range.last) continue;
      if (cut.first > next)
        result.push_back({range.protocol, uint16_t(next), uint16_t(cut.first - 1)});
      next = uint32_t(cut.last) + 1;
    }
    if (next <= range.last) result.push_back({range.protocol, uint16_t(next), range.last});
  }
  return result;
}

std::vector<ir::L4Range> intersect(const std::vector<ir::L4Range>& a,
                                   const std::vector<ir::L4Range>& b) {
  return subtract(a, subtract(a, b));
}

} // namespace

PolicyGraph diffGraphs(const PolicyGraph& before, const PolicyGraph& after) {
  PolicyGraph diff;
  diff.differences = true;
  // The groups of both, by kind then name; the new version's wins.
  std::map<std::pair<GraphGroup::Kind, std::string>, GraphGroup> groups;
  for (const auto* graph : {&before, &after})
    for (const auto& group : graph->groups) groups[{group.kind, group.name}] = group;
  std::map<std::string, size_t> index;
  for (auto& [key, group] : groups) {
    index[group.name] = diff.groups.size();
    diff.groups.push_back(std::move(group));
  }
  // (from, to, deny) -> the edge before, after.
  using Key = std::tuple<size_t, size_t, bool>;
  std::map<Key, std::pair<const GraphEdge*, const GraphEdge*>> edges;
  for (const auto* graph : {&before, &after})
    for (const auto& edge : graph->edges) {
      Key key{index.at(graph->groups[edge.from].name), index.at(graph->groups[edge.to].name),
              edge.deny};
      (graph == &before ? edges[key].first : edges[key].second) = &edge;
    }
  static const GraphEdge kNone;
  for (const auto& [key, both] : edges) {
    const GraphEdge& old = both.first ? *both.first : kNone;
    const GraphEdge& now = both.second ? *both.second : kNone;
    for (auto [change, list] :
         {std::pair{GraphEdge::Change::Same, intersect(old.ranges, now.ranges)},
          std::pair{GraphEdge::Change::Added, subtract(now.ranges, old.ranges)},
          std::pair{GraphEdge::Change::Removed, subtract(old.ranges, now.ranges)}}) {
      if (list.empty()) continue;
      GraphEdge edge;
      std::tie(edge.from, edge.to, edge.deny) = key;
      edge.ranges = std::move(list);
      edge.change = change;
      // What decided the flows in the version that has them.
      edge.rules = change == GraphEdge::Change::Removed ? old.rules : now.rules;
      diff.edges.push_back(std::move(edge));
    }
  }
  return diff;
}

std::vector<std::string> GraphEdge::l4Texts() const {
  // Every port of tcp, udp and sctp, some ICMP and every other protocol: any.
  auto whole = [&](uint8_t protocol, uint16_t first) {
    return std::any_of(ranges.begin(), ranges.end(), [&](const ir::L4Range& r) {
      return r.protocol == protocol && r.first <= first && r.last == 65535;
    });
  };
  bool other = std::any_of(ranges.begin(), ranges.end(),
                           [](const ir::L4Range& r) { return r.protocol == kOtherProtocols; });
  if (whole(IPPROTO_TCP, 1) && whole(IPPROTO_UDP, 1) && whole(IPPROTO_SCTP, 1) && other &&
      (whole(IPPROTO_ICMP, 0) || whole(IPPROTO_ICMPV6, 0)))
    return {"any"};
  std::vector<std::string> texts;
  for (const auto& range : ranges)
    texts.push_back(rangeText(range.protocol, range.first, range.last));
  return texts;
}

Expected<PolicyGraph> policyGraph(const ir::Program& program, const GraphOptions& options) {
  const auto keys = labelKeys(program);
  if (options.groupBy.kind == GraphGrouping::Kind::Label)
    if (auto error = checkKey("--group-by label", options.groupBy.key, keys)) return *error;
  for (const auto* selector : {&options.from, &options.to})
    if (*selector)
      for (const auto& [key, value] : (*selector)->labels)
        if (auto error = checkKey(std::string(selector == &options.from ? "--from" : "--to") + " " +
                                      (*selector)->text,
                                  key, keys))
          return *error;

  PolicyGraph graph;
  // Endpoint groups, by name.
  std::map<std::string, std::vector<const ir::Endpoint*>> byName;
  for (const auto& endpoint : program.endpoints) {
    const auto* identity = program.findIdentity(endpoint.identity);
    byName[groupName(options.groupBy, identity->labels)].push_back(&endpoint);
  }
  std::vector<ClassEnd> classes;
  std::map<std::tuple<uint32_t, std::string, std::string, Families>, size_t> classOf;
  std::map<std::string, size_t> egressBehaviour, ingressBehaviour;
  std::vector<const ir::Endpoint*> egressOf, ingressOf; // a representative per behaviour
  auto behaviour = [](std::map<std::string, size_t>& known, std::vector<const ir::Endpoint*>& of,
                      const std::string& key, const ir::Endpoint* endpoint) {
    auto [found, added] = known.try_emplace(key, of.size());
    if (added) of.push_back(endpoint);
    return found->second;
  };
  for (auto& [name, members] : byName) {
    GraphGroup group;
    group.name = name;
    // The labels every member shares.
    group.labels = program.findIdentity(members.front()->identity)->labels;
    for (const auto* member : members) {
      const auto& labels = program.findIdentity(member->identity)->labels;
      std::erase_if(group.labels, [&](const auto& label) {
        auto found = labels.find(label.first);
        return found == labels.end() || found->second != label.second;
      });
      group.members.push_back(member->name);
    }
    std::sort(group.members.begin(), group.members.end());
    const size_t index = graph.groups.size();
    graph.groups.push_back(std::move(group));
    for (const auto* member : members) {
      const auto& labels = program.findIdentity(member->identity)->labels;
      Families families;
      for (const auto& address : member->addresses)
        (address.family == 4 ? families.v4 : families.v6) = true;
      auto egressKey = member->egress.behaviourKey(), ingressKey = member->ingress.behaviourKey();
      auto [found, added] =
          classOf.try_emplace({member->identity, egressKey, ingressKey, families}, classes.size());
      if (!added) {
        ++classes[found->second].members;
        continue;
      }
      ClassEnd end;
      end.group = index;
      end.identity = member->identity;
      end.families = families;
      end.endpoint = member;
      end.egress = behaviour(egressBehaviour, egressOf, egressKey, member);
      end.ingress = behaviour(ingressBehaviour, ingressOf, ingressKey, member);
      end.source = !options.from || selects(*options.from, GraphGroup::Kind::Endpoints, &labels);
      end.destination = !options.to || selects(*options.to, GraphGroup::Kind::Endpoints, &labels);
      classes.push_back(end);
    }
  }
  // The other ends: one group each.
  auto addEnd = [&](GraphGroup::Kind kind, std::string name, uint32_t identity, Families families) {
    ClassEnd end;
    end.group = graph.groups.size();
    end.identity = identity;
    end.families = families;
    end.source = !options.from || selects(*options.from, kind, nullptr);
    end.destination = !options.to || selects(*options.to, kind, nullptr);
    classes.push_back(end);
    GraphGroup group;
    group.kind = kind;
    group.name = std::move(name);
    graph.groups.push_back(std::move(group));
  };
  const Families both{true, true};
  addEnd(GraphGroup::Kind::World, "world", POLC_IDENTITY_WORLD, both);
  addEnd(GraphGroup::Kind::Host, "host", POLC_IDENTITY_HOST, both);
  if (program.nodes.size() > 1)
    addEnd(GraphGroup::Kind::RemoteNode, "remote-node", POLC_IDENTITY_REMOTE_NODE, both);
  std::vector<const ir::Identity*> prefixes;
  for (const auto& identity : program.identities)
    if (identity.prefix) prefixes.push_back(&identity);
  std::sort(prefixes.begin(), prefixes.end(), [](const auto* a, const auto* b) {
    return std::tie(a->kind, *a->prefix, a->name) < std::tie(b->kind, *b->prefix, b->name);
  });
  for (const auto* identity : prefixes) {
    Families families{identity->prefix->family == 4, identity->prefix->family == 6};
    if (identity->kind == ir::Identity::Kind::ServiceAddress)
      addEnd(GraphGroup::Kind::Service,
             "service " + identity->name + " (" + identity->prefix->addressText() + ")",
             identity->id, families);
    else
      addEnd(GraphGroup::Kind::Cidr, "cidr " + identity->prefix->text(), identity->id, families);
  }
  graph.classes = classes.size();
  for (const auto* selector : {&options.from, &options.to}) {
    if (!*selector) continue;
    bool any = std::any_of(classes.begin(), classes.end(), [&](const ClassEnd& end) {
      return selector == &options.from ? end.source : end.destination;
    });
    if (!any)
      return Error(std::string(selector == &options.from ? "--from " : "--to ") +
                   (*selector)->text + " selects no end of the topology");
  }

  // Each pair of classes, evaluated once per distinct way its sides judge
  // each other: (the egress's signature for the destination, the ingress's
  // for the source, both ends' address families).
  Signatures signatures;
  std::vector<Signatures::Side> egressSides, ingressSides;
  for (const auto* endpoint : egressOf)
    egressSides.push_back(signatures.index(endpoint->egress, ast::Direction::Egress));
  for (const auto* endpoint : ingressOf)
    ingressSides.push_back(signatures.index(endpoint->ingress, ast::Direction::Ingress));
  auto familiesIndex = [](const Families& f) { return size_t(f.v4) | size_t(f.v6) << 1; };
  std::unordered_map<uint64_t, uint32_t> memo[16]; // by both ends' families
  std::vector<Outcome> outcomes;
  std::unordered_map<uint64_t, std::vector<uint32_t>> pairOutcomes; // (from, to group) -> outcomes
  const size_t groups = graph.groups.size();
  for (size_t s = 0; s < classes.size(); ++s) {
    const auto& from = classes[s];
    if (!from.source) continue;
    const auto* egress = from.endpoint ? &egressSides[from.egress] : nullptr;
    for (size_t d = 0; d < classes.size(); ++d) {
      const auto& to = classes[d];
      if (!to.destination || (!from.endpoint && !to.endpoint)) continue;
      if (s == d && from.members < 2) continue; // an endpoint to itself is no flow
      uint64_t egressSignature = egress ? egress->of(to.identity) : 0;
      uint64_t ingressSignature = to.endpoint ? ingressSides[to.ingress].of(from.identity) : 0;
      auto& known = memo[familiesIndex(from.families) << 2 | familiesIndex(to.families)];
      auto [found, added] =
          known.try_emplace(egressSignature << 32 | ingressSignature, uint32_t(outcomes.size()));
      if (added) {
        outcomes.push_back(evaluatePair(program, from, to, options.port));
        ++graph.evaluations;
      }
      const Outcome& outcome = outcomes[found->second];
      if (outcome.allowed.empty() && outcome.denied.empty()) continue;
      auto& list = pairOutcomes[uint64_t(from.group) * groups + to.group];
      if (std::find(list.begin(), list.end(), found->second) == list.end())
        list.push_back(found->second);
    }
  }

  std::vector<std::pair<uint64_t, std::vector<uint32_t>>> sorted(pairOutcomes.begin(),
                                                                 pairOutcomes.end());
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [key, list] : sorted) {
    GraphEdge allow, deny;
    allow.from = deny.from = size_t(key / groups);
    allow.to = deny.to = size_t(key % groups);
    deny.deny = true;
    std::set<uint32_t> allowRules, denyRules;
    for (uint32_t id : list) {
      const auto& outcome = outcomes[id];
      allow.ranges.insert(allow.ranges.end(), outcome.allowed.begin(), outcome.allowed.end());
      allow.audited.insert(allow.audited.end(), outcome.audited.begin(), outcome.audited.end());
      deny.ranges.insert(deny.ranges.end(), outcome.denied.begin(), outcome.denied.end());
      allowRules.insert(outcome.allowRules.begin(), outcome.allowRules.end());
      denyRules.insert(outcome.denyRules.begin(), outcome.denyRules.end());
    }
    allow.rules.assign(allowRules.begin(), allowRules.end());
    deny.rules.assign(denyRules.begin(), denyRules.end());
    allow.ranges = unite(std::move(allow.ranges));
    allow.audited = unite(std::move(allow.audited));
    deny.ranges = unite(std::move(deny.ranges));
    if (!allow.ranges.empty()) graph.edges.push_back(std::move(allow));
    if (!deny.ranges.empty()) graph.edges.push_back(std::move(deny));
  }
  std::vector<bool> connected(groups, false);
  for (const auto& edge : graph.edges)
    if (!edge.deny && edge.from != edge.to) connected[edge.from] = connected[edge.to] = true;
  for (size_t i = 0; i < groups; ++i) graph.groups[i].isolated = !connected[i];
  if (!options.from && !options.to && !options.port) return graph;
  // Filtered: only the groups on an edge, or selected by --from or --to.
  std::vector<bool> keep(groups, false);
  for (const auto& edge : graph.edges) keep[edge.from] = keep[edge.to] = true;
  for (const auto& end : classes)
    if ((options.from && end.source) || (options.to && end.destination)) keep[end.group] = true;
  std::vector<size_t> renumbered(groups, kNone);
  std::vector<GraphGroup> kept;
  for (size_t i = 0; i < groups; ++i)
    if (keep[i]) {
      renumbered[i] = kept.size();
      kept.push_back(std::move(graph.groups[i]));
    }
  graph.groups = std::move(kept);
  for (auto& edge : graph.edges) {
    edge.from = renumbered[edge.from];
    edge.to = renumbered[edge.to];
  }
  return graph;
}

namespace {

const char* kindName(GraphGroup::Kind kind) {
  switch (kind) {
  case GraphGroup::Kind::Endpoints:
    return "endpoints";
  case GraphGroup::Kind::World:
    return "world";
  case GraphGroup::Kind::Host:
    return "host";
  case GraphGroup::Kind::RemoteNode:
    return "remote-node";
  case GraphGroup::Kind::Cidr:
    return "cidr";
  case GraphGroup::Kind::Service:
    return "service";
  }
  return "";
}

std::string dotQuote(const std::string& text) {
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    if (c == '\n') {
      quoted += "\\n";
      continue;
    }
    quoted += c;
  }
  return quoted + "\"";
}

// At most this many ranges on an edge's label, and members in a box.
constexpr size_t kMaxLabelRanges = 4;
constexpr size_t kMaxLabelMembers = 3;

std::string edgeLabel(const GraphEdge& edge) {
  auto texts = edge.l4Texts();
  std::string label = edge.change == GraphEdge::Change::Added     ? "+ "
                      : edge.change == GraphEdge::Change::Removed ? "- "
                                                                  : "";
  label += edge.deny ? "deny " : "";
  for (size_t i = 0; i < texts.size() && i < kMaxLabelRanges; ++i)
    label += (i == 0 ? "" : "\n") + texts[i];
  if (texts.size() > kMaxLabelRanges)
    label += "\n+" + std::to_string(texts.size() - kMaxLabelRanges) + " more";
  if (!edge.audited.empty())
    label += edge.audited == edge.ranges ? "\n(audited)" : "\n(partly audited)";
  return label;
}

} // namespace

std::string graphDot(const ir::Program& program, const PolicyGraph& graph) {
  std::string dot = "digraph polc {\n";
  dot += "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, nodesep=0.4, ranksep=0.9, "
         "label=" +
         dotQuote("cluster " + program.cluster +
                  (graph.differences ? ": flows added and removed (polc diff)"
                                     : ": allowed flows (polc graph)")) +
         "];\n";
  dot += "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#e8f0fe\", color=\"#3c78d8\", "
         "fontname=\"Helvetica\", fontsize=11];\n";
  dot += "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#38761d\", fontcolor=\"#38761d\"];\n";
  for (size_t i = 0; i < graph.groups.size(); ++i) {
    const auto& group = graph.groups[i];
    std::string label = group.name;
    const bool endpoints = group.kind == GraphGroup::Kind::Endpoints;
    std::string attributes = endpoints ? "" : ", shape=ellipse";
    if (endpoints) {
      for (size_t m = 0; m < group.members.size() && m < kMaxLabelMembers; ++m)
        label += "\n" + group.members[m];
      if (group.members.size() > kMaxLabelMembers)
        label += "\n+" + std::to_string(group.members.size() - kMaxLabelMembers) + " more";
    }
    if (group.isolated) {
      label += "\n(isolated)";
      attributes += ", fillcolor=\"#eeeeee\", color=\"#999999\", style=\"rounded,filled,dashed\"";
    } else if (!endpoints) {
      attributes += ", fillcolor=\"#fff2cc\", color=\"#bf9000\"";
    }
    dot += "  g" + std::to_string(i) + " [label=" + dotQuote(label) + attributes + "];\n";
  }
  for (const auto& edge : graph.edges) {
    dot += "  g" + std::to_string(edge.from) + " -> g" + std::to_string(edge.to) +
           " [label=" + dotQuote(edgeLabel(edge));
    const char* style = edge.deny ? "dashed" : "solid";
    if (graph.differences && edge.change == GraphEdge::Change::Added)
      dot +=
          std::string(", style=\"bold,") + style + "\", color=\"#1155cc\", fontcolor=\"#1155cc\"";
    else if (graph.differences && edge.change == GraphEdge::Change::Removed)
      dot += ", style=dotted, color=\"#741b47\", fontcolor=\"#741b47\"";
    else if (graph.differences)
      dot += std::string(", style=") + style + ", color=\"#999999\", fontcolor=\"#999999\"";
    else if (edge.deny)
      dot += ", style=dashed, color=\"#cc0000\", fontcolor=\"#cc0000\"";
    else if (!edge.audited.empty())
      dot += ", color=\"#b45f06\", fontcolor=\"#b45f06\"";
    dot += "];\n";
  }
  return dot + "}\n";
}

namespace {

const char* changeName(GraphEdge::Change change) {
  switch (change) {
  case GraphEdge::Change::Added:
    return "added";
  case GraphEdge::Change::Removed:
    return "removed";
  case GraphEdge::Change::Same:
    break;
  }
  return "same";
}

// The document of graphJson; `programOf` gives the version whose rules an
// edge's rule ids index.
nlohmann::json graphDocument(const std::string& cluster, const PolicyGraph& graph,
                             const std::function<const ir::Program&(const GraphEdge&)>& programOf) {
  auto groups = nlohmann::json::array();
  for (size_t i = 0; i < graph.groups.size(); ++i) {
    const auto& group = graph.groups[i];
    groups.push_back({{"id", "g" + std::to_string(i)},
                      {"name", group.name},
                      {"kind", kindName(group.kind)},
                      {"labels", group.labels},
                      {"members", group.members},
                      {"isolated", group.isolated}});
  }
  auto edges = nlohmann::json::array();
  size_t allows = 0, denies = 0, added = 0, removed = 0;
  // Rules by stable id: a rule both versions have is the same rule (its
  // policy, direction and text), listed once, where the new version has it.
  std::map<uint32_t, const ir::Rule*> decidingRules;
  for (const auto& edge : graph.edges) {
    (edge.deny ? denies : allows)++;
    added += edge.change == GraphEdge::Change::Added;
    removed += edge.change == GraphEdge::Change::Removed;
    const auto& program = programOf(edge);
    // Stable ids; the rules themselves are listed once, below.
    auto rules = nlohmann::json::array();
    for (uint32_t id : edge.rules) {
      const auto& rule = program.rules.at(id);
      rules.push_back(rule.stableId);
      auto [at, inserted] = decidingRules.emplace(rule.stableId, &rule);
      if (!inserted && edge.change != GraphEdge::Change::Removed) at->second = &rule;
    }
    nlohmann::json json = {{"from", "g" + std::to_string(edge.from)},
                           {"to", "g" + std::to_string(edge.to)},
                           {"verdict", edge.deny ? "deny" : "allow"},
                           {"l4", edge.l4Texts()},
                           {"ranges", rangesJson(edge.ranges)},
                           {"audited", rangesJson(edge.audited)},
                           {"rules", rules}};
    if (graph.differences) json["change"] = changeName(edge.change);
    edges.push_back(std::move(json));
  }
  // In source order (of the version each is taken from).
  std::vector<const ir::Rule*> ordered;
  for (const auto& [stableId, rule] : decidingRules) ordered.push_back(rule);
  std::sort(ordered.begin(), ordered.end(),
            [](const ir::Rule* a, const ir::Rule* b) { return a->id < b->id; });
  auto rules = nlohmann::json::array();
  for (const ir::Rule* rule : ordered)
    rules.push_back({{"id", rule->stableId},
                     {"policy", rule->policy},
                     {"audit", rule->audit},
                     {"text", rule->text},
                     {"location", rule->location.str()}});
  size_t isolated = std::count_if(graph.groups.begin(), graph.groups.end(),
                                  [](const GraphGroup& g) { return g.isolated; });
  nlohmann::json summary = {{"groups", graph.groups.size()}, {"allow_edges", allows},
                            {"deny_edges", denies},          {"isolated_groups", isolated},
                            {"classes", graph.classes},      {"evaluations", graph.evaluations}};
  nlohmann::json document = {{"cluster", cluster}, {"groups", groups}, {"edges", edges}};
  if (graph.differences) {
    document["differences"] = true;
    summary["added_edges"] = added;
    summary["removed_edges"] = removed;
  }
  document["rules"] = std::move(rules);
  document["summary"] = std::move(summary);
  return document;
}

} // namespace

nlohmann::json graphJson(const ir::Program& program, const PolicyGraph& graph) {
  return graphDocument(program.cluster, graph,
                       [&](const GraphEdge&) -> const ir::Program& { return program; });
}

nlohmann::json graphJson(const ir::Program& before, const ir::Program& after,
                         const PolicyGraph& differences) {
  return graphDocument(
      after.cluster, differences, [&](const GraphEdge& edge) -> const auto& {
        return edge.change == GraphEdge::Change::Removed ? before : after;
      });
}

} // namespace polc::evaluator
