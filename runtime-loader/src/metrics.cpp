#include "polc/loader/metrics.h"

#include "polc/loader/event_decoder.h"

#include <map>
#include <tuple>

namespace polc::loader {
namespace {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

std::string labelsText(const MetricLabels& labels) {
  std::string text = "{";
  for (const auto& [name, value] : labels) {
    if (text.size() > 1) text += ",";
    text += name + "=\"" + prometheusLabelValue(value) + "\"";
  }
  return text + "}";
}

// One metric family: its HELP and TYPE lines, then its samples.
class Family {
public:
  Family(std::string name, std::string type, std::string help)
      : name_(std::move(name)), type_(std::move(type)), help_(std::move(help)) {}
  void add(const MetricLabels& labels, uint64_t value) {
    samples_ += name_ + labelsText(labels) + " " + std::to_string(value) + "\n";
  }
  void writeTo(std::string& out) const {
    out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " " + type_ + "\n" + samples_;
  }

private:
  std::string name_, type_, help_, samples_;
};

// The agent's families, when any node has an agent record.
void writeAgentMetrics(const std::vector<NodeMetrics>& nodes, std::string& out) {
  Family loads("polc_agent_loads_total", "counter",
               "Loads polc agent tried, by result (ok, failed).");
  Family attempt("polc_agent_last_attempt_timestamp_seconds", "gauge",
                 "When polc agent last tried a load (Unix time).");
  Family failed("polc_agent_last_attempt_failed", "gauge",
                "1 when polc agent's last load failed: the revision before it stays in force.");
  Family success("polc_agent_last_success_timestamp_seconds", "gauge",
                 "When the last load polc agent made that succeeded began (Unix time).");
  Family applied("polc_agent_applied_revision_info", "gauge",
                 "The revision polc agent last loaded (1, labelled with the revision).");
  bool any = false;
  for (const auto& metrics : nodes) {
    if (!metrics.agent) continue;
    any = true;
    const auto& agent = *metrics.agent;
    const auto& node = metrics.node->node;
    loads.add({{"node", node}, {"result", "ok"}}, agent.loadsOk);
    loads.add({{"node", node}, {"result", "failed"}}, agent.loadsFailed);
    if (agent.lastAttempt) {
      attempt.add({{"node", node}}, agent.lastAttempt->unixNs / 1'000'000'000);
      failed.add({{"node", node}}, agent.lastAttempt->outcome == AttemptOutcome::Failed ? 1 : 0);
    }
    if (!agent.appliedRevision.empty()) {
      success.add({{"node", node}}, agent.appliedUnixNs / 1'000'000'000);
      applied.add({{"node", node}, {"revision", agent.appliedRevision}}, 1);
    }
  }
  if (!any) return;
  for (const auto* family : {&loads, &attempt, &failed, &success, &applied}) family->writeTo(out);
}

} // namespace

std::string prometheusLabelValue(std::string_view value) {
  std::string escaped;
  for (char c : value) {
    if (c == '\\')
      escaped += "\\\\";
    else if (c == '"')
      escaped += "\\\"";
    else if (c == '\n')
      escaped += "\\n";
    else
      escaped += c;
  }
  return escaped;
}

std::string prometheusText(const std::vector<NodeMetrics>& nodes,
                           const std::vector<RuleStatsLine>* rules) {
  Family packets("polc_packets_total", "counter",
                 "Packets the endpoint programs judged, by endpoint, direction, verdict and "
                 "reason (rule: decided by a rule, the flow's first packet; established: the "
                 "rest of a flow).");
  Family bytes("polc_bytes_total", "counter",
               "Bytes (from the Ethernet header) of the packets in polc_packets_total.");
  Family sent("polc_events_sent_total", "counter",
              "Verdict events written to the node's ring buffer.");
  Family lost("polc_events_lost_total", "counter",
              "Verdict events lost because the ring buffer was full.");
  Family limited("polc_events_rate_limited_total", "counter",
                 "Verdict events suppressed by an endpoint's rate limit.");
  Family counting("polc_counting", "gauge", "1 when the node's datapath counts packets.");
  Family keys("polc_counter_keys", "gauge", "Keys in the node's counter map.");
  Family capacity("polc_counter_keys_capacity", "gauge",
                  "Keys the node's counter map can hold; beyond, new keys go uncounted.");
  for (const auto& metrics : nodes) {
    const auto& node = *metrics.node;
    std::map<uint32_t, std::string> endpoints;
    for (const auto& endpoint : node.endpoints)
      endpoints[uint32_t(endpoint.ifindex)] = endpoint.endpoint;
    // Summed over rules: a rule's own counts are polc_rule_*.
    std::map<std::tuple<std::string, uint8_t, uint8_t, uint8_t>, std::pair<uint64_t, uint64_t>>
        sums;
    for (const auto& c : metrics.counters.counters) {
      auto endpoint = endpoints.find(c.ifindex);
      if (endpoint == endpoints.end()) continue; // an interface no longer an endpoint
      auto& sum = sums[{endpoint->second, c.direction, c.verdict, c.reason}];
      sum.first += c.packets;
      sum.second += c.bytes;
    }
    for (const auto& [key, sum] : sums) {
      const auto& [endpoint, direction, verdict, reason] = key;
      const MetricLabels labels{{"node", node.node},
                                {"endpoint", endpoint},
                                {"direction", direction == POLC_CT_INGRESS ? "ingress" : "egress"},
                                {"verdict", verdictName(verdict)},
                                {"reason", reasonName(reason)}};
      packets.add(labels, sum.first);
      bytes.add(labels, sum.second);
    }
    const MetricLabels labels{{"node", node.node}};
    if (node.monitor) {
      sent.add(labels, node.monitor->sent);
      lost.add(labels, node.monitor->lost);
      limited.add(labels, node.monitor->rateLimited);
      counting.add(labels, node.monitor->counting ? 1 : 0);
    }
    keys.add(labels, metrics.counters.counters.size());
    capacity.add(labels, metrics.counters.capacity);
  }
  std::string out;
  for (const auto* family : {&packets, &bytes, &sent, &lost, &limited, &counting, &keys, &capacity})
    family->writeTo(out);
  writeAgentMetrics(nodes, out);
  if (rules) {
    Family rulePackets("polc_rule_packets_total", "counter",
                       "Packets a rule decided: the first packet of each flow and the rest of it.");
    Family ruleBytes("polc_rule_bytes_total", "counter",
                     "Bytes of the packets in polc_rule_packets_total.");
    for (const auto& line : *rules) {
      if (!line.rule || line.direction.empty()) continue; // in no table: nothing to count
      const MetricLabels labels{{"policy", line.rule->policy},
                                {"rule_id", std::to_string(line.rule->id)},
                                {"location", line.rule->location},
                                {"direction", line.direction},
                                {"verdict", line.verdict}};
      rulePackets.add(labels, line.packets);
      ruleBytes.add(labels, line.bytes);
    }
    rulePackets.writeTo(out);
    ruleBytes.writeTo(out);
  }
  return out;
}

} // namespace polc::loader
