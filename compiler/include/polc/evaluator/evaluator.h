// The reference evaluator: what a compiled policy allows, computed directly
// from the IR. It is the definition of polc's semantics; the BPF datapath
// must agree with it (the differential tests check that), and
// `polc explain` and `polc test` are built on it.
//
//  1. A direction of an endpoint is isolated when DirectionPolicy::isolated.
//     A direction that is not isolated allows what no deny rule denies.
//  2. An isolated direction allows exactly the union of its allow rules.
//  3. A matching deny rule wins over any allow, isolated or not.
//  4. A flow between two endpoints must pass the source's egress and the
//     destination's ingress; a flow from or to an address that is no
//     endpoint (world, a CIDR, a node) is judged on the endpoint side(s) only.
//  5. It judges the first packet of a flow; replies pass by conntrack.
//  6. Rules of audit policies never drop: where the enforcing policies allow
//     a packet and a matching audit deny, or the isolation of a direction by
//     audit policies only (DirectionPolicy::auditIsolated), would deny it,
//     it passes as audited. In a direction the enforcing policies isolate,
//     audit allow rules take no part: they could only loosen it.
//
// A rule matches a packet on one side when the identity of the other side
// (the peer) is among its peers, or its peers hold POLC_IDENTITY_ANY, and
// the packet's (protocol, value) lies in one of its ranges, or it has none.
// The value is the destination port for TCP/UDP/SCTP and (type << 8 | code)
// for ICMP/ICMPv6.
#pragma once

#include "polc/ir/ir.h"
#include "polc/support/expected.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polc::evaluator {

// ---- The per-side core, for callers that judge millions of packets. ----

enum class Decision : uint8_t {
  AllowedNotIsolated, // no deny matches and the direction is not isolated
  AllowedByRule,      // an allow rule matches and no deny does
  DeniedByRule,       // a deny rule matches
  DeniedIsolated,     // isolated, and no allow rule matches
  AuditedByRule,      // allowed, but an audit deny rule matches: passes, reported
  AuditedIsolated,    // isolated in audit only, and no allow rule matches: passes, reported
};

inline constexpr uint32_t kNoRule = UINT32_MAX;

struct Judgement {
  Decision decision = Decision::AllowedNotIsolated;
  // The lowest id among the deciding rules: the first matching deny for
  // DeniedByRule and AuditedByRule, the first matching allow for
  // AllowedByRule; else kNoRule.
  uint32_t rule = kNoRule;
  // The packet passes (audited ones too).
  bool allowed() const { return !denied(); }
  bool denied() const {
    return decision == Decision::DeniedByRule || decision == Decision::DeniedIsolated;
  }
  bool audited() const {
    return decision == Decision::AuditedByRule || decision == Decision::AuditedIsolated;
  }
};

// Does `rule` match a packet from/to `peerIdentity` with this protocol and
// value? Binary search on the sorted peers; no allocation.
bool matches(const ir::AppliedRule& rule, uint32_t peerIdentity, uint8_t protocol, uint16_t value);

// One side of a flow: `endpoint`'s policy for `direction`, for a packet whose
// other side has `peerIdentity`. Allocation-free.
Judgement judge(const ir::Program&, const ir::Endpoint& endpoint, ast::Direction direction,
                uint32_t peerIdentity, uint8_t protocol, uint16_t value);

// The 16-bit value policy tables key on for this protocol: the destination
// port for TCP/UDP/SCTP, (type << 8 | code) for ICMP/ICMPv6, 0 otherwise.
uint16_t l4Value(uint8_t protocol, uint16_t port, uint8_t icmpType, uint8_t icmpCode);

// ---- Addresses to identities, as the ipcache of one node does it. ----

struct Resolved {
  uint32_t identity = 0;
  const ir::Endpoint* endpoint = nullptr; // the endpoint owning the address, if any
};

// Longest prefix wins among: endpoint addresses (-> the endpoint's
// identity), node addresses (-> HOST on `node` itself, REMOTE_NODE on every
// other node) and every identity's prefix (CIDRs, service addresses). At
// equal length an endpoint address wins over a node address over an identity
// prefix. No match: WORLD.
Resolved resolveAddress(const ir::Program&, const std::string& node, const IpPrefix& address);

// resolveAddress on any node, the program walked once: only which node's
// address it is (HOST or REMOTE_NODE) depends on the node.
class AddressResolution {
public:
  AddressResolution(const ir::Program&, const IpPrefix& address);
  Resolved on(const std::string& node) const;

private:
  friend class AddressIndex;
  AddressResolution() = default;
  Resolved endpoint_; // the longest endpoint address, and so on: -1 when none matches
  int endpointLength_ = -1;
  const ir::Node* node_ = nullptr;
  int nodeLength_ = -1;
  Resolved identity_;
  int identityLength_ = -1;
};

