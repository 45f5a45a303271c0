#include "polc/loader/rule_stats.h"

#include "build_json.h"

#include <algorithm>
#include <set>

namespace polc::loader {
namespace {

const char* directionName(uint8_t direction) {
  return direction == POLC_CT_INGRESS ? "ingress" : "egress";
}

void addEndpoint(std::vector<std::string>& endpoints, const std::string& name) {
  if (std::find(endpoints.begin(), endpoints.end(), name) == endpoints.end())
    endpoints.push_back(name);
}

} // namespace

RuleStats::RuleStats(std::vector<std::string> endpointFilter)
    : endpointFilter_(std::move(endpointFilter)) {}

bool RuleStats::wanted(const std::string& endpoint) const {
  return endpointFilter_.empty() || std::find(endpointFilter_.begin(), endpointFilter_.end(),
                                              endpoint) != endpointFilter_.end();
}

Expected<NodeRules> readNodeRules(const NodeStatus& node,
                                  const std::vector<std::string>& endpoints) {
  auto wanted = [&](const std::string& endpoint) {
    return endpoints.empty() ||
           std::find(endpoints.begin(), endpoints.end(), endpoint) != endpoints.end();
  };
  auto manifest = readLoadedManifest(node, "name its rules with");
  if (!manifest) return Error{manifest.error()};
  auto rules = readBuildRules(node.outDir);
  if (!rules) return Error{rules.error()};
  NodeRules read{node.node, node.revision, std::move(*rules), {}};
  const std::filesystem::path outDir = node.outDir;
  const auto* built = manifest->findNode(node.node);
  if (!built) return read;
  // Replicas share table files: each is read once.
  std::map<std::string, artifacts::PolicyTable> tables;
  for (const auto& attached : node.endpoints)
    for (const auto& endpoint : built->endpoints) {
      if (endpoint.name != attached.endpoint || !wanted(endpoint.name)) continue;
      for (auto [file, direction] : {std::pair{&endpoint.ingressTable, "ingress"},
                                     std::pair{&endpoint.egressTable, "egress"}}) {
        if (file->empty()) continue;
        auto found = tables.find(*file);
        if (found == tables.end()) {
          auto json = readBuildJson(outDir / *file);
          if (!json) return Error{json.error()};
          auto table = artifacts::policyTableFromJson(*json);
          if (!table) return Error{(outDir / *file).string() + ": " + table.error()};
          found = tables.emplace(*file, std::move(*table)).first;
        }
        for (const auto& entry : found->second.entries)
          read.uses.push_back({entry.ruleId, endpoint.name, direction,
                               entry.verdict == artifacts::Verdict::Deny    ? "denied"
                               : entry.verdict == artifacts::Verdict::Audit ? "audit"
                                                                            : "allowed"});
      }
    }
  return read;
}

Status RuleStats::add(const NodeStatus& node, const maps::Counters& counters) {
  auto rules = readNodeRules(node, endpointFilter_);
  if (!rules) return Error{rules.error()};
  add(node, counters, *rules);
  return okStatus();
}

void RuleStats::add(const NodeStatus& node, const maps::Counters& counters,
                    const NodeRules& nodeRules) {
  for (const auto& rule : nodeRules.rules) {
    auto [it, added] = rules_.try_emplace(rule.id);
    if (added) {
      it->second.order = rules_.size();
      it->second.line.rule = rule;
      it->second.line.reason = "rule";
    }
  }
  // Where each rule applies: the tables of the node's endpoints with programs.
  for (const auto& use : nodeRules.uses) {
    if (!wanted(use.endpoint)) continue;
    auto rule = rules_.find(use.ruleId);
    if (rule == rules_.end()) continue;
    auto& line = rule->second.line;
    line.direction = use.direction;
    line.verdict = use.verdict;
    addEndpoint(line.endpoints, use.endpoint);
  }
  std::map<uint32_t, const std::string*> endpointOf; // by ifindex
  for (const auto& attached : node.endpoints)
    endpointOf[uint32_t(attached.ifindex)] = &attached.endpoint;
  uint64_t unknownRules = 0;
  for (const auto& counter : counters.counters) {
    auto endpoint = endpointOf.find(counter.ifindex);
    if (endpoint == endpointOf.end() || !wanted(*endpoint->second)) continue;
    if (counter.ruleId != POLC_CT_RULE_NONE) {
      auto rule = rules_.find(counter.ruleId);
      if (rule == rules_.end()) {
        unknownRules += counter.packets;
        continue;
      }
      rule->second.line.packets += counter.packets;
      rule->second.line.bytes += counter.bytes;
      continue;
    }
    const std::string direction = directionName(counter.direction);
    const std::string reason = reasonName(counter.reason);
    const std::string verdict = verdictName(counter.verdict);
    auto& line = reasons_[{*endpoint->second, direction, reason, verdict}];
    if (line.endpoints.empty())
      line = {std::nullopt, reason, direction, verdict, 0, 0, {*endpoint->second}};
    line.packets += counter.packets;
    line.bytes += counter.bytes;
  }
  if (counters.full())
    warnings_.push_back("node " + node.node + ": the counter map is full (" +
                        std::to_string(counters.capacity) +
                        " keys): packets of keys not yet in it are not counted");
  if (unknownRules)
    warnings_.push_back("node " + node.node + ": " + std::to_string(unknownRules) +
                        " packet(s) counted for rules that the loaded build no longer has");
}

std::vector<RuleStatsLine> RuleStats::lines() const {
  std::vector<const RuleEntry*> ordered;
  for (const auto& [id, entry] : rules_)
    if (endpointFilter_.empty() || !entry.line.endpoints.empty()) ordered.push_back(&entry);
  std::sort(ordered.begin(), ordered.end(),
            [](const RuleEntry* a, const RuleEntry* b) { return a->order < b->order; });
  std::vector<RuleStatsLine> lines;
  for (const auto* entry : ordered) lines.push_back(entry->line);
  for (const auto& [key, line] : reasons_) lines.push_back(line);
  return lines;
}

} // namespace polc::loader
