#include "polc/evaluator/policy_diff.h"

#include "flow_space.h"
#include "polc/evaluator/explain.h"
#include "polc/support/protocol.h"
#include "polc_structs.h"

#include <netinet/in.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace polc::evaluator {

namespace {

// One end of the compared flows, the same in both versions.
struct End {
  enum class Kind { Endpoint, Reserved, Address };
  Kind kind = Kind::Endpoint;
  std::string text;
  uint32_t reservedIdentity = 0; // Reserved
  IpPrefix address{};            // Address: the representative address judged
  Families families;
};

// An end as one version sees it.
struct Resolution {
  const ir::Endpoint* endpoint = nullptr; // only endpoint ends have their side judged
  uint32_t identity = 0;
};

Resolution resolveEnd(const ir::Program& program, const End& end, const std::string& node) {
  switch (end.kind) {
  case End::Kind::Endpoint: {
    const auto* endpoint = program.findEndpoint(end.text);
    return {endpoint, endpoint->identity};
  }
  case End::Kind::Reserved:
    return {nullptr, end.reservedIdentity};
  case End::Kind::Address:
    // An address that some version gives to an endpoint is still judged
    // only by identity: it stands for a CIDR of policy here.
    return {nullptr, resolveAddress(program, node, end.address).identity};
  }
  return {};
}

// The last address of a prefix, and the one after it (nullopt past the end
// of the address space).
std::optional<IpPrefix> addressAfter(const IpPrefix& prefix) {
  IpPrefix next = prefix;
  next.length = next.maxLength();
  int bytes = next.family == 4 ? 4 : 16;
  for (int bit = prefix.length; bit < next.maxLength(); ++bit)
    next.bytes[bit / 8] |= uint8_t(0x80 >> (bit % 8));
  for (int i = bytes - 1; i >= 0; --i) {
    if (++next.bytes[i] != 0) return next;
  }
  return std::nullopt;
}

IpPrefix firstAddress(const IpPrefix& prefix) {
  IpPrefix address = prefix;
  address.length = address.maxLength();
  return address;
}

// An address of `prefix` that no longer known prefix covers, so that it
// stands for the prefix itself; none when longer prefixes cover it all.
std::optional<IpPrefix> representative(const IpPrefix& prefix, const std::set<IpPrefix>& known) {
  std::optional<IpPrefix> candidate = firstAddress(prefix);
  for (size_t step = 0; step <= known.size() && candidate && prefix.contains(*candidate); ++step) {
    const IpPrefix* covering = nullptr;
    for (const auto& other : known)
      if (other.length > prefix.length && other.contains(*candidate)) {
        covering = &other;
        break;
      }
    if (!covering) return candidate;
    candidate = addressAfter(*covering);
  }
  return std::nullopt;
}

void addPrefixes(const ir::Program& program, std::set<IpPrefix>& known) {
  for (const auto& endpoint : program.endpoints)
    known.insert(endpoint.addresses.begin(), endpoint.addresses.end());
  for (const auto& node : program.nodes)
    if (node.address) known.insert(*node.address);
  for (const auto& identity : program.identities)
    if (identity.prefix) known.insert(*identity.prefix);
}

Families endpointFamilies(const ir::Program& before, const ir::Program& after,
                          const std::string& name) {
  Families families;
  for (const auto* program : {&before, &after})
    for (const auto& address : program->findEndpoint(name)->addresses)
      (address.family == 4 ? families.v4 : families.v6) = true;
  return families;
}

std::vector<End> enumerateEnds(const ir::Program& before, const ir::Program& after,
                               PolicyDiff& diff) {
  std::vector<End> ends;
  for (const auto& endpoint : before.endpoints) {
    if (after.findEndpoint(endpoint.name))
      ends.push_back({End::Kind::Endpoint,
                      endpoint.name,
                      0,
                      {},
                      endpointFamilies(before, after, endpoint.name)});
    else
      diff.endpointsRemoved.push_back(endpoint.name);
  }
  for (const auto& endpoint : after.endpoints)
    if (!before.findEndpoint(endpoint.name)) diff.endpointsAdded.push_back(endpoint.name);
  Families both{true, true};
  ends.push_back({End::Kind::Reserved, "entity world", POLC_IDENTITY_WORLD, {}, both});
  ends.push_back({End::Kind::Reserved, "entity host", POLC_IDENTITY_HOST, {}, both});
  if (before.nodes.size() > 1 || after.nodes.size() > 1)
    ends.push_back({End::Kind::Reserved, "remote-node", POLC_IDENTITY_REMOTE_NODE, {}, both});

  std::set<IpPrefix> known;
  addPrefixes(before, known);
  addPrefixes(after, known);
  std::map<IpPrefix, std::string> prefixEnds; // sorted by prefix: deterministic
  for (const auto* program : {&before, &after})
    for (const auto& identity : program->identities) {
      if (!identity.prefix || prefixEnds.contains(*identity.prefix)) continue;
      prefixEnds[*identity.prefix] =
          identity.kind == ir::Identity::Kind::ServiceAddress
              ? "service " + identity.name + " (" + identity.prefix->addressText() + ")"
              : "cidr " + identity.prefix->text();
    }
  for (const auto& [prefix, text] : prefixEnds) {
    auto address = representative(prefix, known);
    if (!address) continue; // every address of it belongs to a longer prefix: an end of its own
    Families families{prefix.family == 4, prefix.family == 6};
    ends.push_back({End::Kind::Address, text, 0, *address, families});
  }
  return ends;
}

FlowOutcome outcome(const ir::Program& program, const Resolution& from, const Resolution& to,
                    uint8_t protocol, uint16_t value) {
  FlowOutcome result;
  std::vector<SideOutcome> allowing, denying;
  auto side = [&](const ir::Endpoint* endpoint, ast::Direction direction, uint32_t peer) {
    if (!endpoint) return;
    auto judgement = judge(program, *endpoint, direction, peer, protocol, value);
    SideOutcome outcome{endpoint->name, direction, judgement.decision, judgement.rule};
    (judgement.allowed() ? allowing : denying).push_back(std::move(outcome));
  };
  side(from.endpoint, ast::Direction::Egress, to.identity);
  side(to.endpoint, ast::Direction::Ingress, from.identity);
  result.allowed = denying.empty();
  result.audited =
      result.allowed && std::any_of(allowing.begin(), allowing.end(), [](auto& s) {
        return s.decision == Decision::AuditedByRule || s.decision == Decision::AuditedIsolated;
      });
  result.sides = result.allowed ? std::move(allowing) : std::move(denying);
  return result;
}

// Both ends as one version sees them. Addresses are resolved as on the node
// of the endpoint end (the destination's when both are endpoints), as
// `polc explain` does: that decides host versus remote-node. Resolving an
// address walks every endpoint and prefix of the version: done once per
// address end (not per node, nor per pair), its identity remembered per node.
class Resolver {
public:
  Resolver(const ir::Program& program, const std::vector<End>& ends)
      : program_(program), ends_(ends), nodeOf_(ends.size(), kNoNode), fixed_(ends.size()),
        index_(program), resolutions_(ends.size()),
        addresses_(ends.size() * (program.nodes.size() + 1)) {
    std::map<std::string_view, size_t> nodes; // by name (the last of a name, were there two)
    for (size_t n = 0; n < program.nodes.size(); ++n) nodes[program.nodes[n].name] = n;
    for (size_t i = 0; i < ends.size(); ++i) {
      if (ends[i].kind == End::Kind::Address) continue;
      fixed_[i] = resolveEnd(program, ends[i], {});
      if (ends[i].kind != End::Kind::Endpoint) continue;
      auto node = nodes.find(fixed_[i].endpoint->node);
      if (node != nodes.end()) nodeOf_[i] = node->second;
    }
  }

