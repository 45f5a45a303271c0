#include "polc/evaluator/evaluator.h"

#include "polc/ir/text.h"
#include "polc/support/protocol.h"
#include "polc/support/suggest.h"
#include "polc_structs.h"

#include <netinet/in.h>

#include <algorithm>
#include <tuple>

namespace polc::evaluator {

namespace {

bool isIcmp(uint8_t protocol) {
  return protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6;
}
bool hasPorts(uint8_t protocol) {
  return protocol == IPPROTO_TCP || protocol == IPPROTO_UDP || protocol == IPPROTO_SCTP;
}

bool rangeMatches(const ir::L4Range& range, uint8_t protocol, uint16_t value) {
  return (range.protocol == 0 || range.protocol == protocol) && range.first <= value &&
         value <= range.last;
}

} // namespace

bool matches(const ir::AppliedRule& rule, uint32_t peerIdentity, uint8_t protocol, uint16_t value) {
  const auto& peers = rule.peers;
  // Sorted, so the wildcard (0) comes first when present.
  bool peerMatches = (!peers.empty() && peers.front() == POLC_IDENTITY_ANY) ||
                     std::binary_search(peers.begin(), peers.end(), peerIdentity);
  if (!peerMatches) return false;
  if (rule.ports.empty()) return true;
  for (const auto& range : rule.ports)
    if (rangeMatches(range, protocol, value)) return true;
  return false;
}

Judgement judge(const ir::Program& program, const ir::Endpoint& endpoint, ast::Direction direction,
                uint32_t peerIdentity, uint8_t protocol, uint16_t value) {
  const auto& policy = endpoint.policy(direction);
  uint32_t firstAllow = kNoRule, firstAuditDeny = kNoRule;
  for (const auto& applied : policy.rules) {
    const auto& rule = program.rules[applied.rule];
    bool deny = rule.verdict == ast::Verdict::Deny;
    if (rule.audit && !deny && policy.isolated) continue; // takes no part
    if (!matches(applied, peerIdentity, protocol, value)) continue;
    // Rules are in ascending id order: the first matching deny is the lowest.
    if (deny && !rule.audit) return {Decision::DeniedByRule, applied.rule};
    uint32_t& first = deny ? firstAuditDeny : firstAllow;
    if (first == kNoRule) first = applied.rule;
  }
  if (firstAllow == kNoRule && policy.isolated) return {Decision::DeniedIsolated, kNoRule};
  if (firstAuditDeny != kNoRule) return {Decision::AuditedByRule, firstAuditDeny};
  if (firstAllow != kNoRule) return {Decision::AllowedByRule, firstAllow};
  if (policy.auditIsolated) return {Decision::AuditedIsolated, kNoRule};
  return {Decision::AllowedNotIsolated, kNoRule};
}

uint16_t l4Value(uint8_t protocol, uint16_t port, uint8_t icmpType, uint8_t icmpCode) {
  if (hasPorts(protocol)) return port;
  if (isIcmp(protocol)) return uint16_t(icmpType << 8 | icmpCode);
  return 0;
}

Resolved resolveAddress(const ir::Program& program, const std::string& node,
                        const IpPrefix& address) {
  return AddressResolution(program, address).on(node);
}

AddressResolution::AddressResolution(const ir::Program& program, const IpPrefix& address) {
  // Per kind of prefix, the first of the longest that contain the address.
  auto consider = [&](const IpPrefix& prefix, int& bestLength) {
    if (int(prefix.length) <= bestLength || !prefix.contains(address)) return false;
    bestLength = prefix.length;
    return true;
  };
  for (const auto& endpoint : program.endpoints)
    for (const auto& prefix : endpoint.addresses)
      if (consider(prefix, endpointLength_)) endpoint_ = {endpoint.identity, &endpoint};
  for (const auto& n : program.nodes)
    if (n.address && consider(*n.address, nodeLength_)) node_ = &n;
  for (const auto& identity : program.identities)
    if (identity.prefix && consider(*identity.prefix, identityLength_))
      identity_ = {identity.id, nullptr};
}

namespace {

IpPrefix masked(IpPrefix prefix, int length) {
  prefix.length = uint8_t(length);
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(length - 8 * i, 0, 8);
    prefix.bytes[i] &= uint8_t(0xFF00 >> keep);
  }
  return prefix;
}

} // namespace

