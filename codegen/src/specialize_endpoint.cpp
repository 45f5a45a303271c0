// Chooses an endpoint's compile-time features (bpf/lib/polc_features.h) from
// its tables and its node's ipcache. Only the shape of the tables counts
// (which kinds of entries exist), never their values, so endpoints with
// different rules of the same shape still share one object.
#include "polc/codegen/specialize_endpoint.h"

#include "polc_structs.h"

#include <algorithm>
#include <bit>
#include <cstdint>

namespace polc::codegen {
namespace {

struct DirectionShape {
  bool peerLookup = false;
  bool wildcardLookup = false;
  uint64_t policyPrefixes = 0; // POLC_POLICY_PREFIX_BIT of every length a lookup can meet
};

// Whether an entry can change a verdict (or turn one into audit). In a
// direction that is isolated in neither way only a deny or an audit can (an
// allow there would only name the rule in the conntrack entry).
bool decides(const artifacts::PolicyTable& table, const artifacts::PolicyEntry& entry) {
  return table.isolated || table.auditIsolated || entry.verdict != artifacts::Verdict::Allow;
}

// Which lookups the direction needs, and which key prefix lengths they probe:
// those of every entry a lookup can meet, deciding or not (a longer allow
// must still shadow a shorter deny).
DirectionShape shapeOf(const artifacts::PolicyTable& table) {
  DirectionShape shape;
  for (const auto& entry : table.entries) {
    if (!decides(table, entry)) continue;
    (entry.identity == POLC_IDENTITY_ANY ? shape.wildcardLookup : shape.peerLookup) = true;
  }
  for (const auto& entry : table.entries)
    if (entry.identity == POLC_IDENTITY_ANY ? shape.wildcardLookup : shape.peerLookup)
      shape.policyPrefixes |= POLC_POLICY_PREFIX_BIT(entry.keyPrefixLength());
  return shape;
}

// The slots of a direction's table compiled in as code, or 0 for its map.
// Slot counts are powers of two so that endpoints with tables of similar
// size share one object (unused slots never match).
unsigned inlineEntriesOf(const artifacts::PolicyTable& table, const DirectionShape& shape,
                         unsigned maxInlineEntries) {
  if (!shape.peerLookup && !shape.wildcardLookup) return 0; // no lookup to replace
  if (table.entries.empty() || table.entries.size() > maxInlineEntries) return 0;
  return std::bit_ceil(static_cast<unsigned>(table.entries.size()));
}

// Whether an IPv6 packet (whose peer is WORLD without IPv6 in the ipcache)
// can meet an entry that decides.
bool canMatchWorld(const artifacts::PolicyTable& table) {
  return std::any_of(table.entries.begin(), table.entries.end(), [&](const auto& entry) {
    return decides(table, entry) &&
           (entry.identity == POLC_IDENTITY_ANY || entry.identity == POLC_IDENTITY_WORLD);
  });
}

} // namespace

bool needsPrograms(const artifacts::PolicyTable& ingress, const artifacts::PolicyTable& egress) {
  // A direction with an effect (isolated, or a deny; audit alike) needs its program, and
  // the other direction's program too: it tracks the flows whose replies
  // the first one must let through.
  auto hasEffect = [](const artifacts::PolicyTable& table) {
    return table.isolated || table.auditIsolated ||
           std::any_of(table.entries.begin(), table.entries.end(), [](const auto& entry) {
             return entry.verdict != artifacts::Verdict::Allow;
           });
  };
  return hasEffect(ingress) || hasEffect(egress);
}

NodeShape nodeShapeOf(const artifacts::Ipcache& ipcache) {
  return {.ipv6InIpcache =
              std::any_of(ipcache.entries.begin(), ipcache.entries.end(),
                          [](const artifacts::IpcacheEntry& entry) { return entry.family == 6; })};
}

EndpointProgramSpec specializeEndpoint(const artifacts::PolicyTable& ingress,
                                       const artifacts::PolicyTable& egress,
                                       const artifacts::Ipcache& ipcache) {
  return specializeEndpoint(ingress, egress, nodeShapeOf(ipcache));
}

EndpointProgramSpec specializeEndpoint(const artifacts::PolicyTable& ingress,
                                       const artifacts::PolicyTable& egress, const NodeShape& node,
                                       unsigned maxInlineEntries) {
  EndpointProgramSpec spec;
  spec.egressProgram = spec.ingressProgram = needsPrograms(ingress, egress);
  spec.egressIsolated = egress.isolated;
  spec.ingressIsolated = ingress.isolated;
  spec.egressAuditIsolated = egress.auditIsolated;
  spec.ingressAuditIsolated = ingress.auditIsolated;
  const DirectionShape egressShape = shapeOf(egress), ingressShape = shapeOf(ingress);
  spec.egressPeerLookup = egressShape.peerLookup;
  spec.egressWildcardLookup = egressShape.wildcardLookup;
  spec.ingressPeerLookup = ingressShape.peerLookup;
  spec.ingressWildcardLookup = ingressShape.wildcardLookup;
  spec.egressInlineEntries = inlineEntriesOf(egress, egressShape, maxInlineEntries);
  spec.ingressInlineEntries = inlineEntriesOf(ingress, ingressShape, maxInlineEntries);
  // An inline direction never probes its map: no lengths, so that its C
  // (and object) does not depend on them.
  spec.egressPolicyPrefixes = spec.egressInlineEntries ? 0 : egressShape.policyPrefixes;
  spec.ingressPolicyPrefixes = spec.ingressInlineEntries ? 0 : ingressShape.policyPrefixes;
  // See POLC_IPV6: the verdict of every IPv6 packet must be fixed at
  // compile time, which needs equal isolation (with mixed isolation, IPv6
  // replies through the isolated direction depend on conntrack).
  // Audit isolation reports IPv6 packets too, which needs them parsed.
  spec.ipv6 = node.ipv6InIpcache || canMatchWorld(ingress) || canMatchWorld(egress) ||
              ingress.isolated != egress.isolated || ingress.auditIsolated || egress.auditIsolated;
  return spec;
}

} // namespace polc::codegen