  std::pair<Resolution, Resolution> pair(size_t from, size_t to) {
    size_t node = nodeOf_[to] != kNoNode ? nodeOf_[to] : nodeOf_[from];
    return {resolve(from, node), resolve(to, node)};
  }

private:
  static constexpr size_t kNoNode = SIZE_MAX;

  Resolution resolve(size_t end, size_t node) {
    if (ends_[end].kind != End::Kind::Address) return fixed_[end];
    const size_t slot = node == kNoNode ? program_.nodes.size() : node;
    auto& cached = addresses_[end * (program_.nodes.size() + 1) + slot];
    if (!cached) {
      // The program is walked once per address end, whatever the nodes.
      auto& address = resolutions_[end];
      if (!address) address = index_.resolve(ends_[end].address);
      // Judged by identity only, like resolveEnd.
      cached = Resolution{
          nullptr,
          address->on(node == kNoNode ? std::string() : program_.nodes[node].name).identity};
    }
    return *cached;
  }

  const ir::Program& program_;
  const std::vector<End>& ends_;
  std::vector<size_t> nodeOf_;    // per end: its node's index, if an endpoint
  std::vector<Resolution> fixed_; // per end that is not an address
  AddressIndex index_;
  std::vector<std::optional<AddressResolution>> resolutions_; // per address end
  std::vector<std::optional<Resolution>> addresses_;          // per address end and node
};

// What an identity stands for, as a number both versions share: adding a
// label set renumbers the identities after it, which changes no verdict.
class Meanings {
public:
  // The meaning of every identity of `program`, by the program's id.
  // Sorted by id.
  std::vector<std::pair<uint32_t, uint32_t>> of(const ir::Program& program) {
    std::vector<std::pair<uint32_t, uint32_t>> meanings;
    for (const auto& identity : program.identities) {
      std::string meaning;
      switch (identity.kind) {
      case ir::Identity::Kind::Reserved:
        meaning = "reserved " + std::to_string(identity.id);
        break;
      case ir::Identity::Kind::Endpoint:
        meaning = "labels";
        for (const auto& [key, value] : identity.labels)
          meaning += " " + std::to_string(key.size()) + ":" + key + "=" +
                     std::to_string(value.size()) + ":" + value;
        break;
      case ir::Identity::Kind::Cidr:
        meaning = "cidr " + identity.prefix->text();
        break;
      case ir::Identity::Kind::ServiceAddress:
        meaning = "service " + identity.name + " " + identity.prefix->text();
        break;
      }
      meanings.emplace_back(identity.id, intern(meaning));
    }
    std::sort(meanings.begin(), meanings.end()); // ids are unique: already in order
    return meanings;
  }
  // An id no program lists (POLC_IDENTITY_ANY in a rule's peers).
  uint32_t ofBareId(uint32_t id) { return intern("id " + std::to_string(id)); }

private:
  uint32_t intern(const std::string& meaning) {
    return index_.try_emplace(meaning, uint32_t(index_.size())).first->second;
  }
  std::map<std::string, uint32_t> index_;
};

// One version's identities as shared meanings. An id the program does not
// list (POLC_IDENTITY_ANY in a rule's peers) means the bare id, the same in
// both versions.
class MeaningOf {
public:
  MeaningOf(const ir::Program& program, Meanings& meanings)
      : meanings_(meanings), byId_(meanings.of(program)),
        any_(meanings.ofBareId(POLC_IDENTITY_ANY)) {}
  uint32_t operator()(uint32_t id) const {
    auto found = std::lower_bound(byId_.begin(), byId_.end(), std::pair{id, uint32_t(0)});
    return found != byId_.end() && found->first == id ? found->second : meanings_.ofBareId(id);
  }
  uint32_t any() const { return any_; }
  // Whether every id this version lists means what it means in `other`,
  // and no other id is listed there.
  bool sameIds(const MeaningOf& other) const { return byId_ == other.byId_; }

private:
  Meanings& meanings_;
  std::vector<std::pair<uint32_t, uint32_t>> byId_; // sorted by id
  uint32_t any_;
};

// Whether a direction judges a peer the same in both versions: the same
// isolation and the same rules (verdict, ports) matching it, in any order.
bool sameRulesFor(const ir::Program& before, const ir::DirectionPolicy& a, uint32_t oldPeer,
                  const ir::Program& after, const ir::DirectionPolicy& b, uint32_t newPeer) {
  if (a.isolated != b.isolated || a.auditIsolated != b.auditIsolated) return false;
  // An audit deny is a verdict of its own here: it judges differently.
  using Kind = std::pair<int, const std::vector<ir::L4Range>*>;
  auto matching = [](const ir::Program& program, const ir::DirectionPolicy& policy, uint32_t peer) {
    std::vector<Kind> kinds;
    for (const auto& applied : policy.rules)
      if (std::binary_search(applied.peers.begin(), applied.peers.end(), peer) ||
          std::binary_search(applied.peers.begin(), applied.peers.end(), POLC_IDENTITY_ANY)) {
        const auto& rule = program.rules[applied.rule];
        kinds.emplace_back(int(rule.verdict) * 2 + (rule.audit ? 1 : 0), &applied.ports);
      }
    std::sort(kinds.begin(), kinds.end(), [](const Kind& x, const Kind& y) {
      return std::tie(x.first, *x.second) < std::tie(y.first, *y.second);
    });
    return kinds;
  };
  const auto old = matching(before, a, oldPeer), now = matching(after, b, newPeer);
  return std::equal(
      old.begin(), old.end(), now.begin(), now.end(),
      [](const Kind& x, const Kind& y) { return x.first == y.first && *x.second == *y.second; });
}

// The peers of one endpoint direction for which some verdict may differ
// between the versions. Whether a flow is allowed depends only on the rules
// that match its peer (is one a deny on its port, one an allow) and on the
// isolation, not on their order or ids: so the peers that matter are those
// of the rules that one version has and the other has not.
struct AffectedPeers {
  bool all = false;
  std::set<uint32_t> meanings;
  bool contains(uint32_t meaning) const { return all || meanings.contains(meaning); }
};

// `sameIds`: both versions list the same identity ids with the same meanings
// (nothing relabeled or renumbered), so equal ids are equal meanings.
AffectedPeers affectedPeers(bool sameIds, const ir::Program& before, const MeaningOf& beforeMeaning,
                            const ir::DirectionPolicy& a, const ir::Program& after,
                            const MeaningOf& afterMeaning, const ir::DirectionPolicy& b) {
  AffectedPeers affected;
  if (a.isolated != b.isolated) {
    affected.all = true;
    return affected;
  }
  struct RuleKey {
    ast::Verdict verdict;
    std::vector<ir::L4Range> ports;
    std::vector<uint32_t> peers; // meanings, sorted
    auto operator<=>(const RuleKey&) const = default;
  };
  auto keys = [](const ir::Program& program, const MeaningOf& meaning,
                 const ir::DirectionPolicy& policy) {
    std::vector<RuleKey> result;
    for (const auto& applied : policy.rules) {
      RuleKey key{program.rules[applied.rule].verdict, applied.ports, {}};
      for (uint32_t peer : applied.peers) key.peers.push_back(meaning(peer));
      std::sort(key.peers.begin(), key.peers.end());
      result.push_back(std::move(key));
    }
    std::sort(result.begin(), result.end());
    return result;
  };
  // Most directions keep their rules, in the same order and naming the same
  // peers (by meaning): then the sorted keys below would be equal, and
  // nothing is affected. Checked first, without building them.
  auto sameInOrder = [&] {
    if (a.rules.size() != b.rules.size()) return false;
    for (size_t i = 0; i < a.rules.size(); ++i) {
      const auto &x = a.rules[i], &y = b.rules[i];
      if (before.rules[x.rule].verdict != after.rules[y.rule].verdict || x.ports != y.ports ||
          x.peers.size() != y.peers.size())
        return false;
      if (sameIds && x.peers == y.peers) continue;
      for (size_t p = 0; p < x.peers.size(); ++p)
        if (beforeMeaning(x.peers[p]) != afterMeaning(y.peers[p])) return false;
    }
    return true;
  };
  if (sameInOrder()) return affected;
  const auto old = keys(before, beforeMeaning, a), now = keys(after, afterMeaning, b);
  if (old == now) return affected;
  // The rules one version has and the other has not: per verdict and ports,
  // how many more of them match each peer in the old version than in the
  // new. A peer matched by as many of each is judged the same.
  std::vector<RuleKey> oldOnly, newOnly;
  std::set_difference(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(oldOnly));
  std::set_difference(now.begin(), now.end(), old.begin(), old.end(), std::back_inserter(newOnly));
  std::map<std::pair<size_t, uint32_t>, int> surplus; // (verdict and ports, peer) -> count
  std::vector<std::pair<ast::Verdict, std::vector<ir::L4Range>>> kinds;
  auto count = [&](const std::vector<RuleKey>& rules, int sign) {
    for (const auto& rule : rules) {
      std::pair kind{rule.verdict, rule.ports};
      auto found = std::find(kinds.begin(), kinds.end(), kind);
      size_t index = found - kinds.begin();
      if (found == kinds.end()) kinds.push_back(std::move(kind));
      for (uint32_t peer : rule.peers) surplus[{index, peer}] += sign;
    }
  };
  count(oldOnly, 1);
  count(newOnly, -1);
  for (const auto& [key, difference] : surplus) {
    if (difference == 0) continue;
    if (key.second == beforeMeaning.any()) affected.all = true; // both share the meaning
    affected.meanings.insert(key.second);
  }
  return affected;
}

// A change that covers every protocol of a pair but a few holes reads best
// as "any except tcp/443": replaces such a group of changes (same outcomes
// in both versions) by one. More holes than this stay a list of ranges.
constexpr size_t kMaxExceptions = 3;

std::vector<VerdictChange> foldIntoAny(std::vector<VerdictChange> changes,
                                       const std::vector<ProtocolSpace>& spaces) {
  std::vector<VerdictChange> folded;
  std::vector<bool> done(changes.size(), false);
  for (size_t i = 0; i < changes.size(); ++i) {
    if (done[i]) continue;
    std::vector<size_t> group;
    for (size_t j = i; j < changes.size(); ++j)
      if (!done[j] && changes[j].before == changes[i].before &&
          changes[j].after == changes[i].after)
        group.push_back(j);
    // The holes: per protocol space, what the group's ranges (in order) leave out.
    std::vector<ir::L4Range> holes;
    bool everyProtocol = true;
    for (const auto& space : spaces) {
      uint32_t next = space.first;
      bool touched = false;
      for (size_t j : group) {
        if (changes[j].protocol != space.protocol) continue;
        touched = true;
        if (changes[j].first > next)
          holes.push_back({space.protocol, uint16_t(next), uint16_t(changes[j].first - 1)});
        next = uint32_t(changes[j].last) + 1;
      }
      if (!touched) everyProtocol = false;
      if (next <= space.last) holes.push_back({space.protocol, uint16_t(next), space.last});
    }
    if (!everyProtocol || holes.size() > kMaxExceptions) {
      folded.push_back(std::move(changes[i]));
      done[i] = true;
      continue;
    }
    VerdictChange any = changes[i];
    any.protocol = 0;
    any.first = 0;
    any.last = 65535;
    any.except = std::move(holes);
    folded.push_back(std::move(any));
    for (size_t j : group) done[j] = true;
  }
  return folded;
}

// The changes of one pair of ends, merged into ranges, then folded into
// "any [except ...]" where that is shorter.
std::vector<VerdictChange> diffPair(const ir::Program& before, const ir::Program& after,
                                    const End& from, const End& to,
                                    const std::pair<Resolution, Resolution>& beforePair,
                                    const std::pair<Resolution, Resolution>& afterPair) {
  std::vector<VerdictChange> changes;
  const auto& [beforeFrom, beforeTo] = beforePair;
  const auto& [afterFrom, afterTo] = afterPair;
  auto spaces = protocolSpaces(from.families, to.families);
  for (const auto& space : spaces) {
    std::set<uint32_t> cuts{space.first, uint32_t(space.last) + 1};
    addCuts(beforeFrom.endpoint, ast::Direction::Egress, space.protocol, cuts);
    addCuts(beforeTo.endpoint, ast::Direction::Ingress, space.protocol, cuts);
    addCuts(afterFrom.endpoint, ast::Direction::Egress, space.protocol, cuts);
    addCuts(afterTo.endpoint, ast::Direction::Ingress, space.protocol, cuts);
    size_t firstOfProtocol = changes.size();
    for (auto cut = cuts.find(space.first); std::next(cut) != cuts.end(); ++cut) {
      uint32_t first = *cut, last = *std::next(cut) - 1;
      if (last > space.last) break;
      auto value = uint16_t(first);
      auto old = outcome(before, beforeFrom, beforeTo, space.protocol, value);
      auto now = outcome(after, afterFrom, afterTo, space.protocol, value);
      if (old.allowed == now.allowed && old.audited == now.audited) continue;
      if (changes.size() > firstOfProtocol && changes.back().last + 1u == first &&
          changes.back().before == old && changes.back().after == now) {
        changes.back().last = uint16_t(last);
        continue;
      }
      changes.push_back({from.text,
                         to.text,
                         space.protocol,
                         uint16_t(first),
                         uint16_t(last),
                         std::move(old),
                         std::move(now),
                         {}});
    }
  }
  return foldIntoAny(std::move(changes), spaces);
}

// The ends paired with a source, in order: per source end, the destination
// ends worth judging.
using Partners = std::function<std::vector<size_t>(size_t from)>;

// Every end but the source (and no two ends that are not endpoints).
Partners everyPartner(const std::vector<End>& ends) {
  return [&ends](size_t from) {
    std::vector<size_t> partners;
    for (size_t to = 0; to < ends.size(); ++to)
      if (to != from &&
          (ends[from].kind == End::Kind::Endpoint || ends[to].kind == End::Kind::Endpoint))
        partners.push_back(to);
    return partners;
  };
}

// The destinations of a source whose pair may judge differently: a superset
// of the pairs where a side's rules differ for the other end, found through
// the peers each side's changed rules name rather than by trying every pair
// (which is quadratic in the endpoints when little changed). An endpoint
// end's identity is the same on every node, so endpoints are grouped by what
// their identity means; an endpoint whose identity means something else in
// the new version (a relabel) is paired with every end, and so is every end
// that is not an endpoint (few: entities, CIDRs, services; their identity
// may depend on the node).
Partners possiblePartners(const ir::Program& before, const MeaningOf& beforeMeaning,
                          const ir::Program& after, const MeaningOf& afterMeaning,
                          const std::vector<End>& ends, const std::vector<AffectedPeers>& egress,
                          const std::vector<AffectedPeers>& ingress) {
  struct Index {
    std::vector<size_t> all;        // every end
    std::vector<size_t> endpoints;  // every endpoint end
    std::vector<size_t> everywhere; // ends paired with every end: relabeled endpoints, others
    std::map<uint32_t, std::vector<size_t>> byMeaning; // endpoint ends not relabeled
    std::vector<bool> relabeled;                       // per end
    std::vector<std::vector<size_t>> ingressOf; // per source: destinations whose ingress names it
    std::vector<size_t> ingressOfAll;           // destinations whose ingress may judge any source
  };
  auto index = std::make_shared<Index>();
  index->relabeled.assign(ends.size(), false);
  index->ingressOf.resize(ends.size());
  for (size_t i = 0; i < ends.size(); ++i) {
    index->all.push_back(i);
    if (ends[i].kind != End::Kind::Endpoint) {
      index->everywhere.push_back(i);
      continue;
    }
    index->endpoints.push_back(i);
    const uint32_t old = beforeMeaning(before.findEndpoint(ends[i].text)->identity);
    if (old != afterMeaning(after.findEndpoint(ends[i].text)->identity)) {
      index->relabeled[i] = true;
      index->everywhere.push_back(i);
    } else {
      index->byMeaning[old].push_back(i);
    }
  }
  std::sort(index->everywhere.begin(), index->everywhere.end());
  for (size_t to : index->endpoints) {
    if (ingress[to].all) {
      index->ingressOfAll.push_back(to);
      continue;
    }
    for (uint32_t meaning : ingress[to].meanings) {
      auto found = index->byMeaning.find(meaning);
      if (found == index->byMeaning.end()) continue;
      for (size_t from : found->second) index->ingressOf[from].push_back(to);
    }
  }
  return [&ends, &egress, index](size_t from) {
    std::vector<size_t> partners;
    if (ends[from].kind != End::Kind::Endpoint) {
      partners = index->endpoints;
    } else if (index->relabeled[from] || egress[from].all) {
      partners = index->all;
    } else {
      partners = index->everywhere;
      partners.insert(partners.end(), index->ingressOfAll.begin(), index->ingressOfAll.end());
      partners.insert(partners.end(), index->ingressOf[from].begin(), index->ingressOf[from].end());
      for (uint32_t meaning : egress[from].meanings) {
        auto found = index->byMeaning.find(meaning);
        if (found != index->byMeaning.end())
          partners.insert(partners.end(), found->second.begin(), found->second.end());
      }
      std::sort(partners.begin(), partners.end());
      partners.erase(std::unique(partners.begin(), partners.end()), partners.end());
    }
    std::erase(partners, from);
    return partners;
  };
}

} // namespace