AddressIndex::AddressIndex(const ir::Program& program) : program_(program) {
  for (const auto& endpoint : program.endpoints)
    for (const auto& prefix : endpoint.addresses)
      endpoints_.push_back(
          {masked(prefix, prefix.length), endpoints_.size(), {endpoint.identity, &endpoint}});
  for (const auto& identity : program.identities)
    if (identity.prefix)
      identities_.push_back({masked(*identity.prefix, identity.prefix->length),
                             identities_.size(),
                             {identity.id, nullptr}});
  for (auto* entries : {&endpoints_, &identities_})
    std::sort(entries->begin(), entries->end(), [](const Entry& x, const Entry& y) {
      return std::tie(x.prefix, x.order) < std::tie(y.prefix, y.order);
    });
}

int AddressIndex::longest(const std::vector<Entry>& entries, const IpPrefix& address,
                          Resolved& found) {
  for (int length = address.length; length >= 0; --length) {
    const auto key = masked(address, length);
    auto it =
        std::lower_bound(entries.begin(), entries.end(), key,
                         [](const Entry& entry, const IpPrefix& k) { return entry.prefix < k; });
    if (it != entries.end() && it->prefix == key) {
      found = it->resolved;
      return length;
    }
  }
  return -1;
}

AddressResolution AddressIndex::resolve(const IpPrefix& address) const {
  AddressResolution resolution;
  resolution.endpointLength_ = longest(endpoints_, address, resolution.endpoint_);
  for (const auto& n : program_.nodes)
    if (n.address && int(n.address->length) > resolution.nodeLength_ &&
        n.address->contains(address)) {
      resolution.nodeLength_ = n.address->length;
      resolution.node_ = &n;
    }
  resolution.identityLength_ = longest(identities_, address, resolution.identity_);
  return resolution;
}

Resolved AddressResolution::on(const std::string& node) const {
  // Visited in order of precedence at equal length: only a strictly longer
  // prefix replaces an earlier match.
  Resolved best{POLC_IDENTITY_WORLD, nullptr};
  int bestLength = -1;
  if (endpointLength_ > bestLength) {
    best = endpoint_;
    bestLength = endpointLength_;
  }
  if (nodeLength_ > bestLength) {
    best = {node_->name == node ? POLC_IDENTITY_HOST : POLC_IDENTITY_REMOTE_NODE, nullptr};
    bestLength = nodeLength_;
  }
  if (identityLength_ > bestLength) best = identity_;
  return best;
}

Expected<FlowEnd> FlowEnd::parse(const std::string& text) {
  if (text.empty()) return Error{"an empty flow end: give an endpoint name or an IP address"};
  if (text == "entity world") return world();
  if (text == "entity host") return host();
  if (text.starts_with("entity "))
    return Error{"unknown entity '" + text.substr(7) + "': use 'entity world' or 'entity host'"};
  if (text.find('/') != std::string::npos) {
    if (parsePrefix(text))
      return Error{"'" + text + "' is a prefix; a flow goes from or to one address"};
  }
  if (auto address = parseAddress(text)) return ip(*address);
  bool looksNumeric = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == ':';
  });
  if (looksNumeric) return Error{"'" + text + "' is not an IPv4 or IPv6 address"};
  return endpoint(text);
}

std::string FlowEnd::text() const {
  switch (kind) {
  case Kind::Endpoint:
    return name;
  case Kind::Address:
    return address.addressText();
  case Kind::World:
    return "entity world";
  case Kind::Host:
    return "entity host";
  }
  return name;
}

std::string Flow::l4Text() const {
  if (hasPorts(protocol)) return protocolName(protocol) + "/" + std::to_string(port);
  if (isIcmp(protocol))
    return protocolName(protocol) + " type " + std::to_string(icmpType.value_or(0)) + " code " +
           std::to_string(icmpCode.value_or(0));
  return protocolName(protocol);
}

namespace {

const char* sideName(ast::Direction direction) {
  return direction == ast::Direction::Egress ? "the source's egress" : "the destination's ingress";
}

std::string ruleList(const ir::Program& program, const std::vector<uint32_t>& ids) {
  std::string text = ids.size() == 1 ? "rule " : "rules ";
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& rule = program.rules.at(ids[i]);
    if (i > 0) text += ", ";
    text += std::to_string(rule.stableId) + " (policy \"" + rule.policy + "\", " +
            rule.location.str() + ")";
  }
  return text;
}

