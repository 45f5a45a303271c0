// What changes between two versions of a policy (`polc diff`): the flows
// whose verdict differs, found with the reference evaluator rather than by
// comparing tables, so the answer is in terms of the semantics.
//
// The flows compared: every ordered pair of distinct ends with at least one
// endpoint (endpoints present in both versions, `entity world`,
// `entity host`, other nodes, and one address per CIDR or service address
// of either version); per pair the protocols tcp, udp, sctp, icmp and
// icmpv6 (those the two ends' address families can carry) and any other
// protocol. The 16-bit port (or ICMP type/code) space is split into the
// elementary intervals induced by both versions' port ranges of the rules
// that apply to the pair (the source's egress, the destination's ingress);
// within one interval every rule matches all or nothing, so one
// representative per interval decides it exactly. Adjacent intervals with
// the same outcome in both versions are merged into one range, and a change
// that covers every protocol but at most three ranges becomes one
// "any except ..." change.
#pragma once

#include "polc/evaluator/evaluator.h"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <vector>

namespace polc::evaluator {

// How one side of a flow decided, in one version.
struct SideOutcome {
  std::string endpoint;
  ast::Direction direction = ast::Direction::Egress;
  Decision decision = Decision::AllowedNotIsolated;
  uint32_t rule = kNoRule; // the deciding rule (lowest id) when decided by a rule
  bool operator==(const SideOutcome&) const = default;
};

// A flow's verdict in one version and the sides that decided it: the
// denying side(s) when denied, every judged side when allowed.
struct FlowOutcome {
  bool allowed = true;
  bool audited = false; // allowed, but audit policies would deny it on some side
  std::vector<SideOutcome> sides;
  bool operator==(const FlowOutcome&) const = default;
};

struct VerdictChange {
  std::string from;          // an endpoint name, "entity world", "cidr 10.0.0.0/8", ...
  std::string to;            // as from
  uint8_t protocol = 0;      // 0: every protocol, every port
  uint16_t first = 0;        // the port range, or (type << 8 | code) for ICMP
  uint16_t last = 65535;     //
  FlowOutcome before, after; // rules of `before` are ids in the old program
  // protocol 0 only: the ranges left out ("any except tcp/443"); they are
  // unchanged or listed as changes of their own.
  std::vector<ir::L4Range> except;
  std::string l4Text() const; // "tcp/5432", "udp/1-52", "icmp type 8", "any except tcp/443"
};

struct PolicyDiff {
  // By source, destination (in the order ends are enumerated: endpoints by
  // name, then world, host, remote nodes, CIDRs), protocol, first port.
  std::vector<VerdictChange> changes;
  std::vector<std::string> endpointsAdded;   // in the new topology only: not compared
  std::vector<std::string> endpointsRemoved; // in the old topology only: not compared
  size_t pairsCompared = 0;

  size_t allowToDeny() const;
  size_t denyToAllow() const;  // audit counts as allow in both
  size_t auditChanges() const; // allow <-> audit
  bool empty() const {
    return changes.empty() && endpointsAdded.empty() && endpointsRemoved.empty();
  }
};

// How much of the pairs of ends to evaluate port by port.
enum class PairsToEvaluate {
  // Only pairs where an end means something else, or a side's rules differ
  // for the other end's identity: every other pair keeps every verdict.
  Affected,
  // Every pair: the reference the tests hold Affected to.
  Every,
};

PolicyDiff diffPolicies(const ir::Program& before, const ir::Program& after,
                        PairsToEvaluate = PairsToEvaluate::Affected);

// For a reviewer: per change one line `from -> to  l4  allow -> deny`, the
// deciding sides of each version with rule locations below it, then a
// summary line. Empty when nothing changed.
std::string diffText(const ir::Program& before, const ir::Program& after, const PolicyDiff&);
nlohmann::json diffJson(const ir::Program& before, const ir::Program& after, const PolicyDiff&);

} // namespace polc::evaluator