std::string VerdictChange::l4Text() const {
  std::string text = rangeText(protocol, first, last);
  for (size_t i = 0; i < except.size(); ++i)
    text += (i == 0 ? " except " : ", ") +
            rangeText(except[i].protocol, except[i].first, except[i].last);
  return text;
}

size_t PolicyDiff::allowToDeny() const {
  return std::count_if(changes.begin(), changes.end(),
                       [](const auto& c) { return c.before.allowed && !c.after.allowed; });
}
size_t PolicyDiff::denyToAllow() const {
  return std::count_if(changes.begin(), changes.end(),
                       [](const auto& c) { return !c.before.allowed && c.after.allowed; });
}
size_t PolicyDiff::auditChanges() const {
  return std::count_if(changes.begin(), changes.end(),
                       [](const auto& c) { return c.before.allowed && c.after.allowed; });
}

PolicyDiff diffPolicies(const ir::Program& before, const ir::Program& after,
                        PairsToEvaluate evaluate) {
  PolicyDiff diff;
  const auto ends = enumerateEnds(before, after, diff);
  Resolver resolveBefore(before, ends), resolveAfter(after, ends);
  Meanings meanings;
  const MeaningOf beforeMeaning(before, meanings), afterMeaning(after, meanings);
  const bool sameIds = beforeMeaning.sameIds(afterMeaning);
  // Per endpoint end: the peers for which its egress (as a source) or its
  // ingress (as a destination) may decide differently.
  std::vector<AffectedPeers> egress(ends.size()), ingress(ends.size());
  for (size_t i = 0; i < ends.size(); ++i) {
    if (ends[i].kind != End::Kind::Endpoint) continue;
    const auto* old = before.findEndpoint(ends[i].text);
    const auto* now = after.findEndpoint(ends[i].text);
    egress[i] = affectedPeers(sameIds, before, beforeMeaning, old->egress, after, afterMeaning,
                              now->egress);
    ingress[i] = affectedPeers(sameIds, before, beforeMeaning, old->ingress, after, afterMeaning,
                               now->ingress);
  }
  // Every ordered pair of distinct ends with at least one endpoint.
  const size_t others = std::count_if(
      ends.begin(), ends.end(), [](const End& end) { return end.kind != End::Kind::Endpoint; });
  diff.pairsCompared = ends.size() * (ends.size() - 1) - others * (others - 1);
  const auto partners =
      evaluate == PairsToEvaluate::Every
          ? everyPartner(ends)
          : possiblePartners(before, beforeMeaning, after, afterMeaning, ends, egress, ingress);
  for (size_t from = 0; from < ends.size(); ++from) {
    for (size_t to : partners(from)) {
      // Resolved per version: an end's identity, even its node, may differ.
      const auto beforePair = resolveBefore.pair(from, to);
      const auto afterPair = resolveAfter.pair(from, to);
      // A flow's verdict is the source's egress for the destination's
      // identity and the destination's ingress for the source's: when
      // neither side can judge the other end differently, no port of the
      // pair can change, and the pair is not evaluated port by port.
      auto sideSame = [&](const ir::Endpoint* old, const ir::Endpoint* now,
                          ast::Direction direction, const AffectedPeers& affected, uint32_t oldPeer,
                          uint32_t newPeer) {
        if (!old) return true; // not an endpoint: judged by identity only
        const uint32_t meaning = beforeMeaning(oldPeer);
        if (meaning == afterMeaning(newPeer)) return !affected.contains(meaning);
        // The end means something else now (a relabel): compare the rules
        // that match it in each version.
        return sameRulesFor(before, old->policy(direction), oldPeer, after, now->policy(direction),
                            newPeer);
      };
      if (evaluate == PairsToEvaluate::Affected &&
          sideSame(beforePair.first.endpoint, afterPair.first.endpoint, ast::Direction::Egress,
                   egress[from], beforePair.second.identity, afterPair.second.identity) &&
          sideSame(beforePair.second.endpoint, afterPair.second.endpoint, ast::Direction::Ingress,
                   ingress[to], beforePair.first.identity, afterPair.first.identity))
        continue;
      auto changes = diffPair(before, after, ends[from], ends[to], beforePair, afterPair);
      std::move(changes.begin(), changes.end(), std::back_inserter(diff.changes));
    }
  }
  return diff;
}