SideVerdict judgeSide(const ir::Program& program, const ir::Endpoint* endpoint,
                      ast::Direction direction, const ResolvedEnd& peer, uint8_t protocol,
                      uint16_t value, const std::string& l4) {
  SideVerdict side;
  side.direction = direction;
  side.peerIdentity = peer.identity;
  if (!endpoint) {
    side.reason =
        std::string(direction == ast::Direction::Egress ? "the source" : "the destination") +
        " is not an endpoint, so " + sideName(direction) + " is not judged";
    return side;
  }
  side.endpoint = endpoint;
  side.applies = true;
  const auto& policy = endpoint->policy(direction);
  side.isolated = policy.isolated;
  side.auditIsolated = policy.auditIsolated;
  auto judgement = judge(program, *endpoint, direction, peer.identity, protocol, value);
  side.decision = judgement.decision;
  side.allowed = judgement.allowed();
  side.audited = judgement.audited();
  bool wantDeny =
      judgement.decision == Decision::DeniedByRule || judgement.decision == Decision::AuditedByRule;
  bool wantAudit = judgement.decision == Decision::AuditedByRule;
  for (const auto& applied : policy.rules) {
    const auto& rule = program.rules.at(applied.rule);
    bool deny = rule.verdict == ast::Verdict::Deny;
    bool takesPart = deny ? rule.audit == wantAudit : !(rule.audit && policy.isolated);
    if (deny == wantDeny && takesPart && matches(applied, peer.identity, protocol, value))
      side.decidingRules.push_back(applied.rule);
  }
  std::string where = sideName(direction);
  std::string peerText = ir::identityText(program, peer.identity);
  switch (judgement.decision) {
  case Decision::DeniedByRule:
    side.reason = "denied by " + ruleList(program, side.decidingRules) + " on " + where;
    break;
  case Decision::DeniedIsolated:
    side.reason = where + " is isolated and no allow rule matches " + peerText + " on " + l4;
    break;
  case Decision::AllowedByRule:
    side.reason = "allowed by " + ruleList(program, side.decidingRules) + " on " + where;
    break;
  case Decision::AllowedNotIsolated:
    side.reason = where + " is not isolated and no deny rule matches";
    break;
  case Decision::AuditedByRule:
    side.reason = "audit: passes, but audit " + ruleList(program, side.decidingRules) + " on " +
                  where + " would deny it";
    break;
  case Decision::AuditedIsolated:
    side.reason = "audit: passes, but " + where + " is isolated by audit policies and no allow " +
                  "rule matches " + peerText + " on " + l4;
    break;
  }
  return side;
}

// An address for "entity world": one in no ipcache prefix when there is one
// among a few documentation and public addresses.
IpPrefix worldAddress(const ir::Program& program, const std::string& node, uint8_t family) {
  const char* v4[] = {"203.0.113.7", "198.51.100.7", "192.0.2.7", "8.8.8.8", "1.1.1.1"};
  const char* v6[] = {"2001:db8::7", "2001:db8:ffff::7", "2606:4700::1111"};
  std::vector<IpPrefix> candidates;
  if (family == 6)
    for (const char* text : v6) candidates.push_back(*parseAddress(text));
  else
    for (const char* text : v4) candidates.push_back(*parseAddress(text));
  for (const auto& candidate : candidates)
    if (resolveAddress(program, node, candidate).identity == POLC_IDENTITY_WORLD) return candidate;
  return candidates.front(); // every candidate is covered: judged as whatever covers it
}

} // namespace