// AddressResolution for many addresses of one program: the prefixes of its
// endpoints and identities indexed once, each address looked up per prefix
// length (longest first) rather than by walking them all.
class AddressIndex {
public:
  explicit AddressIndex(const ir::Program&);
  AddressResolution resolve(const IpPrefix& address) const;

private:
  struct Entry {
    IpPrefix prefix; // host bits cleared
    size_t order;    // in the program: the first wins at equal length
    Resolved resolved;
  };
  // The first of the longest entries containing `address`: its length, -1 if none.
  static int longest(const std::vector<Entry>&, const IpPrefix& address, Resolved& found);
  const ir::Program& program_;
  std::vector<Entry> endpoints_, identities_; // sorted by prefix, then order
};

// ---- Whole flows, explained. ----

// One end of a flow: an endpoint by name, an address, or an entity.
struct FlowEnd {
  enum class Kind { Endpoint, Address, World, Host };
  Kind kind = Kind::Endpoint;
  std::string name;   // Endpoint
  IpPrefix address{}; // Address (a host prefix)

  static FlowEnd endpoint(std::string name) { return {Kind::Endpoint, std::move(name), {}}; }
  static FlowEnd ip(const IpPrefix& address) { return {Kind::Address, {}, address}; }
  static FlowEnd world() { return {Kind::World, {}, {}}; }
  static FlowEnd host() { return {Kind::Host, {}, {}}; }
  // "web-1", "10.0.1.10", "fd00::10", "entity world", "entity host"; an
  // error for an empty text or an address with a prefix length.
  static Expected<FlowEnd> parse(const std::string& text);
  std::string text() const;
};

struct Flow {
  FlowEnd from;
  FlowEnd to;
  uint8_t protocol = 0;            // IPPROTO_*
  uint16_t port = 0;               // TCP/UDP/SCTP destination port
  std::optional<uint8_t> icmpType; // ICMP/ICMPv6: required
  std::optional<uint8_t> icmpCode; // ICMP/ICMPv6: 0 when not given
  std::string l4Text() const;      // "tcp/5432", "icmp type 8 code 0"
};

// An end after resolution on the judging node.
struct ResolvedEnd {
  std::string text;                // as given: "web-1", "203.0.113.7", "entity world"
  std::optional<IpPrefix> address; // the address judged, when there is one
  uint32_t identity = 0;
  const ir::Endpoint* endpoint = nullptr; // null: not an endpoint, its side is not judged
};

struct SideVerdict {
  ast::Direction direction = ast::Direction::Egress;
  const ir::Endpoint* endpoint = nullptr; // whose policy; null when the side does not apply
  uint32_t peerIdentity = 0;
  bool applies = false; // the end is an endpoint, so its policy is judged
  bool isolated = false;
  bool auditIsolated = false;
  bool allowed = true;
  bool audited = false; // allowed, but what audit policies would deny
  Decision decision = Decision::AllowedNotIsolated;
  // All matching (enforcing) deny rules for a deny by rule, all matching
  // audit deny rules for an audit by rule; all matching allow rules
  // otherwise (empty when isolated and nothing matched). Ascending ids.
  std::vector<uint32_t> decidingRules;
  std::string reason;
};

struct Verdict {
  bool allowed = false;
  bool audited = false; // allowed, and audited on some side
  std::string node;     // the node whose ipcache resolved addresses
  ResolvedEnd from, to;
  uint8_t protocol = 0;
  uint16_t value = 0;  // as the tables key on it (see l4Value)
  std::string l4;      // "tcp/5432"
  SideVerdict egress;  // the source's egress
  SideVerdict ingress; // the destination's ingress
  std::string reason;
};

// The three verdicts a flow can have as data and in tests: "allow", "audit"
// (passes, but an audit policy would deny it) or "deny".
inline const char* verdictName(bool allowed, bool audited) {
  return !allowed ? "deny" : audited ? "audit" : "allow";
}

// Judges the first packet of `flow`. Errors: an unknown endpoint (with a
// did-you-mean), a flow with no endpoint on either side, a missing port or
// ICMP type, addresses of mixed families or of the wrong family for
// icmp/icmpv6. The Verdict points into `program`.
Expected<Verdict> evaluate(const ir::Program&, const Flow&);

} // namespace polc::evaluator