namespace {

const char* verdictWord(const FlowOutcome& outcome) {
  return verdictName(outcome.allowed, outcome.audited);
}

std::string sideText(const ir::Program& program, const SideOutcome& side) {
  std::string text = side.endpoint + " " + std::string(ast::toString(side.direction));
  if (side.rule != kNoRule) {
    const auto& rule = program.rules.at(side.rule);
    const char* how = side.decision == Decision::DeniedByRule    ? " denied by "
                      : side.decision == Decision::AuditedByRule ? " audited by "
                                                                 : " allowed by ";
    return text + how + rule.location.str() + "  " + rule.text + "  [" +
           (rule.audit ? "audit " : "") + "policy \"" + rule.policy + "\"]";
  }
  if (side.decision == Decision::DeniedIsolated || side.decision == Decision::AuditedIsolated) {
    text += side.decision == Decision::DeniedIsolated ? " denied: isolated"
                                                      : " audited: isolated by audit policies";
    const auto* endpoint = program.findEndpoint(side.endpoint);
    const auto& isolatedBy = endpoint->policy(side.direction).isolatedBy;
    if (!isolatedBy.empty()) text += " (by " + isolatedBy.front().str() + ")";
    return text + ", no allow rule matches";
  }
  return text + " allowed: not isolated, no deny rule matches";
}

nlohmann::json sideJson(const ir::Program& program, const SideOutcome& side) {
  nlohmann::json json{{"endpoint", side.endpoint},
                      {"direction", ast::toString(side.direction)},
                      {"decision", decisionName(side.decision)},
                      {"rule", nullptr}};
  if (side.rule != kNoRule) {
    const auto& rule = program.rules.at(side.rule);
    json["rule"] = {{"id", rule.stableId},
                    {"policy", rule.policy},
                    {"audit", rule.audit},
                    {"text", rule.text},
                    {"location", rule.location.str()}};
  }
  if (side.decision == Decision::DeniedIsolated || side.decision == Decision::AuditedIsolated) {
    auto isolatedBy = nlohmann::json::array();
    for (const auto& where : program.findEndpoint(side.endpoint)->policy(side.direction).isolatedBy)
      isolatedBy.push_back(where.str());
    json["isolated_by"] = isolatedBy;
  }
  return json;
}

nlohmann::json outcomeJson(const ir::Program& program, const FlowOutcome& outcome) {
  auto sides = nlohmann::json::array();
  for (const auto& side : outcome.sides) sides.push_back(sideJson(program, side));
  return {{"verdict", verdictWord(outcome)}, {"sides", sides}};
}

std::string summaryText(const PolicyDiff& diff) {
  std::set<std::pair<std::string, std::string>> pairs;
  for (const auto& change : diff.changes) pairs.insert({change.from, change.to});
  return std::to_string(diff.changes.size()) + " verdict change(s) (" +
         std::to_string(diff.allowToDeny()) + " allow -> deny, " +
         std::to_string(diff.denyToAllow()) + " deny -> allow" +
         (diff.auditChanges() ? ", " + std::to_string(diff.auditChanges()) + " to or from audit"
                              : std::string()) +
         ") between " + std::to_string(pairs.size()) + " of " + std::to_string(diff.pairsCompared) +
         " pairs compared";
}

} // namespace