Expected<Verdict> evaluate(const ir::Program& program, const Flow& flow) {
  // Checks that do not need the program first.
  if (flow.protocol == 0) return Error{"a flow needs a protocol"};
  if (isIcmp(flow.protocol)) {
    if (!flow.icmpType)
      return Error{"an " + protocolName(flow.protocol) + " flow needs a type (e.g. " +
                   (flow.protocol == IPPROTO_ICMP ? "8" : "128") + ", echo request)"};
    if (flow.port != 0) return Error{protocolName(flow.protocol) + " has no ports; give a type"};
  } else {
    if (flow.icmpType || flow.icmpCode)
      return Error{"an ICMP type or code applies to icmp and icmpv6 only"};
    if (hasPorts(flow.protocol) && flow.port == 0)
      return Error{"a " + protocolName(flow.protocol) + " flow needs a destination port (1-65535)"};
  }
  std::optional<uint8_t> family;
  for (const auto* end : {&flow.from, &flow.to}) {
    if (end->kind != FlowEnd::Kind::Address) continue;
    if (family && *family != end->address.family)
      return Error{"the flow mixes an IPv4 and an IPv6 address"};
    family = end->address.family;
  }
  if (family && flow.protocol == IPPROTO_ICMP && *family == 6)
    return Error{"icmp is IPv4; use icmpv6 between IPv6 addresses"};
  if (family && flow.protocol == IPPROTO_ICMPV6 && *family == 4)
    return Error{"icmpv6 is IPv6; use icmp between IPv4 addresses"};

  // Endpoints first: they decide the judging node.
  auto endpointOf = [&](const FlowEnd& end) -> Expected<const ir::Endpoint*> {
    if (end.kind == FlowEnd::Kind::Endpoint) {
      if (const auto* endpoint = program.findEndpoint(end.name)) return endpoint;
      std::vector<std::string> names;
      for (const auto& endpoint : program.endpoints) names.push_back(endpoint.name);
      std::string message = "no endpoint named '" + end.name + "' in the topology";
      if (end.name == "world" || end.name == "host") // an entity, written as in a policy
        message += "; did you mean 'entity " + end.name + "'?";
      else if (auto close = closestMatch(end.name, names))
        message += "; did you mean '" + *close + "'?";
      return Error{message};
    }
    if (end.kind == FlowEnd::Kind::Address)
      // The node does not matter here: endpoint addresses mean the same everywhere.
      return resolveAddress(program, "", end.address).endpoint;
    return static_cast<const ir::Endpoint*>(nullptr);
  };
  auto source = endpointOf(flow.from);
  if (!source) return Error{source.error()};
  auto destination = endpointOf(flow.to);
  if (!destination) return Error{destination.error()};
  if (!*source && !*destination)
    return Error{"neither " + flow.from.text() + " nor " + flow.to.text() +
                 " is an endpoint; polc judges traffic from or to an endpoint"};

  Verdict verdict;
  verdict.node = *destination ? (*destination)->node : (*source)->node;
  verdict.protocol = flow.protocol;
  verdict.value =
      l4Value(flow.protocol, flow.port, flow.icmpType.value_or(0), flow.icmpCode.value_or(0));
  verdict.l4 = flow.l4Text();

  auto resolveEnd = [&](const FlowEnd& end, const ir::Endpoint* endpoint) {
    ResolvedEnd resolved;
    resolved.text = end.text();
    resolved.endpoint = endpoint;
    switch (end.kind) {
    case FlowEnd::Kind::Endpoint:
      resolved.identity = endpoint->identity;
      break;
    case FlowEnd::Kind::Address:
      resolved.address = end.address;
      resolved.identity = resolveAddress(program, verdict.node, end.address).identity;
      break;
    case FlowEnd::Kind::World: {
      auto address = worldAddress(program, verdict.node,
                                  family.value_or(flow.protocol == IPPROTO_ICMPV6 ? 6 : 4));
      resolved.address = address;
      resolved.identity = resolveAddress(program, verdict.node, address).identity;
      break;
    }
    case FlowEnd::Kind::Host:
      for (const auto& node : program.nodes)
        if (node.name == verdict.node) resolved.address = node.address;
      resolved.identity = POLC_IDENTITY_HOST;
      break;
    }
    return resolved;
  };
  verdict.from = resolveEnd(flow.from, *source);
  verdict.to = resolveEnd(flow.to, *destination);

  verdict.egress = judgeSide(program, *source, ast::Direction::Egress, verdict.to, verdict.protocol,
                             verdict.value, verdict.l4);
  verdict.ingress = judgeSide(program, *destination, ast::Direction::Ingress, verdict.from,
                              verdict.protocol, verdict.value, verdict.l4);
  verdict.allowed = verdict.egress.allowed && verdict.ingress.allowed;
  verdict.audited = verdict.allowed && (verdict.egress.audited || verdict.ingress.audited);
  if (verdict.allowed) {
    std::string reason;
    for (const auto* side : {&verdict.egress, &verdict.ingress})
      if (side->applies) reason += (reason.empty() ? "" : "; ") + side->reason;
    verdict.reason = reason;
  } else {
    // The source's egress sees the packet first.
    std::string reason;
    for (const auto* side : {&verdict.egress, &verdict.ingress})
      if (!side->allowed) reason += (reason.empty() ? "" : "; and ") + side->reason;
    verdict.reason = reason;
  }
  return verdict;
}

} // namespace polc::evaluator
