// What `polc metrics` serves: the datapath's counters and the monitor's
// event counts in the Prometheus text exposition format (version 0.0.4),
// for a scrape or a file.
#pragma once

#include "polc/loader/agent.h"
#include "polc/loader/loader.h"
#include "polc/loader/rule_stats.h"
#include "polc/maps/counter_maps.h"

#include <optional>
#include <string>
#include <vector>

namespace polc::loader {

struct NodeMetrics {
  const NodeStatus* node = nullptr; // its endpoints name the interfaces; its monitor the events
  maps::Counters counters;
  std::optional<AgentRecord> agent = {}; // what `polc agent` recorded for the node, if it runs
};

// Every metric of the nodes, each with its HELP and TYPE lines:
//   polc_packets_total / polc_bytes_total{node, endpoint, direction, verdict, reason}
//   polc_events_sent_total / _lost_total / _rate_limited_total{node}
//   polc_counting{node}, polc_counter_keys{node}, polc_counter_keys_capacity{node}
// and, when a node has an agent record (polc agent):
//   polc_agent_loads_total{node, result="ok|failed"}
//   polc_agent_last_attempt_timestamp_seconds{node}, polc_agent_last_attempt_failed{node}
//   polc_agent_last_success_timestamp_seconds{node}
//   polc_agent_applied_revision_info{node, revision} 1
// and, given rule lines (RuleStats), per rule:
//   polc_rule_packets_total / polc_rule_bytes_total{policy, rule_id, location,
//   direction, verdict}
std::string prometheusText(const std::vector<NodeMetrics>&,
                           const std::vector<RuleStatsLine>* rules = nullptr);

// A label value as the format wants it: backslash, double quote and
// newline escaped.
std::string prometheusLabelValue(std::string_view);

} // namespace polc::loader