std::string diffText(const ir::Program& before, const ir::Program& after, const PolicyDiff& diff) {
  if (diff.empty()) return {};
  std::string text;
  for (const auto& name : diff.endpointsRemoved)
    text += "endpoint " + name + " is only in the old topology: its flows are not compared\n";
  for (const auto& name : diff.endpointsAdded)
    text += "endpoint " + name + " is only in the new topology: its flows are not compared\n";
  if (!text.empty() && !diff.changes.empty()) text += "\n";
  // Columns aligned over all changes, so a reviewer can scan them.
  size_t pairWidth = 0, l4Width = 0;
  for (const auto& change : diff.changes) {
    pairWidth = std::max(pairWidth, change.from.size() + 4 + change.to.size());
    l4Width = std::max(l4Width, change.l4Text().size());
  }
  auto pad = [](std::string s, size_t width) {
    s.resize(std::max(s.size(), width), ' ');
    return s;
  };
  for (const auto& change : diff.changes) {
    text += pad(change.from + " -> " + change.to, pairWidth) + "  " +
            pad(change.l4Text(), l4Width) + "  " + verdictWord(change.before) + " -> " +
            verdictWord(change.after) + "\n";
    for (auto [label, program, outcome] :
         {std::tuple{"old", &before, &change.before}, {"new", &after, &change.after}}) {
      // An open side says nothing when the other side allowed (or audited).
      auto shown = outcome->sides;
      bool byRule = std::any_of(shown.begin(), shown.end(), [](const auto& side) {
        return side.decision != Decision::AllowedNotIsolated;
      });
      if (byRule)
        std::erase_if(
            shown, [](const auto& side) { return side.decision == Decision::AllowedNotIsolated; });
      for (size_t i = 0; i < shown.size(); ++i)
        text += std::string(i == 0 ? "    " + std::string(label) + ": " : "         ") +
                sideText(*program, shown[i]) + "\n";
    }
  }
  if (!diff.changes.empty()) text += summaryText(diff) + "\n";
  return text;
}

nlohmann::json diffJson(const ir::Program& before, const ir::Program& after,
                        const PolicyDiff& diff) {
  auto changes = nlohmann::json::array();
  for (const auto& change : diff.changes)
    changes.push_back({{"from", change.from},
                       {"to", change.to},
                       {"protocol", protocolJson(change.protocol)},
                       {"first", change.first},
                       {"last", change.last},
                       {"l4", change.l4Text()},
                       {"except", rangesJson(change.except)},
                       {"old", outcomeJson(before, change.before)},
                       {"new", outcomeJson(after, change.after)}});
  return {{"changes", changes},
          {"endpoints_added", diff.endpointsAdded},
          {"endpoints_removed", diff.endpointsRemoved},
          {"summary",
           {{"changes", diff.changes.size()},
            {"allow_to_deny", diff.allowToDeny()},
            {"deny_to_allow", diff.denyToAllow()},
            {"audit_changes", diff.auditChanges()},
            {"pairs_compared", diff.pairsCompared}}}};
}

} // namespace polc::evaluator
