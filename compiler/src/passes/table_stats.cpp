#include "polc/passes/table_stats.h"

#include "polc/passes/tables.h"

#include "polc_structs.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <unordered_map>

namespace polc::passes {

namespace {

// How many rules to name when a table overflows: enough to find the
// culprit, few enough to read.
constexpr size_t kBlamedRules = 5;

// Entries per rule, largest first (ties: lower id first).
using EntriesByRule = std::vector<std::pair<uint32_t, size_t>>;
EntriesByRule countEntriesByRule(const artifacts::PolicyTable& table) {
  std::map<uint32_t, size_t> perRule;
  for (const auto& entry : table.entries) ++perRule[entry.ruleId];
  EntriesByRule counts(perRule.begin(), perRule.end());
  std::stable_sort(counts.begin(), counts.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return counts;
}

// Endpoints share tables (tables.h): each shared table's entries are counted
// once, not once per endpoint (48 million map updates for 300 endpoints of
// 80,000 entries each).
using CountsByTable = std::unordered_map<const artifacts::PolicyTable*, EntriesByRule>;

DirectionStats directionStats(const artifacts::PolicyTable& table,
                              const ir::DirectionPolicy& policy, CountsByTable& counted) {
  DirectionStats stats;
  stats.entries = table.entries.size();
  stats.capacity = POLC_POLICY_MAX_ENTRIES;
  stats.isolated = table.isolated;
  stats.rules = policy.rules.size(); // one AppliedRule per rule
  auto known = counted.find(&table);
  if (known == counted.end()) known = counted.emplace(&table, countEntriesByRule(table)).first;
  stats.entriesByRule = known->second;
  return stats;
}

// The raw cost of one rule on one endpoint, before merging: peers times port
// prefixes. Shown next to each blamed rule so the fix is obvious.
std::string costText(const ir::AppliedRule& applied) {
  size_t prefixes = 0;
  for (const auto& range : applied.ports)
    prefixes += range.protocol == 0 ? 1 : portRangeToPrefixes(range.first, range.last).size();
  if (applied.ports.empty()) prefixes = 1;
  return std::to_string(applied.peers.size()) + " peer identit" +
         (applied.peers.size() == 1 ? "y" : "ies") + " x " + std::to_string(prefixes) +
         " port prefix" + (prefixes == 1 ? "" : "es");
}

const ir::AppliedRule* appliedRule(const ir::DirectionPolicy& policy, uint32_t ruleId) {
  for (const auto& applied : policy.rules)
    if (applied.rule == ruleId) return &applied;
  return nullptr;
}

const topology::Node* topologyNode(const topology::Topology& topology, const std::string& name) {
  for (const auto& node : topology.nodes)
    if (node.name == name) return &node;
  return nullptr;
}

void reportPolicyOverflow(const ir::Program& program, const ir::Endpoint& endpoint,
                          ast::Direction direction, const DirectionStats& stats,
                          Diagnostics& diagnostics) {
  const auto& policy = endpoint.policy(direction);
  auto blame = [&](uint32_t ruleId, size_t count) {
    std::string text = std::to_string(count) + (count == 1 ? " entry" : " entries");
    if (const auto* applied = appliedRule(policy, ruleId)) text += " (" + costText(*applied) + ")";
    return text;
  };
  // The error sits on the rule that costs the most; the next ones are notes.
  auto [topId, topCount] = stats.entriesByRule.front();
  const auto& top = program.rules.at(topId);
  auto& error = diagnostics.error(
      DiagnosticId::TableCapacity, top.location,
      "endpoint " + endpoint.name + ": the " + std::string(ast::toString(direction)) +
          " policy table needs " + std::to_string(stats.entries) +
          " entries, above the map's capacity of " + std::to_string(stats.capacity) + "; rule " +
          std::to_string(top.stableId) + " (policy \"" + top.policy + "\") adds " +
          blame(topId, topCount));
  error.underline(top.length);
  size_t shown = std::min(kBlamedRules, stats.entriesByRule.size());
  for (size_t i = 1; i < shown; ++i) {
    auto [ruleId, count] = stats.entriesByRule[i];
    const auto& rule = program.rules.at(ruleId);
    error.note(rule.location, rule.length,
               "rule " + std::to_string(rule.stableId) + " (policy \"" + rule.policy + "\") adds " +
                   blame(ruleId, count));
  }
  if (stats.entriesByRule.size() > shown)
    error.hint(std::to_string(stats.entriesByRule.size() - shown) +
               " more rules add entries to this table");
  error.hint("each entry is one (peer identity, protocol, port prefix): a rule costs its peers "
             "times its port prefixes");
  error.hint("write neighbouring ports as a range (tcp/8000-8099 is a few prefixes, not 100 "
             "entries)");
  error.hint("a peer standing for many identities multiplies every port: a covering cidr, a "
             "group or `entity all` / `entity world` is fewer identities");
}

} // namespace

TableStats computeTableStats(const ir::Program& program, const std::vector<NodeTables>& tables) {
  TableStats stats;
  CountsByTable counted;
  for (const auto& node : tables) {
    NodeStats nodeStats;
    nodeStats.name = node.node;
    nodeStats.ipcacheEntries = node.ipcache.entries.size();
    nodeStats.ipcacheCapacity = POLC_IPCACHE_MAX_ENTRIES;
    stats.ipcacheEntries += nodeStats.ipcacheEntries;
    for (const auto& endpoint : node.endpoints) {
      EndpointStats endpointStats;
      endpointStats.name = endpoint.endpoint;
      const auto& applied = *program.findEndpoint(endpoint.endpoint);
      endpointStats.ingress = directionStats(*endpoint.ingress, applied.ingress, counted);
      endpointStats.egress = directionStats(*endpoint.egress, applied.egress, counted);
      for (const auto* direction : {&endpointStats.ingress, &endpointStats.egress}) {
        stats.policyEntries += direction->entries;
        stats.isolatedDirections += direction->isolated;
      }
      nodeStats.endpoints.push_back(std::move(endpointStats));
      ++stats.endpoints;
    }
    stats.nodes.push_back(std::move(nodeStats));
  }
  return stats;
}

void checkTableCapacity(const ir::Program& program, const topology::Topology& topology,
                        const TableStats& stats, Diagnostics& diagnostics) {
  for (const auto& node : stats.nodes) {
    if (node.ipcacheEntries > node.ipcacheCapacity) {
      const auto* where = topologyNode(topology, node.name);
      diagnostics
          .error(
              DiagnosticId::IpcacheCapacity, where ? where->location : SourceLocation{},
              "node " + node.name + ": the ipcache needs " + std::to_string(node.ipcacheEntries) +
                  " entries, above the map's capacity of " + std::to_string(node.ipcacheCapacity))
          .hint("every endpoint address of the cluster, every node address and every CIDR of "
                "policy is one entry: use fewer, wider CIDRs");
    }
    for (const auto& endpointStats : node.endpoints) {
      const auto& endpoint = *program.findEndpoint(endpointStats.name);
      for (auto direction : {ast::Direction::Ingress, ast::Direction::Egress}) {
        const auto& directionStats =
            direction == ast::Direction::Ingress ? endpointStats.ingress : endpointStats.egress;
        if (directionStats.overflows())
          reportPolicyOverflow(program, endpoint, direction, directionStats, diagnostics);
      }
    }
  }
}

pipeline::Pass createCheckTableCapacityPass() {
  using namespace pipeline;
  return makePass<Tables, ir::Program, topology::Topology>(
      "check-table-capacity", "count every table's entries; an error for one its map cannot hold",
      {stage<TableStats>()},
      [](PassContext& context, const Tables& tables, const ir::Program& program,
         const topology::Topology& topology) {
        auto stats = computeTableStats(program, tables.nodes);
        checkTableCapacity(program, topology, stats, context.diagnostics());
        context.put(std::move(stats));
      });
}

double fillPercent(size_t entries, size_t capacity) {
  if (capacity == 0) return 0;
  return std::round(10000.0 * double(entries) / double(capacity)) / 100.0;
}

namespace {

std::string percentText(size_t entries, size_t capacity) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", fillPercent(entries, capacity));
  return text;
}

std::string padRight(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}
std::string padLeft(const std::string& text, size_t width) {
  return text.size() < width ? std::string(width - text.size(), ' ') + text : text;
}

nlohmann::json directionJson(const DirectionStats& stats) {
  return {{"entries", stats.entries},
          {"capacity", stats.capacity},
          {"fill_percent", fillPercent(stats.entries, stats.capacity)},
          {"isolated", stats.isolated},
          {"rules", stats.rules}};
}

} // namespace

std::string statsText(const TableStats& stats) {
  // Columns sized to the longest name, so the table lines up for any topology.
  size_t nodeWidth = 4, endpointWidth = 8;
  for (const auto& node : stats.nodes) {
    nodeWidth = std::max(nodeWidth, node.name.size());
    for (const auto& endpoint : node.endpoints)
      endpointWidth = std::max(endpointWidth, endpoint.name.size());
  }
  auto row = [&](const std::string& node, const std::string& endpoint, const std::string& direction,
                 const std::string& isolated, const std::string& rules, const std::string& entries,
                 const std::string& capacity, const std::string& fill) {
    std::string line = padRight(node, nodeWidth) + "  " + padRight(endpoint, endpointWidth) + "  " +
                       padRight(direction, 9) + "  " + padRight(isolated, 8) + "  " +
                       padLeft(rules, 5) + "  " + padLeft(entries, 7) + "  " +
                       padLeft(capacity, 8) + "  " + padLeft(fill, 7);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return line + "\n";
  };
  std::string text =
      row("node", "endpoint", "direction", "isolated", "rules", "entries", "capacity", "fill");
  for (const auto& node : stats.nodes) {
    for (const auto& endpoint : node.endpoints) {
      for (auto [name, direction] :
           {std::pair{"ingress", &endpoint.ingress}, {"egress", &endpoint.egress}}) {
        text += row(node.name, endpoint.name, name, direction->isolated ? "yes" : "no",
                    std::to_string(direction->rules), std::to_string(direction->entries),
                    std::to_string(direction->capacity),
                    percentText(direction->entries, direction->capacity));
      }
    }
    text += row(node.name, "(ipcache)", "", "", "", std::to_string(node.ipcacheEntries),
                std::to_string(node.ipcacheCapacity),
                percentText(node.ipcacheEntries, node.ipcacheCapacity));
  }
  text += "total: " + std::to_string(stats.policyEntries) + " policy entries in " +
          std::to_string(2 * stats.endpoints) + " tables of " + std::to_string(stats.endpoints) +
          " endpoint(s) (" + std::to_string(stats.isolatedDirections) + " isolated), " +
          std::to_string(stats.ipcacheEntries) + " ipcache entries on " +
          std::to_string(stats.nodes.size()) + " node(s)\n";
  return text;
}

nlohmann::json statsJson(const TableStats& stats) {
  auto nodes = nlohmann::json::array();
  for (const auto& node : stats.nodes) {
    auto endpoints = nlohmann::json::array();
    for (const auto& endpoint : node.endpoints)
      endpoints.push_back({{"name", endpoint.name},
                           {"ingress", directionJson(endpoint.ingress)},
                           {"egress", directionJson(endpoint.egress)}});
    nodes.push_back({{"name", node.name},
                     {"ipcache",
                      {{"entries", node.ipcacheEntries},
                       {"capacity", node.ipcacheCapacity},
                       {"fill_percent", fillPercent(node.ipcacheEntries, node.ipcacheCapacity)}}},
                     {"endpoints", endpoints}});
  }
  return {{"nodes", nodes},
          {"totals",
           {{"policy_entries", stats.policyEntries},
            {"ipcache_entries", stats.ipcacheEntries},
            {"endpoints", stats.endpoints},
            {"tables", 2 * stats.endpoints},
            {"isolated_directions", stats.isolatedDirections},
            {"nodes", stats.nodes.size()}}}};
}

} // namespace polc::passes
