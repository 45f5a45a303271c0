// What `polc stats` shows: the datapath's counters (polc/maps/counter_maps.h)
// joined with the build a node runs: per rule, its policy, place, direction,
// verdict, the endpoints it applies to and the packets and bytes it decided
// (the first packet of each flow and the rest of the flow); and per
// endpoint and direction, what no rule decided (default deny, replies...).
#pragma once

#include "polc/loader/event_decoder.h"
#include "polc/loader/loader.h"
#include "polc/maps/counter_maps.h"
#include "polc/support/expected.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace polc::loader {

struct RuleStatsLine {
  std::optional<DecodedRule> rule; // none: a line of what no rule decided
  // "rule" for a rule's line; else default-deny, no-rule, reply, related,
  // established (a flow no rule decided), malformed, no-ipv6.
  std::string reason;
  std::string direction; // ingress, egress; empty for a rule in no loaded table
  std::string verdict;   // allowed, denied, audit
  uint64_t packets = 0, bytes = 0;
  // A rule's: the endpoints whose tables hold it; a reason line's: its one.
  std::vector<std::string> endpoints;
};

// What the build a node runs says about its rules: the rule list and which
// rules the tables of its endpoints with programs hold. Read from the
// build's files (its outDir must still hold the recorded revision, as for
// the monitor); a server answering many times (`polc metrics --listen`)
// keeps it while the node runs the same revision.
struct NodeRules {
  std::string node;
  std::string revision;
  std::vector<DecodedRule> rules; // in the build's source order
  struct Use {
    uint32_t ruleId = 0;
    std::string endpoint, direction, verdict; // verdict: allowed, denied, audit
  };
  std::vector<Use> uses;
};
// Only the tables of `endpoints` are read (none: every endpoint's).
Expected<NodeRules> readNodeRules(const NodeStatus&,
                                  const std::vector<std::string>& endpoints = {});

class RuleStats {
public:
  // Only these endpoints' counters and rules (none: every endpoint).
  explicit RuleStats(std::vector<std::string> endpointFilter = {});

  // Adds a node's counters, named with the build it runs.
  Status add(const NodeStatus&, const maps::Counters&);
  // The same with the node's rules already read (`rules` is of `node`).
  void add(const NodeStatus&, const maps::Counters&, const NodeRules& rules);

  // Rule lines in the build's source order (rules of every node added, each
  // once), then the other lines by endpoint, direction and reason.
  std::vector<RuleStatsLine> lines() const;
  // Said once per node: a full counter map, counters of rules the build
  // does not know (an earlier revision's).
  const std::vector<std::string>& warnings() const { return warnings_; }

private:
  struct RuleEntry {
    RuleStatsLine line;
    size_t order = 0;
  };
  std::vector<std::string> endpointFilter_;
  std::map<uint32_t, RuleEntry> rules_; // by rule id
  std::map<std::tuple<std::string, std::string, std::string, std::string>, RuleStatsLine>
      reasons_; // by endpoint, direction, reason, verdict
  std::vector<std::string> warnings_;
  bool wanted(const std::string& endpoint) const;
};

} // namespace polc::loader
