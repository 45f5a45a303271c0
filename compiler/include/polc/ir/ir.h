// The policy IR: policy with every name resolved. Peers have become sets of
// security identities (endpoints by labels, CIDRs and service addresses by
// prefix, reserved ones); named ports and services have become concrete
// port ranges; every endpoint knows which rules apply to it in each
// direction, resolved for it. Everything is sorted, so output built from it
// is deterministic.
#pragma once

#include "polc/frontend/ast.h"
#include "polc/support/ip_prefix.h"
#include "polc/topology/topology.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace polc::ir {

using Labels = topology::Labels;

struct Identity {
  enum class Kind { Reserved, Endpoint, Cidr, ServiceAddress };
  uint32_t id = 0;
  Kind kind = Kind::Endpoint;
  Labels labels;                  // Endpoint: the endpoint's labels
  std::optional<IpPrefix> prefix; // Cidr, ServiceAddress: what the ipcache maps to it
  std::string name;               // Reserved: "host", "world", ...; ServiceAddress: the service
};

// A protocol and an inclusive range of the 16-bit value the tables key on:
// the destination port for TCP/UDP/SCTP, (type << 8 | code) for ICMP and
// ICMPv6. protocol 0 = every protocol (first/last then 0/65535).
struct L4Range {
  uint8_t protocol = 0;
  uint16_t first = 0;
  uint16_t last = 65535;
  auto operator<=>(const L4Range&) const = default;
  bool wholeProtocol() const { return first == 0 && last == 65535; }
  bool contains(const L4Range& other) const {
    return (protocol == 0 || protocol == other.protocol) && first <= other.first &&
           other.last <= last;
  }
};

struct Rule {
  uint32_t id = 0; // position among all rules of the policy set, in source order
  // The id users see (ir/rule_ids.h): kept across edits that leave the
  // rule's policy, direction and text alone.
  uint32_t stableId = 0;
  std::string policy;
  ast::Verdict verdict = ast::Verdict::Allow;
  bool audit = false; // its policy is an audit policy: reported, never enforced
  ast::Direction direction = ast::Direction::Ingress;
  std::string text; // canonical text of the rule
  SourceLocation location;
  int length = 1;
};

// A rule as it applies to one endpoint: its peers and the ports resolved for
// that endpoint (named ports and service ports can differ per endpoint).
struct AppliedRule {
  uint32_t rule = 0;
  std::vector<uint32_t> peers; // sorted; POLC_IDENTITY_ANY = every peer
  std::vector<L4Range> ports;  // sorted; empty: every protocol and port
};

struct DirectionPolicy {
  bool isolated = false;
  // Isolated by audit policies only: what no allow rule matches passes with
  // verdict audit instead of being denied. Never set together with isolated,
  // where audit allow rules take no part (docs/language.md, Audit).
  bool auditIsolated = false;
  // Why it is isolated, for explanations: the policy blocks and default
  // denies that select the endpoint for this direction.
  std::vector<SourceLocation> isolatedBy;
  std::vector<AppliedRule> rules; // by rule id, ascending

  // Isolation and the applied rules as bytes: two directions with the same
  // key behave the same (the replicas of a deployment), so that work done
  // per endpoint (its tables, the ineffective-rule checks) is done once
  // per distinct key.
  std::string behaviourKey() const;
};

struct Endpoint {
  std::string name;
  std::string node;
  std::string interface;
  uint32_t identity = 0;
  std::vector<IpPrefix> addresses;
  DirectionPolicy ingress;
  DirectionPolicy egress;

  const DirectionPolicy& policy(ast::Direction d) const {
    return d == ast::Direction::Ingress ? ingress : egress;
  }
  DirectionPolicy& policy(ast::Direction d) {
    return d == ast::Direction::Ingress ? ingress : egress;
  }
};

struct Node {
  std::string name;
  std::optional<IpPrefix> address;
  std::vector<std::string> endpoints; // names, sorted
};

struct Program {
  std::string cluster;
  std::vector<Identity> identities; // sorted by id, reserved ones included
  std::vector<Rule> rules;          // indexed by id
  std::vector<Endpoint> endpoints;  // sorted by name
  std::vector<Node> nodes;          // sorted by name

  const Identity* findIdentity(uint32_t id) const;
  const Endpoint* findEndpoint(std::string_view name) const;
};

} // namespace polc::ir
